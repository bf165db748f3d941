"""change-order: a contract amendment from CRM updates the project budget and the billing schedule.

Keyed by deal_id. Each amendment (a contract-amended with a new amendment id) sends
update-project-budget to the ERP and update-billing-schedule to billing, once: a re-sent
amendment is recognised by its id. The saga is `amended` after the first one and stays there,
taking later amendments of the same deal.

This saga is the worked example of the README's "Adding a saga": it was added with this module,
its contracts (`ContractAmended`, `UpdateProjectBudget`, `UpdateBillingSchedule` and their
schemas) and one line in the registry (`engine.sagas`).
"""

from __future__ import annotations

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


E = TypeVar("E")
Ctx = Context[E, ChangeOrderData]


def new_amendment(ctx: Ctx[ContractAmended]) -> bool:
    """An amendment not applied yet (a re-sent one is not a new change)."""
    return ctx.payload.amendment_id not in ctx.data.get("amendments", {})


def amend(ctx: Ctx[ContractAmended]) -> Outcome:
    """contract-amended: re-budget the ERP project and re-schedule billing, once per amendment."""
    p = ctx.payload
    amendment, total = p.amendment_id, plain(p.total_value)
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
    amendments = {**ctx.data.get("amendments", {}), amendment: total}
    data = {"deal_id": ctx.saga_key, "project_id": p.project_id, "amendments": amendments}
    return Outcome(effects=effects, data=data, detail=f"amendment {amendment}: {p.reason}")


CHANGE_ORDER = SagaDefinition(
    name=NAME,
    description=(
        "Contract amendment from CRM -> update-project-budget (ERP) and update-billing-schedule "
        "(billing), once per amendment."
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
    view=SagaView(safe_fields=("deal_id", "project_id"), expected_seconds={"pending": 24 * HOUR})
)
