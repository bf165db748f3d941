"""Kafka's own operator tools (the `bin/kafka-*.sh` scripts) on the jars q2c fetched.

`q2c kafka tool kafka-consumer-groups --list` runs the same main class as Kafka's
`kafka-consumer-groups.sh`, on the classpath from deploy/kafka/pom.xml, so no Kafka download
is needed to inspect groups, topics, transactions or to read a topic with the console consumer.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from engine.paths import KAFKA_DEPLOY_DIR


@dataclass(frozen=True, slots=True)
class Tool:
    """One operator tool: its main class and whether it talks to brokers (--bootstrap-server)."""

    main_class: str
    takes_bootstrap: bool = True


_T = "org.apache.kafka.tools."
# Script name (without .sh) -> main class, as in Apache Kafka 4.1's bin/ folder.
TOOLS: dict[str, Tool] = {
    "kafka-acls": Tool(_T + "AclCommand"),
    "kafka-broker-api-versions": Tool(_T + "BrokerApiVersionsCommand"),
    "kafka-configs": Tool("kafka.admin.ConfigCommand"),
    "kafka-console-consumer": Tool(_T + "consumer.ConsoleConsumer"),
    "kafka-console-producer": Tool(_T + "ConsoleProducer"),
    "kafka-consumer-groups": Tool(_T + "consumer.group.ConsumerGroupCommand"),
    "kafka-consumer-perf-test": Tool(_T + "ConsumerPerformance"),
    "kafka-delete-records": Tool(_T + "DeleteRecordsCommand"),
    "kafka-dump-log": Tool("kafka.tools.DumpLogSegments", takes_bootstrap=False),
    "kafka-features": Tool(_T + "FeatureCommand"),
    "kafka-get-offsets": Tool(_T + "GetOffsetShell"),
    "kafka-groups": Tool(_T + "GroupsCommand"),
    "kafka-leader-election": Tool(_T + "LeaderElectionCommand"),
    "kafka-log-dirs": Tool(_T + "LogDirsCommand"),
    "kafka-metadata-quorum": Tool(_T + "MetadataQuorumCommand"),
    "kafka-producer-perf-test": Tool(_T + "ProducerPerformance", takes_bootstrap=False),
    "kafka-reassign-partitions": Tool(_T + "reassign.ReassignPartitionsCommand"),
    "kafka-topics": Tool(_T + "TopicCommand"),
    "kafka-transactions": Tool(_T + "TransactionsCommand"),
}


class UnknownTool(ValueError):
    """The name is not one of TOOLS; the message lists the known ones."""


def tool_argv(
    name: str, args: list[str], *, java: str, jars: Path, bootstrap: str | None
) -> list[str]:
    """The java command line for `name args...`.

    `--bootstrap-server` is added from q2c's settings when the tool takes one and the caller
    gave none, so `q2c kafka tool kafka-topics --list` reaches the same cluster as `q2c run`.
    """
    tool = TOOLS.get(name.removesuffix(".sh"))
    if tool is None:
        raise UnknownTool(f"unknown Kafka tool {name!r}; known: {', '.join(sorted(TOOLS))}")
    given = any(a == "--bootstrap-server" or a.startswith("--bootstrap-server=") for a in args)
    extra = (
        ["--bootstrap-server", bootstrap]
        if tool.takes_bootstrap and bootstrap and not given
        else []
    )
    return [
        java,
        "-Xmx256m",
        f"-Dlog4j2.configurationFile={KAFKA_DEPLOY_DIR / 'tools-log4j2.properties'}",
        "-cp",
        str(jars / "*"),
        tool.main_class,
        *args,
        *extra,
    ]
