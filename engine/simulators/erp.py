"""The simulated ERP/PSA: projects, their activation, milestones, approved time and expenses.

create-project answers project-created at once, then plans the project's life on the
simulated clock: activation a few hours after the deal was won (a slow tail takes days),
each milestone completed around its due date,
and for time-and-materials contracts time entries and expenses approved within every billing
period (so each period's invoice sees them). close-project drops what is still planned;
recognize-revenue is recorded.

The plan is drawn from a random stream of its own per deal and anchored at the moment the
deal was won (when `won_at` knows it), not at the moment the command happened to arrive: the
same seed plans the same project however fast the engine ran.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from engine.contracts import (
    BillingModel,
    CloseProject,
    Command,
    Contract,
    CreateProject,
    Event,
    Expense,
    ExpenseApproved,
    MilestoneCompleted,
    Money,
    ProjectActivated,
    ProjectCreated,
    RecognizeRevenue,
    Resource,
    TimeEntry,
    TimeEntryApproved,
)
from engine.simulators.behaviour import EventStamper, IdSequence, Reaction
from engine.simulators.reference import (
    CONSULTANT_NAMES,
    CURRENCY_FACTORS,
    EXPENSE_CATEGORIES,
    ZERO_DECIMAL_CURRENCIES,
)

SOURCE_SYSTEM = "netsuite"
HOURS = ("2", "4", "6", "7.5", "8")


@dataclass(frozen=True)
class ErpConfig:
    """ERP timing, in simulated hours: activation delay after the deal was won.

    A `slow_fraction` of projects waits `slow_activation_hours` instead (no project manager
    free): the tail that breaches the activation SLA.
    """

    activation_hours: tuple[float, float] = (2.0, 36.0)
    slow_fraction: float = 0.0
    slow_activation_hours: tuple[float, float] = (60.0, 120.0)
    expense_probability: float = 0.5
    entries_per_role_per_period: tuple[int, int] = (1, 3)


@dataclass
class ProjectRecord:
    project_id: str
    deal_id: str
    contract: Contract
    created_at: datetime
    activated_at: datetime
    closed: bool = False
    close_reason: str | None = None


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


class ErpBehaviour:
    """Consumes `q2c.commands.erp`: create-project, close-project, recognize-revenue."""

    target = "erp"

    def __init__(
        self,
        rng: random.Random,
        *,
        id_prefix: str = "",
        correlate_fraction: float = 0.8,
        config: ErpConfig | None = None,
        won_at: Callable[[str], datetime | None] | None = None,
    ) -> None:
        self.rng = rng
        self.config = config or ErpConfig()
        self.stamp = EventStamper(SOURCE_SYSTEM, rng, correlate_fraction)
        self._plan_seed = rng.getrandbits(64)
        self._won_at = won_at or (lambda _deal_id: None)
        self._project_ids = IdSequence(id_prefix, "PRJ")
        self._id_prefix = id_prefix
        self.projects: dict[str, ProjectRecord] = {}
        self.project_of_deal: dict[str, str] = {}
        self.revenue: dict[str, list[tuple[str | None, Money]]] = {}
        # When each (deal, milestone) is planned to complete: billing invoices from it.
        self.milestone_done_at: dict[tuple[str, str], datetime] = {}
        self.ignored = 0

    def plan_rng(self, deal_id: str) -> random.Random:
        """The deal's own random stream (run prefix stripped: equal across runs)."""
        return random.Random(f"{self._plan_seed}:{deal_id.removeprefix(self._id_prefix)}")

    def handle(self, command: Command, now: datetime) -> Reaction:
        if isinstance(command, CreateProject):
            return self._create(command, now)
        if isinstance(command, CloseProject):
            project = self.projects.get(command.project_id)
            if project is not None:
                project.closed = True
                project.close_reason = command.reason
            return Reaction(cancel_tags=[command.project_id])
        if isinstance(command, RecognizeRevenue):
            self.revenue.setdefault(command.deal_id, []).append(
                (command.milestone_id, command.amount)
            )
            return Reaction()
        self.ignored += 1
        return Reaction()

    # -- create-project ---------------------------------------------------------------------

    def _create(self, command: CreateProject, now: datetime) -> Reaction:
        deal_id = command.deal_id
        project_id = self._project_ids()
        rng = self.plan_rng(deal_id)
        slow = rng.random() < self.config.slow_fraction
        hours = rng.uniform(
            *(self.config.slow_activation_hours if slow else self.config.activation_hours)
        )
        anchor = self._won_at(deal_id) or now
        activated_at = anchor + timedelta(hours=hours)
        project = ProjectRecord(project_id, deal_id, command.contract, anchor, activated_at)
        self.projects[project_id] = project
        self.project_of_deal[deal_id] = project_id
        ids = {"project_id": project_id}
        created = ProjectCreated(
            envelope=self.stamp.envelope(
                "project-created",
                occurred_at=anchor,
                identity=f"{project_id}:created",
                deal_id=deal_id,
                source_ids=ids,
                causation_id=command.header.command_id,
            ),
            deal_id=deal_id,
            project_id=project_id,
        )
        activated = ProjectActivated(
            envelope=self.stamp.envelope(
                "project-activated",
                occurred_at=activated_at,
                identity=f"{project_id}:activated",
                deal_id=deal_id,
                source_ids=ids,
            ),
            project_id=project_id,
            activated_at=activated_at,
        )
        later: list[tuple[datetime, str, Event]] = [(activated_at, project_id, activated)]
        if command.contract.billing_model is BillingModel.MILESTONE:
            later += self._milestones(project, rng)
        else:
            later += self._time_and_expenses(project, rng)
        return Reaction(now=[created], later=later)

    def _milestones(
        self, project: ProjectRecord, rng: random.Random
    ) -> list[tuple[datetime, str, Event]]:
        out: list[tuple[datetime, str, Event]] = []
        for m in project.contract.milestones:
            # Work finishes during the due day; never before the project is active.
            due = _day_start(m.due_date) + timedelta(hours=rng.uniform(9, 17))
            at = max(due, project.activated_at + timedelta(hours=rng.uniform(1, 6)))
            self.milestone_done_at[(project.deal_id, m.milestone_id)] = at
            event = MilestoneCompleted(
                envelope=self.stamp.envelope(
                    "milestone-completed",
                    occurred_at=at,
                    identity=f"{project.project_id}:milestone:{m.milestone_id}",
                    deal_id=project.deal_id,
                    source_ids={"project_id": project.project_id},
                ),
                project_id=project.project_id,
                milestone_id=m.milestone_id,
                completed_at=at,
            )
            out.append((at, project.project_id, event))
        return out

    def _time_and_expenses(
        self, project: ProjectRecord, rng: random.Random
    ) -> list[tuple[datetime, str, Event]]:
        """Approvals spread over every billing period, each approved a day before it closes.

        Work starts the day after activation; an entry is approved the evening of its work
        day, which is at least a day before its period closes.
        """
        contract = project.contract
        assert contract.rate_card is not None  # a T&M contract always has one
        period_days = contract.billing_period_days
        first_day = max(contract.start_date, project.activated_at.date() + timedelta(days=1))
        team = {
            rate.role: Resource(
                resource_id=f"{self._id_prefix}RES-{project.project_id}-{i + 1}",
                name=rng.choice(CONSULTANT_NAMES),
                role=rate.role,
            )
            for i, rate in enumerate(contract.rate_card.rates)
        }
        out: list[tuple[datetime, str, Event]] = []
        seq = 0
        period = 0
        while True:
            p_start = contract.start_date + timedelta(days=period * period_days)
            if p_start > contract.end_date:
                break
            p_end = min(contract.end_date, p_start + timedelta(days=period_days - 1))
            low = max(p_start, first_day)
            high = max(low, p_end - timedelta(days=2))
            period += 1
            if low > p_end:
                continue  # the project was not active yet in this period
            for role, resource in team.items():
                for _ in range(rng.randint(*self.config.entries_per_role_per_period)):
                    seq += 1
                    day = low + timedelta(days=rng.randint(0, (high - low).days))
                    out.append(self._time_entry(project, resource, day, seq, role, rng))
            if rng.random() < self.config.expense_probability:
                seq += 1
                day = low + timedelta(days=rng.randint(0, (high - low).days))
                out.append(self._expense(project, next(iter(team.values())), day, seq, rng))
        return out

    def _time_entry(
        self,
        project: ProjectRecord,
        resource: Resource,
        day: date,
        seq: int,
        role: str,
        rng: random.Random,
    ) -> tuple[datetime, str, Event]:
        at = _day_start(day) + timedelta(hours=18)
        entry_id = f"{project.project_id}-TE-{seq:04d}"
        event = TimeEntryApproved(
            envelope=self.stamp.envelope(
                "time-entry-approved",
                occurred_at=at,
                identity=entry_id,
                deal_id=project.deal_id,
                source_ids={"project_id": project.project_id, "entry_id": entry_id},
            ),
            project_id=project.project_id,
            entry=TimeEntry(
                entry_id=entry_id,
                resource=resource,
                work_date=day,
                hours=Decimal(rng.choice(HOURS)),
                description=f"{role} work on {project.contract.contract_id}",
            ),
        )
        return at, project.project_id, event

    def _expense(
        self,
        project: ProjectRecord,
        resource: Resource,
        day: date,
        seq: int,
        rng: random.Random,
    ) -> tuple[datetime, str, Event]:
        at = _day_start(day) + timedelta(hours=19)
        currency = project.contract.currency
        step = Decimal(1) if currency in ZERO_DECIMAL_CURRENCIES else Decimal("0.01")
        usd = Decimal(rng.randrange(40, 1200))
        amount = (usd * CURRENCY_FACTORS.get(currency, Decimal(1))).quantize(step)
        expense_id = f"{project.project_id}-EX-{seq:04d}"
        event = ExpenseApproved(
            envelope=self.stamp.envelope(
                "expense-approved",
                occurred_at=at,
                identity=expense_id,
                deal_id=project.deal_id,
                source_ids={"project_id": project.project_id, "expense_id": expense_id},
            ),
            project_id=project.project_id,
            expense=Expense(
                expense_id=expense_id,
                resource_id=resource.resource_id,
                expense_date=day,
                category=rng.choice(EXPENSE_CATEGORIES),
                amount=Money(amount=amount, currency=currency),
            ),
        )
        return at, project.project_id, event
