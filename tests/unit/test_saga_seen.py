"""SeenIds: the chunked persistent set a saga uses to drop redelivered events."""

from __future__ import annotations

from functools import reduce

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.saga.seen import SeenIds

# Ids drawn from a range wider than a few chunks, in lists long enough to fill several, so
# chunk boundaries and repeats across them are exercised on every example.
_ids = st.integers(min_value=0, max_value=2_000).map(lambda n: f"evt-{n}")
_id_lists = st.lists(_ids, min_size=SeenIds.CHUNK_SIZE + 1, max_size=3 * SeenIds.CHUNK_SIZE)
# Each example is hundreds of ids; fewer examples keep this under a second or two.
_few = settings(max_examples=40)


@_few
@given(_id_lists)
def test_of_builds_the_same_chunks_as_adding_one_by_one(items: list[str]) -> None:
    assert SeenIds.of(items) == reduce(SeenIds.add, items, SeenIds())


@_few
@given(_id_lists, _ids)
def test_membership_matches_a_plain_set(items: list[str], probe: str) -> None:
    seen = SeenIds.of(items)
    assert (probe in seen) == (probe in set(items))
    assert len(seen) == len(set(items))
    assert sorted(seen) == sorted(set(items))


def test_more_than_a_chunk_of_unique_ids_spans_several_chunks() -> None:
    seen = SeenIds.of(f"evt-{n}" for n in range(3 * SeenIds.CHUNK_SIZE + 1))
    assert [len(chunk) for chunk in seen.chunks] == [SeenIds.CHUNK_SIZE] * 3 + [1]
    assert seen.add("evt-0") is seen
