"""Certinia PSA connector."""
