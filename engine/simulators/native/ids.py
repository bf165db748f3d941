"""The simulated platforms' own ids and the platforms' (emulators') ids for the same records.

The simulated ERP and billing plan a project's or an invoice's life under their own ids; the
record itself was created on the platform by the outbound connector, which answered with the
platform's id. Events the simulation sends carry the platform's ids; commands the engine sends
(with the platform's ids) are handed to the simulation with its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

from pydantic import BaseModel

FIELDS = ("project_id", "invoice_id")
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
        """`model` with its top-level project/invoice ids replaced by the simulation's."""
        return _replaced(model, self._to_sim)


def _replaced(model: M, table: Mapping[str, str]) -> M:
    update = {
        f: table[getattr(model, f)]
        for f in FIELDS
        if isinstance(getattr(model, f, None), str) and getattr(model, f) in table
    }
    return model.model_copy(update=update) if update else model
