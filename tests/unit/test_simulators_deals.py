"""The deal generator: valid ClosedWon models, realistic variety, an exact share of bad data."""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest

from engine.contracts import BillingModel, ClosedWon
from engine.masterdata.table import MasterData
from engine.masterdata.validation import validate_account
from engine.simulators.deals import DealConfig, Flaw, generate_deals

START = date(2026, 3, 2)


def _master(book_records: tuple[object, ...]) -> MasterData:
    data = MasterData()
    for record in book_records:
        data.apply(record)
    return data


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_deal_validates_as_closed_won(seed: int) -> None:
    book = generate_deals(120, seed=seed, start=START)
    assert len(book.deals) == 120
    for deal in book.deals:
        again = ClosedWon.model_validate(deal.closed_won.model_dump())
        assert again == deal.closed_won
    assert len({d.deal_id for d in book.deals}) == 120


def test_contracts_follow_their_billing_model() -> None:
    book = generate_deals(200, seed=5, start=START)
    models = Counter(d.billing_model for d in book.deals)
    assert models[BillingModel.MILESTONE] > 50 and models[BillingModel.TIME_AND_MATERIALS] > 50
    for deal in book.deals:
        contract = deal.closed_won.contract
        assert contract.start_date == START
        if contract.billing_model is BillingModel.MILESTONE:
            assert 2 <= len(contract.milestones) <= 4
            assert sum(m.amount.amount for m in contract.milestones) == contract.total_value.amount
            assert contract.milestones[-1].due_date == contract.end_date
            dues = [m.due_date for m in contract.milestones]
            assert dues == sorted(dues)
        else:
            assert contract.rate_card is not None
            assert 2 <= len(contract.rate_card.rates) <= 3
            assert contract.billing_period_days in (14, 30)
            assert not contract.milestones


def test_deals_vary_in_currency_and_legal_entity() -> None:
    book = generate_deals(200, seed=9, start=START)
    currencies = {d.closed_won.contract.currency for d in book.deals}
    entities = {d.closed_won.account.legal_entity for d in book.deals}
    assert {"USD", "EUR", "GBP"} <= currencies
    assert len(entities) >= 5


@pytest.mark.parametrize(("count", "fraction"), [(200, 0.1), (37, 0.25), (12, 0.0), (10, 1.0)])
def test_exact_fraction_is_bad_and_the_validator_rejects_exactly_those(
    count: int, fraction: float
) -> None:
    book = generate_deals(count, seed=11, start=START, config=DealConfig(bad_fraction=fraction))
    data = _master(book.master_records)
    bad = [d for d in book.deals if d.flaw is not None]
    assert len(bad) == round(count * fraction)
    assert set(book.flaws) == {d.deal_id for d in bad}
    for deal in book.deals:
        won = deal.closed_won
        verdict = validate_account(won.account, won.contract.currency, data)
        assert verdict.ok is (deal.flaw is None), (deal.deal_id, deal.flaw, verdict.reason)


def test_bad_deals_cover_every_kind_of_flaw_with_the_matching_reason() -> None:
    book = generate_deals(80, seed=4, start=START, config=DealConfig(bad_fraction=0.2))
    data = _master(book.master_records)
    expected_words = {
        Flaw.UNKNOWN_ACCOUNT: "not in master data",
        Flaw.INACTIVE_LEGAL_ENTITY: "inactive",
        Flaw.UNSUPPORTED_CURRENCY: "does not bill in",
        Flaw.MISSING_TAX_REGISTRATION: "tax registration",
    }
    seen = Counter(d.flaw for d in book.deals if d.flaw)
    assert set(seen) == set(Flaw)
    for deal in book.deals:
        if deal.flaw is None:
            continue
        won = deal.closed_won
        reason = validate_account(won.account, won.contract.currency, data).reason or ""
        assert expected_words[deal.flaw] in reason


def test_same_seed_same_book_different_seed_different_book() -> None:
    a = generate_deals(30, seed=21, start=START)
    b = generate_deals(30, seed=21, start=START)
    c = generate_deals(30, seed=22, start=START)
    assert a == b
    assert a.deals != c.deals


def test_id_prefix_applies_to_deals_and_accounts() -> None:
    book = generate_deals(5, seed=1, start=START, config=DealConfig(id_prefix="run7-"))
    assert all(d.deal_id.startswith("run7-") for d in book.deals)
    assert all(a.account.account_id.startswith("run7-") for a in book.accounts)


def test_config_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        DealConfig(bad_fraction=1.5)
    with pytest.raises(ValueError):
        DealConfig(term_days=(10, 5))
    with pytest.raises(ValueError):
        generate_deals(-1, seed=1, start=START)
