"""The wait room keeps each key's order and never lets the commit pass a waiting record."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from engine.kafka.records import InRecord, TopicPartition
from engine.runtime.waiting import WaitRoom

TP = TopicPartition("t", 0)


def rec(offset: int, key: str) -> InRecord:
    return InRecord("t", 0, offset, key.encode(), b"v", (), 0)


def drive(keys: list[str], unknown: set[str]) -> tuple[list[InRecord], WaitRoom]:
    """Feed records in offset order: unknown keys wait, a key behind a waiter waits too."""
    room = WaitRoom()
    processed: list[InRecord] = []
    for offset, key in enumerate(keys):
        r = rec(offset, key)
        if room.blocks(r) or key in unknown:
            room.add(r, since=0.0)
        else:
            processed.append(r)
    return processed, room


keys_st = st.lists(st.sampled_from("abcde"), min_size=1, max_size=40)


@given(keys_st, st.sets(st.sampled_from("abcde")))
def test_waiting_keys_hold_their_followers_and_others_pass(
    keys: list[str], unknown: set[str]
) -> None:
    processed, room = drive(keys, unknown)
    assert all(r.key is not None and r.key.decode() not in unknown for r in processed)
    assert len(processed) + len(room) == len(keys)
    waiting = [p.record for p in room.take_all()]
    assert [r.offset for r in waiting] == sorted(r.offset for r in waiting)


@given(keys_st, st.sets(st.sampled_from("abcde")))
def test_commit_never_passes_the_first_waiting_record(keys: list[str], unknown: set[str]) -> None:
    _, room = drive(keys, unknown)
    waiting_offsets = [o for o, k in enumerate(keys) if k in unknown]
    assert room.hold_offset(TP) == (min(waiting_offsets) if waiting_offsets else None)


@given(keys_st, st.sets(st.sampled_from("abcde"), min_size=1))
def test_released_waiters_keep_per_key_order(keys: list[str], unknown: set[str]) -> None:
    """When the correlation arrives, re-driving the waiters yields each key's records in order."""
    processed, room = drive(keys, unknown)
    for parked in room.take_all():
        processed.append(parked.record)
    for key in set(keys):
        offsets = [r.offset for r in processed if r.key == key.encode()]
        assert offsets == sorted(offsets)
