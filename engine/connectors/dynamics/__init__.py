"""Dynamics 365 connector."""
