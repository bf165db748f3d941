from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from engine.cli.placeholders import PlaceholderError, fill

NOW = datetime(2026, 12, 1, 23, 30, tzinfo=UTC)


def test_relative_times_and_dates_are_filled_everywhere() -> None:
    data: dict[str, Any] = {
        "envelope": {"occurred_at": "@now", "source_ids": {"x": "@nowhere-else"}},
        "contract": {"start_date": "@today", "milestones": [{"due_date": "@today+30d"}]},
        "earlier": "@now-2h",
        "soon": "@now+15m",
        "plain": "ACC-42",
        "amount": 3,
    }
    with pytest.raises(PlaceholderError, match="@nowhere-else"):
        fill(data, NOW)
    data["envelope"]["source_ids"] = {}
    assert fill(data, NOW) == {
        "envelope": {"occurred_at": "2026-12-01T23:30:00Z", "source_ids": {}},
        "contract": {"start_date": "2026-12-01", "milestones": [{"due_date": "2026-12-31"}]},
        "earlier": "2026-12-01T21:30:00Z",
        "soon": "2026-12-01T23:45:00Z",
        "plain": "ACC-42",
        "amount": 3,
    }


def test_today_offset_crosses_midnight() -> None:
    assert fill("@today+1d", NOW) == "2026-12-02"
    assert fill("@now+1h", NOW) == "2026-12-02T00:30:00Z"
