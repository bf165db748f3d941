"""NetSuite connector."""
