"""The correlation table writes an entry once: only what the topic does not hold yet."""

from __future__ import annotations

from engine.kafka.records import InRecord
from engine.runtime.correlation import CorrelationTable
from engine.runtime.waiting import WaitRoom


def _read_back(table: CorrelationTable, key: str, value: str | None) -> None:
    raw = value.encode() if value is not None else None
    table._apply(InRecord(table.topic, 0, 0, key.encode(), raw, (), 0))


def test_an_entry_counts_as_written_only_once_read_back_from_the_topic() -> None:
    table = CorrelationTable("c")
    table.put("invoice_reference", "R-1", "D-1")
    assert table.get("invoice_reference", "R-1") == "D-1"
    # Its transaction may still abort: whoever learns it next writes it again.
    assert not table.on_topic("invoice_reference", "R-1", "D-1")
    _read_back(table, "invoice_reference:R-1", "D-1")
    assert table.on_topic("invoice_reference", "R-1", "D-1")
    table.put("invoice_reference", "R-1", "D-1")  # learnt again: nothing new
    assert table.on_topic("invoice_reference", "R-1", "D-1")
    assert not table.on_topic("invoice_reference", "R-1", "D-2")  # a different saga is news
    _read_back(table, "invoice_reference:R-1", None)
    assert not table.on_topic("invoice_reference", "R-1", "D-1")


def test_a_new_entry_wakes_the_wait_rooms_watching() -> None:
    table, room = CorrelationTable("c"), WaitRoom()
    table.watch(room)
    room.add(InRecord("t", 0, 3, b"P-1", b"v", (), 0), since=0.0, waits_on=["project_id:P-1"])
    _read_back(table, "project_id:P-1", "D-1")
    assert room.has_ready


def test_a_saga_keys_ids_are_known_until_tombstoned_or_moved() -> None:
    # What the retention tombstones once every saga of a deal is gone.
    table = CorrelationTable("c")
    table.put("project_id", "P-1", "D-1")
    _read_back(table, "invoice_reference:R-1", "D-1")
    _read_back(table, "invoice_reference:R-2", "D-2")
    assert table.keys_of("D-1") == ["invoice_reference:R-1", "project_id:P-1"]
    _read_back(table, "project_id:P-1", "D-2")  # the id now belongs to another saga
    assert table.keys_of("D-1") == ["invoice_reference:R-1"]
    _read_back(table, "invoice_reference:R-1", None)
    assert table.keys_of("D-1") == [] and len(table) == 2
    assert table.keys_of("D-2") == ["invoice_reference:R-2", "project_id:P-1"]
