"""Per-key order across retry tiers, under any interleaving of tier consumption (hypothesis).

The simulation routes commands exactly as `CommandRunner._process` does (release, follow_to,
attempt, next tier or dead letter) over in-memory FIFO topics, letting hypothesis choose which
topic is consumed next: whatever the timing, a key's commands finish in the order issued.
"""

from __future__ import annotations

from collections import deque

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.adapters.ordering import KeyGate

LAST_TIER = 2
Cmd = tuple[str, int]  # (key, sequence number)


@settings(max_examples=300, deadline=None)
@given(
    keys=st.lists(st.sampled_from("ABC"), min_size=1, max_size=12),
    failures=st.lists(st.integers(0, 4), min_size=12, max_size=12),
    data=st.data(),
)
def test_a_key_never_overtakes_itself(
    keys: list[str], failures: list[int], data: st.DataObject
) -> None:
    commands = [(k, i) for i, k in enumerate(keys)]
    left = {c: failures[i] for i, c in enumerate(commands)}
    topics: list[deque[Cmd]] = [deque(commands), deque(), deque()]
    gate = KeyGate()
    finished: list[Cmd] = []
    for _ in range(1000):  # bounded; every step consumes one record
        ready = [t for t, q in enumerate(topics) if q]
        if not ready:
            break
        tier = data.draw(st.sampled_from(ready))
        cmd = topics[tier].popleft()
        key = cmd[0].encode()
        gate.release(key, tier)
        follow = gate.follow_to(key, tier)
        if follow is not None:
            topics[follow].append(cmd)
            gate.hold(key, follow)
            continue
        if left[cmd] == 0:
            finished.append(cmd)  # handled
        elif tier < LAST_TIER:
            left[cmd] -= 1
            topics[tier + 1].append(cmd)
            gate.hold(key, tier + 1)
        else:
            finished.append(cmd)  # dead-lettered: releases its key
    assert sorted(finished) == sorted(commands)
    for k in set(keys):
        seqs = [n for key, n in finished if key == k]
        assert seqs == sorted(seqs), (k, seqs)
    assert gate.blocked_keys() == set()


def test_gate_counts() -> None:
    gate = KeyGate()
    gate.hold(b"k", 1)
    gate.hold(b"k", 2)
    assert gate.frontier(b"k") == 2
    assert gate.follow_to(b"k", 0) == 1  # behind the nearest older command, not the oldest
    assert gate.follow_to(b"k", 1) == 2
    assert gate.follow_to(b"k", 2) is None
    gate.release(b"k", 2)
    gate.release(b"k", 1)
    gate.release(b"k", 1)  # releasing more than held is harmless
    assert gate.frontier(b"k") == 0 and gate.blocked_keys() == set()
