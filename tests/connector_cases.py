"""Platform fixtures as test cases: `tests/fixtures/platforms/<dir>/<name>.<json|xml>`.

A fixture's optional `<name>.request.json` gives the platform (default: the folder name), the
route and the HTTP headers; `<name>.expected.json` is its golden translation. A fixture whose
mapping reads back has `<name>.readback.json`, what the platform answers (read-back name ->
record or list of records, field names as its API documents them), and
`<name>.readback.expected.json`, its golden translation once enriched with them. Regenerate the
golden files after a deliberate mapping change with `Q2C_REGEN_GOLDEN=1 pytest ...`, then
review the diff.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from engine.connectors.protocol import NativeRequest, Unmapped
from engine.connectors.registry import CONNECTORS
from engine.contracts.events import Event

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "platforms"
RECEIVED_AT = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
SIDE_FILES = (".request.json", ".expected.json", ".headers.json", ".readback.json")
# Fixture folders whose events arrive through another platform's connector.
FOLDER_PLATFORM = {"certinia": "salesforce"}


@dataclass(frozen=True)
class Case:
    name: str
    body_path: Path
    platform: str
    route: str
    headers: dict[str, str]

    @property
    def golden_path(self) -> Path:
        return self.body_path.with_name(_stem(self.body_path) + ".expected.json")

    @property
    def readback_path(self) -> Path:
        """What the platform answers this fixture's read-backs (may not exist)."""
        return self.body_path.with_name(_stem(self.body_path) + ".readback.json")

    @property
    def enriched_golden_path(self) -> Path:
        return self.body_path.with_name(_stem(self.body_path) + ".readback.expected.json")

    def read_back(self) -> dict[str, Any]:
        """The read-back results of this fixture, numbers exact (as the readers parse them)."""
        found = json.loads(self.readback_path.read_text(), parse_float=Decimal)
        return {name: value for name, value in found.items() if name != "_source"}

    def request(self, body: bytes | None = None) -> NativeRequest:
        return NativeRequest(
            platform=self.platform,
            route=self.route,
            body=self.body_path.read_bytes() if body is None else body,
            headers=self.headers,
            received_at=RECEIVED_AT,
            tenant="default",
        )


def _stem(path: Path) -> str:
    return path.name.rsplit(".", 1)[0]


def all_cases() -> list[Case]:
    cases = []
    for folder in sorted(p for p in FIXTURES.iterdir() if p.is_dir()):
        for body in sorted(folder.iterdir()):
            if body.name.endswith(SIDE_FILES) or body.suffix not in (".json", ".xml"):
                continue
            name = _stem(body)
            side = folder / f"{name}.request.json"
            meta: dict[str, Any] = json.loads(side.read_text()) if side.exists() else {}
            content_type = "application/xml" if body.suffix == ".xml" else "application/json"
            headers = {"content-type": content_type, **meta.get("headers", {})}
            platform = meta.get("platform", FOLDER_PLATFORM.get(folder.name, folder.name))
            route = meta.get("route", CONNECTORS[platform].routes[0].path)
            cases.append(Case(f"{folder.name}/{name}", body, platform, route, headers))
    return cases


def rendered(result: list[Event] | Unmapped) -> dict[str, Any]:
    if isinstance(result, Unmapped):
        return {"unmapped": {"reason": result.reason, "field_path": result.field_path}}
    return {"events": [json.loads(e.model_dump_json()) for e in result]}


def golden(case: Case, actual: dict[str, Any], path: Path | None = None) -> dict[str, Any]:
    """The golden translation (written from `actual` when Q2C_REGEN_GOLDEN=1); `path`
    another golden file of the case (its enriched translation)."""
    path = path or case.golden_path
    if os.environ.get("Q2C_REGEN_GOLDEN") == "1":
        path.write_text(json.dumps(actual, indent=2, sort_keys=True) + "\n")
    return dict(json.loads(path.read_text()))
