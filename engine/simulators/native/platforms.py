"""`NativePlatforms`: the simulated CRM, ERP/PSA and billing behind real platform interfaces.

Both directions go over HTTP, as with the real platforms:
- out: each command target has a `CommandRunner` (its own consumer group, as
  `q2c connectors run`) whose handler calls the chosen platform's outbound connector against
  that platform's emulator; the connector's canonical replies (project-created with the
  platform's project id, invoice-issued with Stripe's invoice id, ...) are published before
  the command is committed. The simulated platform's people then react to what was created
  (`Business`: activation, milestones, approved time, payments), planned on the simulated
  clock under the simulation's own ids (`IdMap` pairs them with the platform's).
- in: when the clock reaches a planned event, the platform's `NativeFormat` turns it into
  the platform's own delivery (CDC JSON, the NetSuite script's JSON, a Stripe webhook, ...),
  signed as that platform signs, posted to the gateway; the translator (with read-backs from
  the emulators) makes the canonical events. An event the platform has no mapped native event
  for is published canonically and counted as such.
A command no connector of the platform handles (e.g. recognize-revenue on SAP) is answered by
the simulation alone, as on the canonical path. A command `SimConfig.answers` declines (another
demo run's) reaches no connector and is not counted, as on the canonical path.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime

from prometheus_client import REGISTRY

from engine.adapters import CommandRunner
from engine.connectors.outbound.connector import ConnectorHandler, OutboundConnector
from engine.connectors.outbound.service import connector_for
from engine.connectors.readback import Enricher, RecordReader
from engine.connectors.registry import READERS, load_mappings
from engine.connectors.translator import Translator
from engine.contracts import ClosedWon, Command, Event, Invoice, InvoiceIssued, ProjectCreated
from engine.gateway.beside import Beside
from engine.kafka.client import end_offsets, topic_partitions
from engine.kafka.connection import KafkaConnection
from engine.kafka.records import TopicPartition
from engine.lifecycle import AsyncStartStop
from engine.publisher import Publisher
from engine.runtime.names import TopicNames
from engine.settings import Settings
from engine.simulators.behaviour import Behaviour
from engine.simulators.native.choice import PlatformChoice
from engine.simulators.native.emulators import PlatformEmulators
from engine.simulators.native.formats import format_for, native_platform
from engine.simulators.native.formats.base import NativeFormat
from engine.simulators.native.gateway import GatewayClient, WebhookSecrets
from engine.simulators.native.ids import IdMap
from engine.simulators.native.stats import PlatformStats, effect_summary
from engine.simulators.platforms import Business, PlatformsSnapshot, SimConfig
from engine.simulators.timeline import Timeline

log = logging.getLogger("q2c.simulators")
Clock = Callable[[], datetime]
TICK_S = 0.05
STOP_TIMEOUT_S = 10.0
REDELIVER_TIMEOUT_S = 120.0
RATE_LIMIT_WAITS = "q2c_connector_rate_limit_waits_total"


class ObservedHandler(ConnectorHandler):
    """The connector makes the command's effect and replies; then the simulation reacts."""

    def __init__(self, platforms: NativePlatforms, target: str) -> None:
        platform = platforms.choice.by_target[target]
        super().__init__([platforms.connectors[platform]], platforms.publisher)
        self.platforms = platforms
        self.target = target

    async def __call__(self, command: Command) -> None:
        if not self.platforms.answers(command):
            return
        connector = self.routes.get(command.header.command_type)
        replies = list(await connector.handle(command)) if connector is not None else []
        # The simulation learns the platform's ids before the replies let the saga go on.
        await self.platforms.react(self.target, command, replies, answered=connector is not None)
        for event in replies:
            await self.publisher.publish(event)
            self.published += 1


class NativePlatforms(AsyncStartStop):
    """The chosen platforms' emulators, connectors, gateway and translator, and the
    simulated business behind them; `start`, then `schedule_wins`, then `stop`."""

    def __init__(
        self,
        settings: Settings,
        choice: PlatformChoice,
        config: SimConfig,
        clock: Clock,
    ) -> None:
        self.settings = settings
        self.choice = choice
        self.clock = clock
        self.answers = config.answers
        business = Business(config)
        self.won_at = business.won_at
        self.crm_behaviour = business.crm
        self.billing_behaviour = business.billing
        self.behaviours: dict[str, Behaviour] = {
            "crm": business.crm,
            "erp": business.erp,
            "billing": business.billing,
        }
        self.ids = IdMap()
        self.secrets = WebhookSecrets()
        self.emulators = PlatformEmulators(choice)
        self.publisher = Publisher(settings)
        self.timelines = {target: Timeline() for target in self.behaviours}
        self.connectors: dict[str, OutboundConnector] = {}
        self.formats: dict[str, NativeFormat] = {}
        self.runners: dict[str, CommandRunner] = {}
        self.handled: dict[str, Counter[str]] = {t: Counter() for t in self.behaviours}
        self.redelivered: Counter[str] = Counter()
        self.native_sent: Counter[str] = Counter()
        self.canonical_sent: Counter[str] = Counter()
        self._seen: set[str] = set()
        self._waits_before: dict[str, float] = {}
        self._beside: Beside | None = None
        self._gateway: GatewayClient | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = asyncio.Event()
        self._started: list[Callable[[], object]] = []

    # -- lifecycle -----------------------------------------------------------------------------

    async def start(self) -> None:
        """Emulators, connectors, gateway + translator, then the command runners."""
        try:
            await self._start()
        except BaseException:
            await self.stop()
            raise

    async def _start(self) -> None:
        await asyncio.to_thread(self.emulators.start)
        self._started.append(self.emulators.stop)
        targets = self.choice.by_target
        self.connectors = {
            p: connector_for(p, self.emulators.config(p), clock=self.clock)
            for p in targets.values()
        }
        for connector in self.connectors.values():
            await connector.start()
        await self.publisher.start()
        self._waits_before = {p: _rate_limit_waits(p) for p in targets.values()}
        self.formats = {
            target: format_for(
                platform, self.emulators.emulators[platform], self.ids, self.invoice_of
            )
            for target, platform in targets.items()
        }
        connector_settings = self.secrets.connector_settings()
        mappings = load_mappings(connector_settings)
        readers: dict[str, RecordReader] = {
            p: READERS[p](self.emulators.config(p)) for p in targets.values() if p in READERS
        }
        translator = Translator(
            self.settings,
            mappings,
            platforms=sorted({native_platform(p) for p in targets.values()}),
            enricher=Enricher(readers),
        )
        self._beside = Beside(
            self.settings,
            connector_settings,
            gateway_port=0,
            translator=translator,
            on_failure=self._stopping.set,
        )
        await self._beside.start()
        gateway = f"http://{self.settings.http_host}:{self._beside.gateway_port}"
        self._gateway = GatewayClient(gateway, self.secrets)
        for target in targets:
            handler = ObservedHandler(self, target)
            self.runners[target] = CommandRunner(
                self.settings, target, handler, hold=handler.hold_s
            )
        self._tasks = [
            *(asyncio.create_task(r.run(), name=f"connector-{t}") for t, r in self.runners.items()),
            asyncio.create_task(self._send_due(), name="native-platforms"),
        ]

    async def redeliver(self, timeout_s: float = REDELIVER_TIMEOUT_S) -> None:
        """Deliver every command of the run to its connector once more, as an operator replaying
        the command topics from their start would, and return once each target's replay has
        committed through the topic's end as it was at the call (TimeoutError after
        `timeout_s`). A connector that is idempotent makes no second effect; the replies it
        sends again carry the same event ids, which the sagas drop."""
        options = KafkaConnection.from_settings(self.settings).options()
        names = TopicNames(self.settings.topic_prefix)
        tag = uuid.uuid4().hex[:6]
        replays: dict[str, CommandRunner] = {}
        for target in self.runners:
            handler = ObservedHandler(self, target)
            replays[target] = CommandRunner(
                self.settings,
                target,
                handler,
                group_id=f"{self.settings.group_id}.redeliver-{tag}-{target}",
                hold=handler.hold_s,
            )
        ends: dict[str, dict[TopicPartition, int]] = {}
        for target in replays:
            parts = await topic_partitions(options, [names.commands(target)])
            ends[target] = await end_offsets(options, parts)
        tasks = [asyncio.create_task(r.run(), name=f"redeliver-{t}") for t, r in replays.items()]
        try:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + timeout_s
            # A target is through once a poll ended after its consumer had read to the ends
            # (the topic's end counts transaction markers, so committed offsets may stop short).
            marks: dict[str, int] = {}
            while not all(t in marks and r.polls_done > marks[t] for t, r in replays.items()):
                if loop.time() > deadline:
                    raise TimeoutError(f"commands not delivered again within {timeout_s:.0f} s")
                for target, runner in replays.items():
                    if target not in marks and await runner.polled_through(ends[target]):
                        marks[target] = runner.polls_done
                await asyncio.sleep(0.2)
        finally:
            for runner in replays.values():
                runner.request_stop()
            await asyncio.wait(tasks, timeout=STOP_TIMEOUT_S)

    async def stop(self) -> None:
        """Stop consuming and sending, then the gateway, translator, connectors, emulators."""
        self._stopping.set()
        for runner in self.runners.values():
            runner.request_stop()
        for task in self._tasks:
            done, _ = await asyncio.wait({task}, timeout=STOP_TIMEOUT_S)
            if not done:
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks = []
        if self._gateway is not None:
            await self._gateway.aclose()
        if self._beside is not None:
            await self._beside.stop()
            self._beside = None
        for connector in self.connectors.values():
            with contextlib.suppress(Exception):
                await connector.stop()
        await self.publisher.stop()
        for stop in reversed(self._started):
            await asyncio.to_thread(stop)
        self._started = []

    # -- the simulation ------------------------------------------------------------------------

    def schedule_wins(self, deals: Iterable[ClosedWon]) -> int:
        """The CRM tells of each deal's win when the simulated clock reaches `occurred_at`."""
        count = 0
        for deal in deals:
            self.won_at[deal.deal_id] = deal.envelope.occurred_at
            self.timelines["crm"].schedule(deal.envelope.occurred_at, deal.deal_id, deal)
            count += 1
        return count

    async def react(
        self, target: str, command: Command, replies: Sequence[Event], *, answered: bool
    ) -> None:
        """What the platform's people do once the command's effect is there (once per key)."""
        key = command.header.idempotency_key
        if key in self._seen:
            self.redelivered[target] += 1
            return
        reaction = self.behaviours[target].handle(self.ids.to_sim(command), self.clock())
        self._learn(reaction.now, replies)
        if not answered:  # no connector for it on this platform: the simulation answers
            for event in reaction.now:
                await self._publish_canonical(target, event)
        for tag in reaction.cancel_tags:
            self.timelines[target].cancel(tag)
        for due, tag, event in reaction.later:
            self.timelines[target].schedule(due, tag, event)
        self._seen.add(key)
        self.handled[target][command.header.command_type] += 1

    def _learn(self, simulated: Sequence[Event], replies: Sequence[Event]) -> None:
        for sim, reply in zip(simulated, replies, strict=False):
            if isinstance(sim, ProjectCreated) and isinstance(reply, ProjectCreated):
                self.ids.learn(sim.project_id, reply.project_id)
            elif isinstance(sim, InvoiceIssued) and isinstance(reply, InvoiceIssued):
                self.ids.learn(sim.invoice.invoice_id, reply.invoice.invoice_id)

    def invoice_of(self, sim_invoice_id: str) -> tuple[str, Invoice] | None:
        """(deal id, invoice) of an invoice the simulated billing issued."""
        record = self.billing_behaviour.invoices.get(sim_invoice_id)
        return None if record is None else (record.deal_id, record.invoice)

    async def _send_due(self) -> None:
        while not self._stopping.is_set():
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=TICK_S)
            now = self.clock()
            for target, timeline in self.timelines.items():
                for tag, event in timeline.pop_due(now):
                    try:
                        await self._send(target, event)
                    except Exception as exc:  # the gateway or Kafka hiccuped: next tick
                        log.warning("%s: sending %s failed: %s", target, event.EVENT_TYPE, exc)
                        timeline.schedule(now, tag, event)

    async def _send(self, target: str, event: Event) -> None:
        native = self.formats[target].encode(event)
        if native is None:
            await self._publish_canonical(target, event)
            return
        assert self._gateway is not None  # started before any event is due
        await self._gateway.post(native)
        self.native_sent[target] += 1

    async def _publish_canonical(self, target: str, event: Event) -> None:
        # As the platform would tell it: the engine knows its records by the platform's ids.
        await self.publisher.publish(self.ids.to_platform(event))
        self.canonical_sent[target] += 1

    # -- what happened -------------------------------------------------------------------------

    def snapshot(self) -> PlatformsSnapshot:
        return PlatformsSnapshot(
            commands_by_target={t: Counter(c) for t, c in self.handled.items()},
            duplicates_suppressed={t: self.redelivered[t] for t in self.behaviours},
            events_published=self.native_sent + self.canonical_sent,
            transient_failures={
                t: self.runners[t].counts.retried if t in self.runners else 0
                for t in self.behaviours
            },
            in_outage=dict.fromkeys(self.behaviours, False),
            outage_seconds=dict.fromkeys(self.behaviours, 0.0),
        )

    def stats(self) -> list[PlatformStats]:
        """Per chosen platform: requests, effects, duplicates prevented, rate-limit waits."""
        out: list[PlatformStats] = []
        for target, platform in self.choice.by_target.items():
            emulator = self.emulators.emulators[platform]
            replayed = getattr(emulator, "replayed", 0)
            note = self.emulators.stripe_note if target == "billing" else ""
            if platform == "certinia" and emulator is self.emulators.emulators.get("salesforce"):
                note = "same Salesforce org as the CRM: requests and effects counted there too"
            counts, repeated = effect_summary(emulator.effects.all())
            out.append(
                PlatformStats(
                    platform=platform,
                    role=target,
                    requests=emulator.requests,
                    effects=len(emulator.effects.all()),
                    duplicates_prevented=self.redelivered[target] + replayed,
                    rate_limit_waits=int(
                        _rate_limit_waits(platform) - self._waits_before.get(platform, 0.0)
                    ),
                    native_events=self.native_sent[target],
                    canonical_events=self.canonical_sent[target],
                    note=note,
                    effect_counts=counts,
                    repeated_creates=repeated,
                )
            )
        return out


def _rate_limit_waits(platform: str) -> float:
    return REGISTRY.get_sample_value(RATE_LIMIT_WAITS, {"platform": platform}) or 0.0
