"""The simulated platforms' own ids and the platforms' (emulators') ids for the same records.

The simulated ERP and billing plan a project's or an invoice's life under their own ids; the
record itself was created on the platform by the outbound connector, which answered with the
platform's id. Every event the simulation tells the engine of carries the platform's ids (a
native delivery and a canonical one alike: the engine only ever learnt the platform's);
commands the engine sends (with the platform's ids) are handed to the simulation with its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel

# Wherever they sit: top level (a command's project_id), nested (payment.invoice_id) or
# among an event's source_ids.
FIELDS = frozenset({"project_id", "invoice_id"})
M = TypeVar("M", bound=BaseModel)


class IdMap:
    """Simulated id <-> platform id, learnt from the connectors' replies."""

    def __init__(self) -> None:
        self._to_platform: dict[str, str] = {}
        self._to_sim: dict[str, str] = {}

    def learn(self, sim_id: str, platform_id: str) -> None:
        self._to_platform[sim_id] = platform_id
        self._to_sim[platform_id] = sim_id

    def platform(self, sim_id: str) -> str:
        """The platform's id of a simulated record (itself when not learnt)."""
        return self._to_platform.get(sim_id, sim_id)

    def to_sim(self, model: M) -> M:
        """`model` with its project/invoice ids replaced by the simulation's."""
        return _replaced(model, self._to_sim)

    def to_platform(self, model: M) -> M:
        """`model` with its project/invoice ids replaced by the platform's."""
        return _replaced(model, self._to_platform)


def _replaced(model: M, table: Mapping[str, str]) -> M:
    doc = model.model_dump()
    swapped = _swap(doc, table)
    return type(model).model_validate(swapped) if swapped != doc else model


def _swap(value: Any, table: Mapping[str, str]) -> Any:
    """`value` (a model's dump) with the ids under FIELDS keys looked up in `table`."""
    if isinstance(value, dict):
        return {
            k: table.get(v, v) if k in FIELDS and isinstance(v, str) else _swap(v, table)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return type(value)(_swap(v, table) for v in value)
    return value
