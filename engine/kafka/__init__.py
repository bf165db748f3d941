"""The one place q2c touches the Kafka client library (aiokafka)."""
