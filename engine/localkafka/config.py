"""Renders KRaft server.properties for one node of a local cluster (pure, no I/O)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class NodeSpec:
    """One combined broker+controller node on loopback."""

    node_id: int
    broker_port: int
    controller_port: int
    log_dir: Path

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.broker_port}"


def quorum_voters(nodes: list[NodeSpec]) -> str:
    return ",".join(f"{n.node_id}@127.0.0.1:{n.controller_port}" for n in nodes)


def server_properties(
    node: NodeSpec, nodes: list[NodeSpec], overrides: Mapping[str, str] | None = None
) -> str:
    """Properties for `node`; replication settings follow the cluster size (RF 3/min ISR 2 at 3).

    `overrides` replace or add entries (the secured listeners of engine.localkafka.secure).
    """
    size = len(nodes)
    rf = min(3, size)
    min_isr = 2 if size >= 3 else 1
    props: dict[str, object] = {
        "process.roles": "broker,controller",
        "node.id": node.node_id,
        "controller.quorum.voters": quorum_voters(nodes),
        "listeners": (
            f"PLAINTEXT://127.0.0.1:{node.broker_port},"
            f"CONTROLLER://127.0.0.1:{node.controller_port}"
        ),
        "advertised.listeners": f"PLAINTEXT://127.0.0.1:{node.broker_port}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "log.dirs": str(node.log_dir),
        "num.partitions": 1,
        "default.replication.factor": rf,
        "min.insync.replicas": min_isr,
        "offsets.topic.replication.factor": rf,
        "transaction.state.log.replication.factor": rf,
        "transaction.state.log.min.isr": min_isr,
        "share.coordinator.state.topic.replication.factor": rf,
        "share.coordinator.state.topic.min.isr": min_isr,
        # Fewer internal partitions: a laptop broker starts and elects faster.
        "offsets.topic.num.partitions": 6,
        "transaction.state.log.num.partitions": 6,
        "group.initial.rebalance.delay.ms": 0,
        # Topics come from the catalog (q2c topics apply); a typo must not invent a topic.
        "auto.create.topics.enable": "false",
        "num.network.threads": 2,
        "num.io.threads": 4,
        "log.retention.check.interval.ms": 60000,
        # A deleted topic's files (and their handles and memory maps) go after 1 s, not 60 s:
        # test runs create and delete thousands of partitions on one laptop broker.
        "file.delete.delay.ms": 1000,
    }
    props.update(overrides or {})
    return "".join(f"{k}={v}\n" for k, v in props.items())
