"""The store restores saga states and the task's input offsets from its changelog."""

from __future__ import annotations

from engine.kafka.records import TopicPartition
from engine.runtime.store import (
    INPUT_OFFSETS_KEY,
    SagaStore,
    changelog_key,
    decode_input_offsets,
    encode_input_offsets,
)
from engine.saga.codec import state_to_bytes
from engine.saga.model import SagaState


def test_input_offsets_round_trip_and_are_not_sagas() -> None:
    offsets = {TopicPartition("p.q2c.crm.events", 3): 17, TopicPartition("p.q2c.saga.inbox", 3): 4}
    assert decode_input_offsets(encode_input_offsets(offsets)) == offsets
    store = SagaStore()
    store.restore(INPUT_OFFSETS_KEY, encode_input_offsets(offsets))
    state = SagaState("quote-to-cash", "D|1", "active")
    store.restore(changelog_key(("quote-to-cash", "D|1")), state_to_bytes(state))
    assert store.input_offsets == offsets
    assert [k for k, _ in store.items()] == [("quote-to-cash", "D|1")]


def test_changelog_holds_one_record_per_saga_per_transaction() -> None:
    store = SagaStore()
    key = ("quote-to-cash", "D-1")
    store.stage(key, SagaState("quote-to-cash", "D-1", "validating"))
    store.stage(key, SagaState("quote-to-cash", "D-1", "creating_project"))
    records = store.staged_changelog()
    assert len(records) == 1 and b"creating_project" in records[0][1]
    store.abort()
    assert store.get(key) is None and not store.dirty
