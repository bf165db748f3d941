"""q2c: the quote-to-cash orchestration engine on Apache Kafka."""

__version__ = "0.1.0"
