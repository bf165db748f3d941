"""Kafka access control: the principals file, least-privilege ACLs planned from the catalog."""
