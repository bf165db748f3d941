"""A seeded generator of realistic won deals (ClosedWon) and the master data they refer to.

Pure: the same seed, count, start date and config always give the same deals, master data and
ids. A configurable fraction of deals carries bad master data, so they must end in the
quote-to-cash saga's `exception` state instead of being billed.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from engine.contracts import (
    Account,
    AccountMasterUpserted,
    BillingModel,
    ClosedWon,
    Contract,
    Envelope,
    Event,
    LegalEntityUpserted,
    Milestone,
    Money,
    Rate,
    RateCard,
)
from engine.simulators.reference import (
    ACTIVE_ENTITIES,
    ALL_CURRENCIES,
    CURRENCY_FACTORS,
    CUSTOMER_STEMS,
    CUSTOMER_SUFFIXES,
    INACTIVE_ENTITIES,
    LEGAL_ENTITIES,
    MILESTONE_NAMES,
    ROLES,
    ZERO_DECIMAL_CURRENCIES,
    LegalEntitySpec,
)

CRM_SOURCE = "salesforce"
GUID_NAMESPACE = uuid.UUID("0b7e2f4c-1d3a-4e5b-9c6d-7e8f9a0b1c2d")
MDM_SOURCE = "mdm"


class Flaw(StrEnum):
    """Which master-data problem a bad deal has (the account validator must reject it)."""

    UNKNOWN_ACCOUNT = "unknown-account"
    INACTIVE_LEGAL_ENTITY = "inactive-legal-entity"
    UNSUPPORTED_CURRENCY = "unsupported-currency"
    MISSING_TAX_REGISTRATION = "missing-tax-registration"


@dataclass(frozen=True)
class DealConfig:
    """Shape of the generated deals; times are simulated days."""

    bad_fraction: float = 0.1
    milestone_fraction: float = 0.5
    term_days: tuple[int, int] = (28, 84)
    billing_period_days: tuple[int, ...] = (14, 30)
    payment_terms_days: tuple[int, ...] = (15, 30, 45)
    activation_sla_hours: int = 72
    id_prefix: str = ""
    # Deal and account ids as GUIDs (derived from the readable ones), as Dataverse's row ids
    # are: a Dynamics CRM names the deal by its opportunity's id.
    guid_ids: bool = False

    def __post_init__(self) -> None:
        if not 0.0 <= self.bad_fraction <= 1.0:
            raise ValueError("bad_fraction must be in [0, 1]")
        if not 0.0 <= self.milestone_fraction <= 1.0:
            raise ValueError("milestone_fraction must be in [0, 1]")
        low, high = self.term_days
        if not 2 <= low <= high:
            raise ValueError("term_days must be (min, max) with 2 <= min <= max")
        if not self.billing_period_days or min(self.billing_period_days) < 1:
            raise ValueError("billing_period_days must be positive")
        if not self.payment_terms_days or min(self.payment_terms_days) < 1:
            raise ValueError("payment_terms_days must be positive")


@dataclass(frozen=True)
class GeneratedDeal:
    """One won deal and, for a bad one, the master-data flaw it was built with."""

    closed_won: ClosedWon
    flaw: Flaw | None = None

    @property
    def deal_id(self) -> str:
        return self.closed_won.deal_id

    @property
    def billing_model(self) -> BillingModel:
        return self.closed_won.contract.billing_model


@dataclass(frozen=True)
class DealBook:
    """Generated deals plus the master data (legal entities, accounts) to seed first."""

    deals: tuple[GeneratedDeal, ...]
    legal_entities: tuple[LegalEntityUpserted, ...]
    accounts: tuple[AccountMasterUpserted, ...]
    flaws: dict[str, Flaw] = field(default_factory=dict)

    @property
    def master_records(self) -> tuple[Event, ...]:
        """Legal entities first: an account may name one."""
        return (*self.legal_entities, *self.accounts)

    def deal(self, deal_id: str) -> GeneratedDeal:
        return next(d for d in self.deals if d.deal_id == deal_id)


def generate_deals(
    count: int,
    *,
    seed: int,
    start: date,
    config: DealConfig | None = None,
    won_at: datetime | None = None,
) -> DealBook:
    """`count` won deals starting on `start`, exactly round(count * bad_fraction) of them bad.

    `won_at` stamps the closed-won envelopes (default: midnight UTC of `start`); the simulated
    CRM re-stamps each with its clock when it publishes the deal.
    """
    if count < 0:
        raise ValueError("count must not be negative")
    return _Generator(random.Random(seed), config or DealConfig(), start, won_at).book(count)


class _Generator:
    def __init__(
        self, rng: random.Random, config: DealConfig, start: date, won_at: datetime | None
    ) -> None:
        self.rng = rng
        self.config = config
        self.start = start
        self.won_at = won_at or datetime.combine(start, time.min, tzinfo=UTC)
        self.prefix = config.id_prefix
        self.accounts: list[AccountMasterUpserted] = []
        self._account_seq = 0

    # -- ids and envelopes --------------------------------------------------------------------

    def _uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def _id(self, readable: str) -> str:
        """A record id: `readable`, or a GUID derived from it (`DealConfig.guid_ids`)."""
        return str(uuid.uuid5(GUID_NAMESPACE, readable)) if self.config.guid_ids else readable

    def _envelope(self, event_type: str, source: str, ids: dict[str, str]) -> Envelope:
        return Envelope(
            event_id=self._uuid(),
            event_type=event_type,
            occurred_at=self.won_at,
            source_system=source,
            schema_version=1,
            source_ids=ids,
        )

    # -- master data --------------------------------------------------------------------------

    def _legal_entity(self, spec: LegalEntitySpec) -> LegalEntityUpserted:
        return LegalEntityUpserted(
            envelope=self._envelope(
                "legal-entity-upserted", MDM_SOURCE, {"legal_entity_id": spec.legal_entity_id}
            ),
            legal_entity_id=spec.legal_entity_id,
            name=spec.name,
            country=spec.country,
            currencies=spec.currencies,
            active=spec.active,
        )

    def _new_account(
        self,
        entity: LegalEntitySpec,
        *,
        parent: Account | None = None,
        tax: bool = True,
        id_infix: str = "ACC",
    ) -> Account:
        self._account_seq += 1
        stem = parent.name.split(" ")[0] if parent else self.rng.choice(CUSTOMER_STEMS)
        name = f"{stem} {self.rng.choice(CUSTOMER_SUFFIXES)}"
        if parent is not None:
            name = f"{name} {entity.country}"
        return Account(
            account_id=self._id(f"{self.prefix}{id_infix}-{self._account_seq:05d}"),
            name=name,
            parent_account_id=parent.account_id if parent else None,
            legal_entity=entity.legal_entity_id,
            country=entity.country,
            currency=entity.currencies[0],
            tax_registration=f"{entity.country}{self.rng.randrange(10**8, 10**9)}" if tax else None,
        )

    def _master(self, account: Account, *, tax_valid: bool = True) -> Account:
        self.accounts.append(
            AccountMasterUpserted(
                envelope=self._envelope(
                    "account-master-upserted", MDM_SOURCE, {"account_id": account.account_id}
                ),
                account=account,
                tax_registration_valid=tax_valid,
            )
        )
        return account

    def _customer_pool(self, size: int) -> list[Account]:
        """Good customers in master data; about a third are subsidiaries of another one."""
        parents: list[Account] = []
        pool: list[Account] = []
        for i in range(size):
            entity = self.rng.choice(ACTIVE_ENTITIES)
            if parents and i % 3 == 2:
                account = self._new_account(entity, parent=self.rng.choice(parents))
            else:
                account = self._new_account(entity)
                parents.append(account)
            pool.append(self._master(account))
        return pool

    # -- money --------------------------------------------------------------------------------

    def _amount(self, usd: Decimal, currency: str) -> Decimal:
        step = Decimal(1) if currency in ZERO_DECIMAL_CURRENCIES else Decimal("0.01")
        return (usd * CURRENCY_FACTORS[currency]).quantize(step, rounding=ROUND_HALF_UP)

    # -- contracts ----------------------------------------------------------------------------

    def _contract(self, deal_id: str, currency: str, milestone: bool) -> Contract:
        term = self.rng.randint(*self.config.term_days)
        start = self.start
        end = start + timedelta(days=term - 1)
        terms = self.rng.choice(self.config.payment_terms_days)
        period = self.rng.choice(self.config.billing_period_days)
        contract_id = f"{deal_id}-C"
        if milestone:
            total = self._amount(Decimal(self.rng.randrange(20_000, 400_000, 500)), currency)
            milestones = self._milestones(deal_id, currency, total, start, end, term)
            return Contract(
                contract_id=contract_id,
                billing_model=BillingModel.MILESTONE,
                currency=currency,
                total_value=Money(amount=total, currency=currency),
                payment_terms_days=terms,
                start_date=start,
                end_date=end,
                milestones=milestones,
                billing_period_days=period,
            )
        roles = self.rng.sample(ROLES, self.rng.randint(2, 3))
        rates = tuple(
            Rate(
                role=role, hourly_rate=Money(amount=self._amount(usd, currency), currency=currency)
            )
            for role, usd in roles
        )
        # Budget: every role about half-time over the term.
        budget = sum((r.hourly_rate.amount for r in rates), Decimal(0)) * 4 * term
        return Contract(
            contract_id=contract_id,
            billing_model=BillingModel.TIME_AND_MATERIALS,
            currency=currency,
            total_value=Money(amount=budget, currency=currency),
            payment_terms_days=terms,
            start_date=start,
            end_date=end,
            milestones=(),
            rate_card=RateCard(rate_card_id=f"{deal_id}-RC", currency=currency, rates=rates),
            billing_period_days=period,
        )

    def _milestones(
        self, deal_id: str, currency: str, total: Decimal, start: date, end: date, term: int
    ) -> tuple[Milestone, ...]:
        k = self.rng.randint(2, 4)
        names = [
            MILESTONE_NAMES[i] for i in sorted(self.rng.sample(range(len(MILESTONE_NAMES)), k))
        ]
        weights = [Decimal(str(round(self.rng.uniform(1, 3), 3))) for _ in range(k)]
        step = Decimal(1) if currency in ZERO_DECIMAL_CURRENCIES else Decimal("0.01")
        amounts = [(total * w / sum(weights)).quantize(step) for w in weights[:-1]]
        amounts.append(total - sum(amounts, Decimal(0)))  # the last takes the rounding rest
        milestones = []
        for i, (name, amount) in enumerate(zip(names, amounts, strict=True)):
            due = min(end, start + timedelta(days=max(1, round(term * (i + 1) / k)) - 1))
            milestones.append(
                Milestone(
                    milestone_id=f"{deal_id}-M{i + 1}",
                    name=name,
                    amount=Money(amount=amount, currency=currency),
                    due_date=end if i == k - 1 else due,
                )
            )
        return tuple(milestones)

    # -- deals --------------------------------------------------------------------------------

    def _flawed_account(self, flaw: Flaw, pool: list[Account]) -> tuple[Account, str]:
        """An account with `flaw`, and the contract currency to use with it."""
        if flaw is Flaw.UNKNOWN_ACCOUNT:
            entity = self.rng.choice(ACTIVE_ENTITIES)
            account = self._new_account(entity, id_infix="ACC-NEW")  # never seeded
            return account, self.rng.choice(entity.currencies)
        if flaw is Flaw.INACTIVE_LEGAL_ENTITY:
            entity = self.rng.choice(INACTIVE_ENTITIES)
            return self._master(self._new_account(entity)), entity.currencies[0]
        if flaw is Flaw.UNSUPPORTED_CURRENCY:
            account = self.rng.choice(pool)
            billed = _entity(account.legal_entity).currencies
            return account, self.rng.choice([c for c in ALL_CURRENCIES if c not in billed])
        entity = self.rng.choice(ACTIVE_ENTITIES)
        account = self._master(self._new_account(entity, tax=False), tax_valid=False)
        return account, self.rng.choice(entity.currencies)

    def book(self, count: int) -> DealBook:
        entities = tuple(self._legal_entity(spec) for spec in LEGAL_ENTITIES)
        pool = self._customer_pool(max(4, count // 3))
        bad = round(count * self.config.bad_fraction)
        bad_indexes = set(self.rng.sample(range(count), bad))
        kinds = list(Flaw)
        deals: list[GeneratedDeal] = []
        for i in range(count):
            deal_id = self._id(f"{self.prefix}D-{i + 1:05d}")
            flaw: Flaw | None = None
            if i in bad_indexes:
                flaw = kinds[len([d for d in deals if d.flaw]) % len(kinds)]
                account, currency = self._flawed_account(flaw, pool)
            else:
                account = self.rng.choice(pool)
                currency = self.rng.choice(_entity(account.legal_entity).currencies)
            milestone = self.rng.random() < self.config.milestone_fraction
            contract = self._contract(deal_id, currency, milestone)
            won = ClosedWon(
                envelope=self._envelope("closed-won", CRM_SOURCE, {"opportunity_id": deal_id}),
                deal_id=deal_id,
                account=account,
                contract=contract,
                activation_sla_hours=self.config.activation_sla_hours,
            )
            deals.append(GeneratedDeal(won, flaw))
        flaws = {d.deal_id: d.flaw for d in deals if d.flaw is not None}
        return DealBook(tuple(deals), entities, tuple(self.accounts), flaws)


def _entity(legal_entity_id: str | None) -> LegalEntitySpec:
    return next(e for e in LEGAL_ENTITIES if e.legal_entity_id == legal_entity_id)
