"""Answers validate-account commands from the master-data global table.

At-least-once: the reply's event id derives from the command's idempotency key, so a command
delivered twice yields the same event twice and the saga's dedupe drops the second.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from datetime import UTC, datetime
from typing import Any

from engine.codec import TRACEPARENT, DecodeError, decode, headers_for
from engine.contracts import (
    AccountValidated,
    AccountValidationFailed,
    Envelope,
    Event,
    ValidateAccount,
)
from engine.dlq.headers import Failure, dead_letter_headers
from engine.kafka.client import CommitFailedError, Consumer, KafkaError, Producer
from engine.kafka.global_table import TopicFollower
from engine.kafka.records import InRecord, OutRecord, TopicPartition
from engine.masterdata.table import MasterData
from engine.masterdata.validation import validate_account
from engine.observability.tracing import child_of
from engine.runtime.names import TopicNames
from engine.security.protection import seal_model

log = logging.getLogger("q2c.masterdata")
REPLY_NAMESPACE = uuid.UUID("0b5f3f55-2a43-4d2c-8a4e-7d4f3c2b1a90")
SOURCE_SYSTEM = "q2c-mdm"


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

    def __init__(self, names: TopicNames, group_id: str) -> None:
        self.names = names
        self.group_id = f"{group_id}.masterdata"
        self.data = MasterData()
        self._tables = TopicFollower([names.legal_entities, names.accounts], self._apply_master)
        self._task: asyncio.Task[None] | None = None
        self.answered = 0

    def _apply_master(self, rec: InRecord) -> None:
        if rec.value is None:
            return
        try:
            self.data.apply(
                decode(
                    rec.value,
                    topic=rec.topic,
                    partition=rec.partition,
                    offset=rec.offset,
                    headers=rec.headers,
                    key=rec.key,
                )
            )
        except DecodeError as exc:
            log.warning("skipping unreadable master-data record: %s", exc)

    async def start(self, options: dict[str, Any]) -> None:
        await self._tables.start(options)
        self._task = asyncio.create_task(self._run(options))

    async def stop(self) -> None:
        try:
            if self._task is not None:
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task  # raises the loop's error, if it died of one
        finally:
            await self._tables.stop()

    @property
    def task(self) -> asyncio.Task[None] | None:
        """The answering loop; it only ends on `stop` or on an error it cannot ride out."""
        return self._task

    async def _run(self, options: dict[str, Any]) -> None:
        consumer = Consumer(options, group_id=self.group_id, client_id="q2c-mdm")
        producer = Producer(options, client_id="q2c-mdm")
        await consumer.start()
        await producer.start()
        try:
            consumer.subscribe([self.names.commands("masterdata")], _noop, _noop)
            while True:
                records = await consumer.poll(timeout_ms=200)
                if records:
                    await self._answer_batch(consumer, producer, records)
        finally:
            await consumer.stop()
            await producer.stop()

    async def _answer_batch(
        self, consumer: Consumer, producer: Producer, records: list[InRecord]
    ) -> None:
        now = datetime.now(UTC)
        offsets: dict[TopicPartition, int] = {}
        for rec in records:
            offsets[TopicPartition(rec.topic, rec.partition)] = rec.offset + 1
        try:
            await producer.send_all([self._answer(rec, now) for rec in records])
            await consumer.commit(offsets)
        except CommitFailedError:
            # The group rebalanced under this batch (a long pause, say): the partitions' new
            # owner answers these commands again with the same event ids, which sagas drop.
            log.warning("rebalanced before committing %s answered commands", len(records))
        except KafkaError:
            log.exception("replies to %s commands not delivered; reading them again", len(records))
            await consumer.seek_to_committed(set(offsets))

    def _answer(self, rec: InRecord, now: datetime) -> OutRecord:
        try:
            command = decode(
                rec.value,
                topic=rec.topic,
                partition=rec.partition,
                offset=rec.offset,
                headers=rec.headers,
                key=rec.key,
            )
            if not isinstance(command, ValidateAccount):
                raise DecodeError(rec.topic, rec.partition, rec.offset, "not validate-account")
        except DecodeError as exc:
            failure = Failure.from_exception(
                exc,
                stage="decode",
                processor="q2c-account-validator",
                task_id=str(rec.partition),
                now_ms=int(now.timestamp() * 1000),
            )
            return OutRecord(
                self.names.dlq(rec.topic),
                rec.key,
                rec.value,
                dead_letter_headers(rec, failure),
            )
        reply = reply_for(command, self.data, now)
        self.answered += 1
        # The reply continues the command's trace, so one trace spans the whole deal.
        parent = rec.header(TRACEPARENT)
        traceparent = child_of(parent.decode(errors="replace") if parent else None)
        topic, key = self.names.events("masterdata"), command.deal_id.encode()
        value, sealed = seal_model(reply, topic, key)
        return OutRecord(topic, key, value, (*headers_for(reply, traceparent=traceparent), *sealed))


async def _noop(_: set[TopicPartition]) -> None:
    return None
