"""What a CRM holds of a won deal, by neutral name: each CRM's format seeds these values in its
emulator under its own field names (the ones its shipped mapping reads back)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.contracts import BillingModel, ClosedWon, Milestone, Rate

# The values are JSON's types, as the CRMs' REST APIs send them: numbers (currency fields
# too) as numbers, dates as ISO text.


def deal_terms(won: ClosedWon, billing_models: Mapping[BillingModel, str]) -> dict[str, Any]:
    """The opportunity's q2c fields; `billing_models`: the CRM's picklist labels."""
    account, contract = won.account, won.contract
    rate_card = contract.rate_card
    return {
        "deal_id": won.deal_id,
        "account_id": account.account_id,
        "amount": float(contract.total_value.amount),
        "legal_entity": account.legal_entity,
        "billing_model": billing_models[contract.billing_model],
        "payment_terms_days": contract.payment_terms_days,
        "contract_start": contract.start_date.isoformat(),
        "contract_end": contract.end_date.isoformat(),
        "rate_card_id": rate_card.rate_card_id if rate_card else None,
        "billing_period_days": contract.billing_period_days,
        "activation_sla_hours": won.activation_sla_hours,
    }


def milestone_terms(won: ClosedWon, milestone: Milestone) -> dict[str, Any]:
    """One milestone record of the opportunity."""
    return {
        "deal_id": won.deal_id,
        "name": milestone.name,
        "amount": float(milestone.amount.amount),
        "due_date": milestone.due_date.isoformat(),
    }


def rate_terms(won: ClosedWon, rate: Rate) -> dict[str, Any]:
    """One hourly rate record of the opportunity."""
    return {
        "deal_id": won.deal_id,
        "role": rate.role,
        "hourly_rate": float(rate.hourly_rate.amount),
    }


def renamed(terms: Mapping[str, Any], names: Mapping[str, str]) -> dict[str, Any]:
    """`terms` under the CRM's field `names` (every term has one)."""
    return {names[key]: value for key, value in terms.items()}
