"""Scripted event histories: whole deal lifecycles for crash tests, replays and benchmarks."""
