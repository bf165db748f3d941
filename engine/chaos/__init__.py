"""Fault injection as a product feature: `q2c chaos run SCENARIO` (see engine.chaos.runner)."""
