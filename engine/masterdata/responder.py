"""Answers validate-account commands from the master-data global table.

An ordinary adapter on the toolkit's `CommandRunner`, with the engine's options: a bug in the
validator stops the engine (`BugPolicy.CRASH`) instead of dead-lettering every account check,
and each reply continues the command's trace (read from the incoming record's headers).

At-least-once: the reply's event id derives from the command's idempotency key, so a command
delivered twice yields the same event twice and the saga's dedupe drops the second.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from datetime import UTC, datetime

from engine.adapters import (
    BugPolicy,
    CommandRunner,
    PermanentError,
    TransientError,
    incoming_record,
)
from engine.codec import TRACEPARENT, DecodeError, decode_consumed, headers_for
from engine.contracts import (
    AccountValidated,
    AccountValidationFailed,
    Envelope,
    Event,
    ValidateAccount,
)
from engine.kafka.client import KafkaError, Producer
from engine.kafka.connection import KafkaConnection
from engine.kafka.global_table import TopicFollower
from engine.kafka.records import InRecord, OutRecord
from engine.masterdata.table import MasterData
from engine.masterdata.validation import validate_account
from engine.observability.tracing import child_of
from engine.runtime.names import TopicNames
from engine.security.protection import seal_model
from engine.settings import Settings

log = logging.getLogger("q2c.masterdata")
REPLY_NAMESPACE = uuid.UUID("0b5f3f55-2a43-4d2c-8a4e-7d4f3c2b1a90")
SOURCE_SYSTEM = "q2c-mdm"
# Replies of different deals are sent concurrently so one poll's acks overlap.
KEY_CONCURRENCY = 32
STOP_TIMEOUT_S = 10.0


def reply_for(command: ValidateAccount, data: MasterData, now: datetime) -> Event:
    """The account-validated or account-validation-failed event answering `command`."""
    verdict = validate_account(command.account, command.contract_currency, data)
    event_type = "account-validated" if verdict.ok else "account-validation-failed"
    envelope = Envelope(
        event_id=str(uuid.uuid5(REPLY_NAMESPACE, command.header.idempotency_key)),
        event_type=event_type,
        occurred_at=now,
        source_system=SOURCE_SYSTEM,
        correlation_id=command.header.saga_key,
        causation_id=command.header.command_id,
        schema_version=1,
        source_ids={"command_id": command.header.command_id},
    )
    if verdict.ok:
        return AccountValidated(
            envelope=envelope,
            deal_id=command.deal_id,
            account_id=command.account.account_id,
            legal_entity=verdict.legal_entity,
            currency=command.contract_currency,
            tax_registration=verdict.tax_registration,
        )
    return AccountValidationFailed(
        envelope=envelope,
        deal_id=command.deal_id,
        account_id=command.account.account_id,
        reason=verdict.reason or "invalid",
    )


class AccountValidator:
    """Consumer of `q2c.commands.masterdata` (its own group) that publishes the replies."""

    def __init__(self, settings: Settings, connection: KafkaConnection | None = None) -> None:
        """`connection`: the process's (built from `settings` when not given)."""
        self.settings = settings
        self.connection = connection or KafkaConnection.from_settings(settings)
        self.names = names = TopicNames(settings.topic_prefix)
        self.data = MasterData()
        self._tables = TopicFollower([names.legal_entities, names.accounts], self._apply_master)
        self.runner = CommandRunner(
            settings,
            "masterdata",
            self.answer,
            group_id=f"{settings.group_id}.masterdata",
            on_bug=BugPolicy.CRASH,
            key_concurrency=KEY_CONCURRENCY,
            connection=self.connection,
        )
        self._producer: Producer | None = None
        self._task: asyncio.Task[None] | None = None
        self.answered = 0

    def _apply_master(self, rec: InRecord) -> None:
        if rec.value is None:
            return
        try:
            self.data.apply(decode_consumed(rec))
        except DecodeError as exc:
            log.warning("skipping unreadable master-data record: %s", exc)

    async def start(self) -> None:
        """Load the master-data tables, then answer commands in the background."""
        options = self.connection.options()
        await self._tables.start(options)
        producer = Producer(options, client_id="q2c-mdm")
        try:
            await producer.start()
        except BaseException:
            await self._tables.stop()
            raise
        self._producer = producer
        self._task = asyncio.create_task(self.runner.run(), name="account-validator")

    async def stop(self) -> None:
        try:
            if self._task is not None:
                self.runner.request_stop()
                done, _ = await asyncio.wait({self._task}, timeout=STOP_TIMEOUT_S)
                if not done:
                    self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task  # raises the loop's error, if it died of one
        finally:
            try:
                if self._producer is not None:
                    await self._producer.stop()
            finally:
                await self._tables.stop()

    @property
    def task(self) -> asyncio.Task[None] | None:
        """The answering loop; it only ends on `stop` or on an error it cannot ride out."""
        return self._task

    async def answer(self, command: object) -> None:
        """The runner's handler: publish the reply to one validate-account command."""
        if not isinstance(command, ValidateAccount):
            raise PermanentError(f"{type(command).__name__} is not validate-account")
        assert self._producer is not None, "answer() before start()"
        reply = reply_for(command, self.data, datetime.now(UTC))
        # The reply continues the command's trace, so one trace spans the whole deal.
        parent = incoming_record().header(TRACEPARENT)
        traceparent = child_of(parent.decode(errors="replace") if parent else None)
        topic, key = self.names.events("masterdata"), command.deal_id.encode()
        value, sealed = seal_model(reply, topic, key)
        out = OutRecord(topic, key, value, (*headers_for(reply, traceparent=traceparent), *sealed))
        try:
            await self._producer.send_and_wait(out)
        except KafkaError as exc:
            # Not acknowledged: the runner tries again (the same event id, so no second effect).
            raise TransientError(f"reply not delivered: {type(exc).__name__}") from exc
        self.answered += 1
