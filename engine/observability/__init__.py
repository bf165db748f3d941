"""Metrics, cycle-time accounting and (later) the HTTP surface of a worker."""
