"""Shared pieces of the outbound connectors: errors, limiter, circuit breaker, routing, fields."""
