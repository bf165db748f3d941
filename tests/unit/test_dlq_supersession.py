"""A replay never writes an older status, budget or total back over a newer one, and never
leaves out a command nothing replaced (pure: a command partition and its dead letters as the
runner and a replay write them)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from engine.adapters.moves import to_dead_letter
from engine.codec.headers import EVENT_ID, EVENT_TYPE
from engine.dlq.headers import Failure
from engine.dlq.plan import ORIGINAL, replay_record
from engine.dlq.records import DeadLetter
from engine.dlq.supersession import SUPERSEDABLE, SuccessorIndex, scan_starts
from engine.kafka.records import InRecord, TopicPartition

TOPIC = "q2c.commands.erp"
DLQ = "q2c.commands.erp.dlq"
TYPES = ("update-project-budget", "update-crm-status", "create-project")
KEYS = (b"D-1", b"D-2")


@dataclass(frozen=True)
class Sent:
    """One command the saga wrote: its offset doubles as the value it sets on the platform."""

    key: bytes
    command_type: str


def command(offset: int, sent: Sent) -> InRecord:
    headers = ((EVENT_TYPE, sent.command_type.encode()), (EVENT_ID, f"cmd-{offset}".encode()))
    return InRecord(TOPIC, 0, offset, sent.key, str(offset).encode(), headers, 1_000 + offset)


def dead_letter(rec: InRecord, dlq_offset: int) -> DeadLetter:
    failure = Failure.from_exception(
        RuntimeError("platform said 503"),
        stage="retry",
        processor="q2c-adapter-erp",
        task_id="q2c-adapter-erp/0",
        now_ms=5_000,
        attempts=3,
        first_failure_ms=None,
    )
    out = to_dead_letter(rec, failure, DLQ)
    return DeadLetter(DLQ, 0, dlq_offset, out.key, out.value, out.headers, 5_000)


def replayed_copy(dl: DeadLetter, offset: int) -> InRecord:
    """What an earlier replay of `dl` put back on the command topic (and which failed again)."""
    out = replay_record(dl, ORIGINAL, "replay-1", "sre", datetime(2026, 1, 1, tzinfo=UTC))
    return InRecord(TOPIC, 0, offset, out.key, out.value, out.headers, 9_000 + offset)


@st.composite
def histories(draw: st.DrawFn) -> tuple[list[InRecord], list[DeadLetter]]:
    """A command partition, the dead letters among it, and earlier failed replays of some."""
    sent = draw(
        st.lists(st.builds(Sent, st.sampled_from(KEYS), st.sampled_from(TYPES)), max_size=12)
    )
    records = [command(i, s) for i, s in enumerate(sent)]
    failed = sorted(draw(st.sets(st.sampled_from(range(len(records)))))) if records else []
    letters = [dead_letter(records[i], n) for n, i in enumerate(failed)]
    for dl in draw(st.lists(st.sampled_from(letters), unique=True)) if letters else []:
        records.append(replayed_copy(dl, len(records)))
    return records, letters


def replay_guarded(
    records: list[InRecord], letters: list[DeadLetter]
) -> tuple[dict[tuple[bytes | None, str], int], list[DeadLetter]]:
    """The platform's values after the saga's commands and a guarded replay; what was replayed."""
    starts = scan_starts(letters)
    index = SuccessorIndex(letters)
    for rec in records:
        if (
            TopicPartition(rec.topic, rec.partition) in starts
            and rec.offset >= starts[TopicPartition(rec.topic, rec.partition)]
        ):
            index.add(rec)
    stale = {s.letter.ref for s in index.superseded()}
    failed = {dl.original_offset for dl in letters}
    platform: dict[tuple[bytes | None, str], int] = {}
    saga_written = [r for r in records if r.header("q2c.replay.id") is None]
    for rec in saga_written:
        if rec.offset not in failed:
            platform[(rec.key, (rec.header(EVENT_TYPE) or b"").decode())] = rec.offset
    replayed = [dl for dl in letters if dl.ref not in stale]
    for dl in replayed:
        platform[(dl.key, dl.event_type or "")] = dl.original_offset
    return platform, replayed


@given(histories())
def test_after_a_replay_each_platform_value_is_the_newest_command_s(
    history: tuple[list[InRecord], list[DeadLetter]],
) -> None:
    records, letters = history
    platform, replayed = replay_guarded(records, letters)
    newest: dict[tuple[bytes | None, str], int] = {}
    for rec in records:
        if rec.header("q2c.replay.id") is None:
            newest[(rec.key, (rec.header(EVENT_TYPE) or b"").decode())] = rec.offset
    for (key, command_type), offset in newest.items():
        if command_type in SUPERSEDABLE:
            assert platform[(key, command_type)] == offset, (key, command_type)
    # Nothing that sets no absolute value is ever held back, and nothing newest either.
    for dl in letters:
        if (
            dl.event_type not in SUPERSEDABLE
            or newest[(dl.key, dl.event_type)] == dl.original_offset
        ):
            assert dl in replayed, dl.ref


def test_the_skipped_command_is_named_with_its_successor() -> None:
    older = command(0, Sent(b"D-1", "update-project-budget"))
    newer = command(1, Sent(b"D-1", "update-project-budget"))
    other_key = command(2, Sent(b"D-2", "update-project-budget"))
    letter = dead_letter(older, 0)
    index = SuccessorIndex([letter])
    for rec in (newer, other_key):
        index.add(rec)
    (skipped,) = index.superseded()
    assert skipped.successor == f"{TOPIC}:0:1"
    assert "update-project-budget for 'D-1' is superseded by the later" in skipped.describe()
    assert scan_starts([letter]) == {TopicPartition(TOPIC, 0): 1}
