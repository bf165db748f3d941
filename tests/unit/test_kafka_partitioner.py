"""The cached partitioner sends every keyed record where the Java client's murmur2 would."""

from __future__ import annotations

from aiokafka.partitioner import DefaultPartitioner
from hypothesis import given
from hypothesis import strategies as st

from engine.kafka.client import _CachedPartitioner


@given(keys=st.lists(st.binary(max_size=40), max_size=30), partitions=st.integers(1, 64))
def test_same_partition_as_the_default_partitioner(keys: list[bytes], partitions: int) -> None:
    all_partitions = list(range(partitions))
    cached, default = _CachedPartitioner(), DefaultPartitioner()
    for key in keys + keys:  # the second pass is answered from the cache
        assert cached(key, all_partitions, all_partitions) == default(
            key, all_partitions, all_partitions
        )
