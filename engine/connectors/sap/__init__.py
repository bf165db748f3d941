"""SAP S/4HANA connector."""
