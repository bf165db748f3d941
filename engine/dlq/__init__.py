"""Dead-letter records: what failed, where it came from, and why (Kafka Connect header names)."""
