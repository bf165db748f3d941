"""Oracle Fusion connector."""
