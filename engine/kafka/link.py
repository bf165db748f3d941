"""Whether this process reaches Kafka, told in state changes instead of a client-log storm.

While a broker is gone aiokafka logs an ERROR or WARNING per retry per connection (a 65 s
outage wrote ~17,500 lines). `KafkaStormFilter` turns the first connectivity complaint into
one line, "Kafka unreachable since ...", swallows the client's lines after it, and `KafkaLink.
back` (called by the worker when a request succeeds again) logs "Kafka reachable again after
N s" with the number of lines swallowed. A reminder is logged once a minute while it lasts.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

log = logging.getLogger("q2c.kafka")

# aiokafka lines that mean a broker or coordinator cannot be reached (its wording, 0.14).
# Not leader changes or a coordinator still loading: those are routine and pass to the log.
CONNECTIVITY = re.compile(
    r"Unable (?:to )?connect|Unable to (?:update|request) metadata|connection|"
    r"NodeNotReady|KafkaConnectionError|RequestTimedOut|KafkaTimeoutError|"
    r"Failed fetch messages|Could not send",
    re.IGNORECASE,
)
REMIND_EVERY_S = 60.0
# After an outage the broker still loads its partitions and coordinators for a few seconds:
# the client's retries of that time (not leader, coordinator loading) are swallowed too.
SETTLE_S = 10.0


@dataclass
class Outage:
    since_wall: float
    since: float
    reason: str
    suppressed: int = 0
    reminded_at: float = 0.0


class KafkaLink:
    """This process's view of Kafka reachability (one per process: `LINK`)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self.outage: Outage | None = None
        # A complaint not yet confirmed by a probe: one broker of several may be gone while
        # the cluster still answers (a broker kill on 3 nodes is not "Kafka unreachable").
        self.suspect: Outage | None = None
        # Set while a prober (the worker's watch task) settles suspicions with `probe_result`;
        # without one a complaint is an outage at once.
        self.probing = False
        self._settled_at = 0.0

    @property
    def reachable(self) -> bool:
        return self.outage is None

    @property
    def quiet(self) -> bool:
        """Whether the client's warnings are being swallowed (an outage or a suspicion)."""
        return (
            self.outage is not None or self.suspect is not None or self._clock() < self._settled_at
        )

    def complain(self, reason: str) -> None:
        """The client reported a connection failure."""
        if self.outage is not None or not self.probing:
            self.lost(reason)
        elif self.suspect is None:
            self.suspect = Outage(since_wall=time.time(), since=self._clock(), reason=reason)
        else:
            self.suspect.suppressed += 1

    def probe_result(self, answered: bool) -> None:
        """A probe's outcome: an answer clears a suspicion and ends an outage; no answer
        turns a suspicion into an outage dated from the first complaint."""
        if answered:
            self.suspect = None
            self.back()
            return
        if self.outage is None:
            now = self._clock()
            self.outage = self.suspect or Outage(time.time(), now, "no broker answered a probe")
            self.outage.reminded_at = now
            self.suspect = None
            log.error(
                "%s; client errors are suppressed until it is back", self.unreachable_reason()
            )

    def unreachable_reason(self) -> str | None:
        """'Kafka unreachable since <time> (<first error>)', or None while it is reachable."""
        if self.outage is None:
            return None
        since = datetime.fromtimestamp(self.outage.since_wall, UTC).isoformat(timespec="seconds")
        return f"Kafka unreachable since {since} ({self.outage.reason})"

    def lost(self, reason: str) -> bool:
        """Record a connectivity failure; True (and one log line) when it starts an outage."""
        now = self._clock()
        if self.outage is not None:
            self.outage.suppressed += 1
            if now - self.outage.reminded_at >= REMIND_EVERY_S:
                self.outage.reminded_at = now
                log.warning(
                    "Kafka still unreachable after %.0f s (%d client log lines suppressed)",
                    now - self.outage.since,
                    self.outage.suppressed,
                )
            return False
        self.outage = Outage(since_wall=time.time(), since=now, reason=reason, reminded_at=now)
        log.error("%s; client errors are suppressed until it is back", self.unreachable_reason())
        return True

    def back(self) -> float | None:
        """Record a success; the outage's length in seconds when this ends one, else None."""
        outage, self.outage = self.outage, None
        if outage is None:
            return None
        self._settled_at = self._clock() + SETTLE_S
        took = self._clock() - outage.since
        log.warning(
            "Kafka reachable again after %.1f s (%d client log lines suppressed)",
            took,
            outage.suppressed,
        )
        return took


LINK = KafkaLink()


class KafkaLinkObserver(logging.Handler):
    """Watches aiokafka's warnings and errors and tells `link` when Kafka is lost.

    A handler on the `aiokafka` logger (it sees every child logger's records), so the link
    state does not depend on how the process configured its output.
    """

    def __init__(self, link: KafkaLink = LINK) -> None:
        super().__init__(level=logging.WARNING)
        self.link = link

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        lost = self.link.outage is not None or self.link.suspect is not None
        if lost or CONNECTIVITY.search(message):
            self.link.complain(message[:200])


def observe_client_logs(link: KafkaLink = LINK) -> None:
    """Install the observer on the `aiokafka` logger once per process (idempotent)."""
    client = logging.getLogger("aiokafka")
    if not any(isinstance(h, KafkaLinkObserver) and h.link is link for h in client.handlers):
        client.addHandler(KafkaLinkObserver(link))


class KafkaStormFilter(logging.Filter):
    """An output handler's filter: drops aiokafka's warnings and errors while Kafka is lost
    (the observer has said so once, and counts them)."""

    def __init__(self, link: KafkaLink = LINK) -> None:
        super().__init__()
        self.link = link

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith("aiokafka") or record.levelno < logging.WARNING:
            return True
        return not self.link.quiet
