"""The gateway's refused requests on the audit trail: one summary per interval (see
`engine.api.refusals`), written to the same audit topic as the operators' actions."""

from __future__ import annotations

from engine.api.refusals import RefusalLedger
from engine.connectors.settings import ConnectorSettings
from engine.kafka.connection import KafkaConnection
from engine.ops.audit import AuditRecord
from engine.ops.store import write_audit
from engine.settings import Settings


def refusal_ledger(settings: Settings, connectors: ConnectorSettings) -> RefusalLedger:
    """A ledger whose summaries go to `settings`' audit topic (start it; close it at the end)."""

    async def write(record: AuditRecord) -> None:
        # Resolved per write (once an interval at most): the gateway may start before Kafka.
        connection = KafkaConnection.from_settings(settings)
        await write_audit(connection.options(), settings.topic_prefix, record)

    # The gateway's own metric counts refusals by platform, route and reason (engine.gateway.app).
    return RefusalLedger(write, connectors.refusal_audit_interval_s, surface="gateway", metric=None)
