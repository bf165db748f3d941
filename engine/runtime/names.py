"""Topic names the runtime reads and writes, with the deployment's prefix applied."""

from __future__ import annotations

from dataclasses import dataclass

from engine.contracts import COMMAND_TARGETS

DOMAINS = ("crm", "erp", "billing", "masterdata")
# Every target system a command class names, in the contracts' order: a new target needs its
# command class and its topics in the catalog, nothing here.
TARGETS = tuple(dict.fromkeys(COMMAND_TARGETS.values()))


@dataclass(frozen=True)
class TopicNames:
    """Names from the topic catalog (topics/catalog.yaml) under one prefix."""

    prefix: str = ""

    def _n(self, logical: str) -> str:
        return f"{self.prefix}{logical}"

    def logical(self, topic: str) -> str:
        """The catalog name of a (prefixed) topic, as used in metric labels."""
        return topic[len(self.prefix) :] if self.prefix and topic.startswith(self.prefix) else topic

    def events(self, domain: str) -> str:
        return self._n(f"q2c.{domain}.events")

    @property
    def inbound(self) -> list[str]:
        return [self.events(d) for d in DOMAINS]

    @property
    def inbox(self) -> str:
        return self._n("q2c.saga.inbox")

    @property
    def state(self) -> str:
        return self._n("q2c.saga.state")

    @property
    def correlation(self) -> str:
        return self._n("q2c.saga.correlation")

    @property
    def status(self) -> str:
        return self._n("q2c.saga.status")

    @property
    def analytics(self) -> str:
        return self._n("q2c.analytics.events")

    def commands(self, target: str) -> str:
        return self._n(f"q2c.commands.{target}")

    def dlq(self, source_topic: str) -> str:
        """The dead-letter topic of an input topic (commands share one)."""
        if source_topic.startswith(self._n("q2c.commands.")):
            return self._n("q2c.commands.dlq")
        return f"{source_topic}.dlq"

    @property
    def legal_entities(self) -> str:
        return self._n("q2c.masterdata.legal-entities")

    @property
    def accounts(self) -> str:
        return self._n("q2c.masterdata.accounts")

    @property
    def audit(self) -> str:
        return self._n("q2c.ops.audit")
