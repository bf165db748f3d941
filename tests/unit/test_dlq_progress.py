"""Replay progress bookkeeping and audit records (pure)."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from engine.dlq.records import DeadLetter
from engine.ops.audit import AuditRecord
from engine.ops.progress import OpsState, PurgeMarker, ReplayProgress


def letters(parts: list[int]) -> list[DeadLetter]:
    """DLQ records in replay order: per partition, ascending offsets."""
    out = []
    for p, n in enumerate(parts):
        out += [DeadLetter("q2c.crm.events.dlq", p, o, b"k", b"v", (), 0) for o in range(n)]
    return sorted(out, key=lambda d: (d.topic, d.partition, d.offset))


def fresh() -> ReplayProgress:
    return ReplayProgress("r1", "alice", "2026-03-01T00:00:00+00:00", {}, "original")


@given(
    parts=st.lists(st.integers(0, 6), min_size=1, max_size=4),
    cuts=st.lists(st.integers(1, 5), max_size=8),
)
def test_interrupted_replays_resumed_do_each_record_once(parts: list[int], cuts: list[int]) -> None:
    all_letters = letters(parts)
    progress, replayed = fresh(), []
    for limit in [*cuts, len(all_letters)]:  # runs with --limit, then one to the end
        # Each run starts from the checkpoint as read back from the topic.
        progress = ReplayProgress.from_bytes(progress.to_bytes())
        for dl in progress.pending(all_letters)[:limit]:
            replayed.append(dl.ref)
            progress = progress.advance(dl)
    assert replayed == [dl.ref for dl in all_letters]
    assert progress.pending(all_letters) == [] and progress.count == len(all_letters)


def test_ops_state_folds_latest_checkpoint_and_all_purges() -> None:
    state = OpsState()
    p = fresh()
    state.apply(p.key, p.to_bytes())
    later = p.advance(letters([2])[0])
    state.apply(later.key, later.to_bytes())
    for m in (PurgeMarker("a", ("t:0:1",)), PurgeMarker("b", ("t:0:2", "t:1:0"))):
        state.apply(m.key, m.to_bytes())
    state.apply(b"unrelated", b"{}")
    assert state.replays == {"r1": later}
    assert state.purged == {"t:0:1", "t:0:2", "t:1:0"}
    state.apply(p.key, None)  # a tombstone forgets the replay
    assert state.replays == {}


def test_audit_record_round_trip_and_key() -> None:
    at = datetime(2026, 3, 1, tzinfo=UTC)
    rec = AuditRecord("dlq.replay", "replay-1", "alice", at, "original", 3, {"key": "D-1"})
    assert AuditRecord.from_bytes(rec.to_bytes()) == rec
    assert rec.key == b"replay-1"
    assert AuditRecord("exceptions.retry", "x", "bob", at, "D-9").key == b"D-9"
