"""The `q2c` command line."""
