"""The worker's HTTP surface: metrics, health and readiness probes, a read API and a status page.

Each worker answers from the saga states of the partitions it owns (its in-memory stores). In a
multi-worker deployment a single worker therefore sees only its share of the sagas: query every
worker (e.g. each pod behind a headless Service) and merge, or ask for `?source=changelog`,
which reads the latest state of every saga from the state changelog topic (slower, complete).

Authentication: bearer tokens per role (`Q2C_API_VIEWER_TOKENS`, `Q2C_API_OPERATOR_TOKENS`,
comma-separated). Viewers read; operators also replay dead letters and retry or cancel
exceptions. `/health`, `/ready`, `/metrics` and the static status page are unauthenticated so
that probes and Prometheus need no secret; they expose no saga data.
"""
