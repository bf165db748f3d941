"""The saga runtime: consumes events, drives the pure saga core, commits effects transactionally."""
