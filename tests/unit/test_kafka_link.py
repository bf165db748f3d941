"""A broker outage logs one line when Kafka is lost and one when it is back, not a storm."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from engine.kafka.link import (
    REMIND_EVERY_S,
    SETTLE_S,
    KafkaLink,
    KafkaLinkObserver,
    KafkaStormFilter,
)
from tests.clocks import FakeClock


@pytest.fixture
def captured() -> Iterator[tuple[io.StringIO, KafkaLink, FakeClock]]:
    clock = FakeClock(1000.0)
    link = KafkaLink(clock)
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    handler.addFilter(KafkaStormFilter(link))
    observer = KafkaLinkObserver(link)
    client = logging.getLogger("aiokafka")
    # An engine started earlier in this process left the global link's observer installed;
    # it would tell its own outage into the captured output.
    others = [h for h in client.handlers if isinstance(h, KafkaLinkObserver)]
    for h in others:
        client.removeHandler(h)
    client.addHandler(observer)
    root = logging.getLogger()
    root.addHandler(handler)
    old = root.level
    root.setLevel(logging.INFO)
    try:
        yield out, link, clock
    finally:
        client.removeHandler(observer)
        for h in others:
            client.addHandler(h)
        root.removeHandler(handler)
        root.setLevel(old)


def _storm(n: int) -> None:
    conn = logging.getLogger("aiokafka.conn")
    coord = logging.getLogger("aiokafka.consumer.group_coordinator")
    for i in range(n):
        conn.error("Unable connect to node with id 1: [Errno 111] Connect call failed %s", i)
        coord.warning("Heartbeat failed for group g: coordinator (node 1) is either not started")


def test_an_outage_is_two_lines_however_many_retries(
    captured: tuple[io.StringIO, KafkaLink, FakeClock],
) -> None:
    out, link, clock = captured
    _storm(5000)
    clock.now += 42.0
    assert link.back() == pytest.approx(42.0)
    lines = out.getvalue().splitlines()
    assert len(lines) == 2, lines[:5]
    assert "Kafka unreachable since" in lines[0] and "Unable connect" in lines[0]
    assert "Kafka reachable again after 42.0 s (9999 client log lines suppressed)" in lines[1]
    assert link.reachable and link.unreachable_reason() is None


def test_a_long_outage_reminds_once_a_minute(
    captured: tuple[io.StringIO, KafkaLink, FakeClock],
) -> None:
    out, link, clock = captured
    for _ in range(4):  # four minutes of retries, a burst every minute
        _storm(100)
        clock.now += REMIND_EVERY_S
    _storm(1)
    reminders = [line for line in out.getvalue().splitlines() if "still unreachable" in line]
    assert len(reminders) == 4
    assert "Kafka unreachable since" in (link.unreachable_reason() or "")


def test_other_client_warnings_and_q2c_lines_pass(
    captured: tuple[io.StringIO, KafkaLink, FakeClock],
) -> None:
    out, link, _ = captured
    logging.getLogger("aiokafka.consumer").warning("Heartbeat failed: group is rebalancing")
    logging.getLogger("q2c.worker").warning("task 3 out of service")
    assert link.reachable
    assert len(out.getvalue().splitlines()) == 2
    assert link.back() is None  # nothing to end: no line
    assert len(out.getvalue().splitlines()) == 2


def test_with_a_prober_one_lost_broker_of_several_is_no_outage(
    captured: tuple[io.StringIO, KafkaLink, FakeClock],
) -> None:
    out, link, _ = captured
    link.probing = True
    _storm(50)  # node 3 of 3 is gone: its connection retries fail
    assert link.reachable and link.quiet
    link.probe_result(answered=True)  # the other brokers answer
    assert out.getvalue() == "" and not link.quiet


def test_with_a_prober_an_unanswered_probe_dates_the_outage_from_the_first_complaint(
    captured: tuple[io.StringIO, KafkaLink, FakeClock],
) -> None:
    out, link, clock = captured
    link.probing = True
    _storm(10)
    clock.now += 1.0
    link.probe_result(answered=False)
    _storm(10)
    link.probe_result(answered=False)
    clock.now += 29.0
    link.probe_result(answered=True)
    lines = out.getvalue().splitlines()
    assert len(lines) == 2, lines
    assert "Kafka unreachable since" in lines[0] and "Unable connect" in lines[0]
    assert "Kafka reachable again after 30.0 s (39 client log lines suppressed)" in lines[1]


def test_retries_while_the_returned_broker_settles_are_swallowed_for_a_while(
    captured: tuple[io.StringIO, KafkaLink, FakeClock],
) -> None:
    out, link, clock = captured
    _storm(3)
    link.back()
    sender = logging.getLogger("aiokafka.producer.sender")
    for _ in range(100):  # partitions and coordinators still loading on the broker
        sender.warning("Got error produce response: NotLeaderForPartitionError")
    assert len(out.getvalue().splitlines()) == 2 and link.reachable
    clock.now += SETTLE_S
    sender.warning("Got error produce response: NotLeaderForPartitionError")
    assert len(out.getvalue().splitlines()) == 3 and link.reachable
