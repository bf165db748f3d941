"""Business observations from a saga's data before and after a step (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

Observation = tuple[str, float]  # (cycle name, seconds)


def _seconds(start: Any, end: Any) -> float | None:
    if isinstance(start, datetime) and isinstance(end, datetime):
        return max(0.0, (end - start).total_seconds())
    return None


def cycle_observations(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[Observation]:
    """Cycle times completed by this step: each is observed once, when its end appears."""
    out: list[Observation] = []

    def newly(name: str, start: Any, end_key: str) -> None:
        if before.get(end_key) is None and after.get(end_key) is not None:
            seconds = _seconds(start, after[end_key])
            if seconds is not None:
                out.append((name, seconds))

    newly("closed_won_to_activation", after.get("closed_won_at"), "activated_at")
    newly("activation_to_billing_ready", after.get("activated_at"), "billing_ready_at")

    old_invoices = before.get("invoices", {})
    completed = after.get("milestones_completed_at", {})
    invoiced = after.get("invoiced_milestones", {})
    by_reference = {ref: mid for mid, ref in invoiced.items()}
    for invoice_id, invoice in after.get("invoices", {}).items():
        old = old_invoices.get(invoice_id)
        if old is None:
            milestone = by_reference.get(invoice.get("reference"))
            seconds = _seconds(completed.get(milestone), invoice.get("issued_at"))
            if seconds is not None:
                out.append(("milestone_to_invoice", seconds))
        if invoice.get("paid_at") is not None and (old is None or old.get("paid_at") is None):
            seconds = _seconds(invoice.get("issued_at"), invoice["paid_at"])
            if seconds is not None:
                out.append(("invoice_to_payment", seconds))
    return out


def sla_breaches(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    """Kinds of deadline newly missed in this step."""
    kinds = []
    if after.get("sla_breached") and not before.get("sla_breached"):
        kinds.append("activation")
    if len(after.get("dunned", ())) > len(before.get("dunned", ())):
        kinds.append("payment")
    return kinds
