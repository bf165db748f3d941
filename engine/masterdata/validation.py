"""Account validation against master data (pure): hierarchy, legal entity, currency, tax."""

from __future__ import annotations

from dataclasses import dataclass

from engine.contracts import Account
from engine.masterdata.table import MasterData


@dataclass(frozen=True)
class Verdict:
    ok: bool
    reason: str | None = None
    legal_entity: str = ""
    tax_registration: str | None = None


def validate_account(account: Account, contract_currency: str, data: MasterData) -> Verdict:
    """Check a deal's account against master data; the first failing rule gives the reason."""
    master = data.accounts.get(account.account_id)
    if master is None:
        return Verdict(False, f"account {account.account_id} is not in master data")
    known = master.account
    parent = known.parent_account_id
    if parent is not None and parent not in data.accounts:
        return Verdict(
            False, f"parent account {parent} of {known.account_id} is not in master data"
        )
    entity_id = known.legal_entity or account.legal_entity
    if not entity_id:
        return Verdict(False, "no legal entity on the account")
    entity = data.legal_entities.get(entity_id)
    if entity is None:
        return Verdict(False, f"legal entity {entity_id} is not in master data")
    if not entity.active:
        return Verdict(False, f"legal entity {entity_id} is inactive")
    if contract_currency not in entity.currencies:
        return Verdict(False, f"legal entity {entity_id} does not bill in {contract_currency}")
    if not known.tax_registration or not master.tax_registration_valid:
        return Verdict(False, f"account {known.account_id} has no valid tax registration")
    return Verdict(True, None, entity_id, known.tax_registration)
