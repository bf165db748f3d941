"""Salesforce connector."""
