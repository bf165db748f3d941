"""change-order: a contract amendment from CRM updates the project budget and the billing schedule.

Keyed by deal_id. Each amendment (a contract-amended with a new amendment id) sends
update-project-budget to the ERP and update-billing-schedule to billing, once: a re-sent
amendment is recognised by its id. The saga is `amended` after the first one and stays there,
taking later amendments of the same deal.

The newest amendment wins, by when CRM made it (the event's `occurred_at`, then the amendment
id), not by when it arrived: an older amendment arriving after a newer one (a dead letter
replayed, a CRM that re-sends out of order) is recorded but sends nothing, because its total
would overwrite the newer one on both platforms.

This saga is the worked example of the README's "Adding a saga": it was added with this module,
its contracts (`ContractAmended`, `UpdateProjectBudget`, `UpdateBillingSchedule` and their
schemas) and one line in the registry (`engine.sagas`).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TypedDict, TypeVar

from engine.contracts.commands import UpdateBillingSchedule, UpdateProjectBudget
from engine.contracts.events import ContractAmended
from engine.saga import Context, Outcome, SagaDefinition, plain, transition
from engine.saga.hooks import HOUR, SagaHooks, SagaView
from engine.sagas.common import Json

NAME = "change-order"


class ChangeOrderData(TypedDict, total=False):
    """The saga's data (a plain dict at run time: the state codec reads and writes it)."""

    deal_id: str
    project_id: str
    amendments: dict[str, Json]  # amendment id -> the amended total value (Money)
    in_effect: list[Json]  # [CRM time in µs since the epoch, amendment id] of the newest one


E = TypeVar("E")
Ctx = Context[E, ChangeOrderData]


def new_amendment(ctx: Ctx[ContractAmended]) -> bool:
    """An amendment not applied yet (a re-sent one is not a new change)."""
    return ctx.payload.amendment_id not in ctx.data.get("amendments", {})


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _micros(at: datetime) -> int:
    """Exact microseconds since the epoch (a float timestamp would round)."""
    return (at - EPOCH) // timedelta(microseconds=1)


def amend(ctx: Ctx[ContractAmended]) -> Outcome:
    """contract-amended: re-budget the ERP project and re-schedule billing, once per amendment,
    unless a newer amendment is already in effect."""
    p = ctx.payload
    amendment, total = p.amendment_id, plain(p.total_value)
    amendments = {**ctx.data.get("amendments", {}), amendment: total}
    order = [_micros(ctx.event.occurred_at), amendment]
    newest = ctx.data.get("in_effect")
    if newest is not None and tuple(order) < tuple(newest):
        return Outcome(
            data={"amendments": amendments},
            detail=f"amendment {amendment} superseded by the newer {newest[1]}",
        )
    common = {"project_id": p.project_id, "deal_id": ctx.saga_key, "amendment_id": amendment}
    effects = (
        ctx.send(
            UpdateProjectBudget, step=f"change-order:{amendment}:budget", budget=total, **common
        ),
        ctx.send(
            UpdateBillingSchedule,
            step=f"change-order:{amendment}:schedule",
            total_value=total,
            **common,
        ),
    )
    data = {
        "deal_id": ctx.saga_key,
        "project_id": p.project_id,
        "amendments": amendments,
        "in_effect": order,
    }
    return Outcome(effects=effects, data=data, detail=f"amendment {amendment}: {p.reason}")


CHANGE_ORDER = SagaDefinition(
    name=NAME,
    description=(
        "Contract amendment from CRM -> update-project-budget (ERP) and update-billing-schedule "
        "(billing), once per amendment; an older one arriving late is superseded."
    ),
    starts_on=(ContractAmended,),
    states=("pending", "amended"),
    terminal=("amended",),
    transitions=(
        transition("pending", ContractAmended, "amended", amend),
        transition("amended", ContractAmended, "amended", amend, guard=new_amendment),
    ),
)
# Viewers see ids only; no business metrics, exception actions or documents of its own.
CHANGE_ORDER_HOOKS = SagaHooks(
    view=SagaView(
        safe_fields=("deal_id", "project_id", "in_effect"), expected_seconds={"pending": 24 * HOUR}
    )
)
