"""Stripe connector."""
