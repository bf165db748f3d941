"""Platform connectors: inbound (native events to canonical) and outbound (commands to platform APIs)."""
