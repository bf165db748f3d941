"""The wait room keeps each key's order, never lets the commit pass a waiting record, wakes only
the lines whose correlation arrived, expires the old ones and bounds a flooded key."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.kafka.records import InRecord, TopicPartition
from engine.runtime.waiting import LineFull, Released, WaitRoom

TP = TopicPartition("t", 0)


def rec(offset: int, key: str) -> InRecord:
    return InRecord("t", 0, offset, key.encode(), b"v", (), 0)


def drive(keys: list[str], unknown: set[str]) -> tuple[list[InRecord], WaitRoom]:
    """Feed records in offset order: unknown keys wait (on the id "id:<key>"), a key behind a
    waiter waits too."""
    room = WaitRoom()
    processed: list[InRecord] = []
    for offset, key in enumerate(keys):
        r = rec(offset, key)
        if room.blocks(r) or key in unknown:
            room.add(r, since=float(offset), waits_on=[f"id:{key}"])
        else:
            processed.append(r)
    return processed, room


def offsets(lines: list[Released]) -> list[int]:
    return [p.record.offset for line in lines for p in line.records]


keys_st = st.lists(st.sampled_from("abcde"), min_size=1, max_size=40)


@given(keys_st, st.sets(st.sampled_from("abcde")))
def test_waiting_keys_hold_their_followers_and_others_pass(
    keys: list[str], unknown: set[str]
) -> None:
    processed, room = drive(keys, unknown)
    assert all(r.key is not None and r.key.decode() not in unknown for r in processed)
    assert len(processed) + len(room) == len(keys)
    everything = room.release(expired_before=float("inf"))
    assert sorted(offsets(everything)) == [o for o, k in enumerate(keys) if k in unknown]
    assert not room and not room.partitions()


@given(keys_st, st.sets(st.sampled_from("abcde")), st.sets(st.sampled_from("abcde")))
def test_commit_never_passes_the_first_waiting_record(
    keys: list[str], unknown: set[str], learnt: set[str]
) -> None:
    _, room = drive(keys, unknown)
    for key in learnt:
        room.learnt(f"id:{key}")
    room.release(expired_before=float("-inf"))
    still = [o for o, k in enumerate(keys) if k in unknown - learnt]
    assert room.hold_offset(TP) == (min(still) if still else None)
    assert len(room) == len(still)


@given(keys_st, st.sets(st.sampled_from("abcde"), min_size=1), st.sampled_from("abcde"))
def test_a_learnt_id_releases_exactly_its_line_in_offset_order(
    keys: list[str], unknown: set[str], learnt: str
) -> None:
    _, room = drive(keys, unknown)
    room.learnt(f"id:{learnt}")
    assert room.has_ready == (learnt in unknown and learnt in keys)
    released = room.release(expired_before=float("-inf"))
    expected = [o for o, k in enumerate(keys) if k == learnt and k in unknown]
    assert offsets(released) == expected
    assert all(not line.expired for line in released)
    assert not room.has_ready


@given(keys_st, st.sets(st.sampled_from("abcde"), min_size=1), st.integers(0, 40))
def test_lines_whose_head_waited_too_long_expire_with_their_followers(
    keys: list[str], unknown: set[str], cutoff: int
) -> None:
    _, room = drive(keys, unknown)  # a record's `since` is its offset
    released = room.release(expired_before=float(cutoff))
    heads = [line.records[0].record.offset for line in released]
    assert all(line.expired for line in released)
    assert all(head < cutoff for head in heads)
    first_of_key = {k: keys.index(k) for k in unknown if k in keys}
    assert sorted(heads) == sorted(o for o in first_of_key.values() if o < cutoff)


def test_a_flooded_key_is_refused_past_its_bound_while_other_keys_still_wait() -> None:
    room = WaitRoom(max_per_key=3)
    for offset in range(3):
        room.add(rec(offset, "flood"), since=0.0, waits_on=["id:flood"])
    with pytest.raises(LineFull, match="3 records of this key already wait"):
        room.add(rec(3, "flood"), since=0.0)
    room.add(rec(4, "other"), since=0.0, waits_on=["id:other"])
    assert len(room) == 4
    room.learnt("id:flood")
    assert offsets(room.release(expired_before=0.0)) == [0, 1, 2]
    assert room.hold_offset(TP) == 4


def test_a_released_record_that_waits_again_holds_the_commit_again() -> None:
    room = WaitRoom()
    room.add(rec(5, "k"), since=0.0, waits_on=["id:a"])
    room.learnt("id:a")
    (line,) = room.release(expired_before=0.0)
    assert room.hold_offset(TP) is None
    room.add(line.records[0].record, since=line.records[0].since, waits_on=["id:b"])
    assert room.hold_offset(TP) == 5
    room.learnt("id:a")  # the id it waited on before no longer wakes it
    assert not room.has_ready
