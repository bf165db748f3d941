"""A real Apache Kafka (KRaft) started on loopback from Maven Central jars, no Docker needed."""

from engine.localkafka.cluster import LocalCluster, LocalKafkaError, load_cluster, start_cluster

__all__ = ["LocalCluster", "LocalKafkaError", "load_cluster", "start_cluster"]
