"""Relative dates in event files (pure): `@now`, `@now+2h`, `@today`, `@today+30d`.

`q2c publish` fills them in, so the README's fixtures describe a deal that closes now, with
milestones due in the coming days, instead of dates that are long past (and an SLA that fires
at once). `@now...` becomes an ISO 8601 UTC time, `@today...` an ISO date; the offset is a
signed whole number of days (`d`), hours (`h`) or minutes (`m`).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

_PLACEHOLDER = re.compile(r"@(?P<base>now|today)(?:(?P<sign>[+-])(?P<n>\d+)(?P<unit>[dhm]))?")
_UNITS = {"d": "days", "h": "hours", "m": "minutes"}


class PlaceholderError(ValueError):
    """A string starts like a placeholder but is not one."""


def _value(text: str, now: datetime) -> str:
    match = _PLACEHOLDER.fullmatch(text)
    if match is None:
        raise PlaceholderError(
            f"{text!r} is not a date placeholder (use @now, @today, or an offset such as "
            "@today+30d, @now-2h, @now+15m)"
        )
    offset = timedelta()
    if match["n"]:
        offset = timedelta(**{_UNITS[match["unit"]]: int(match["n"])})
        if match["sign"] == "-":
            offset = -offset
    moment = now + offset
    if match["base"] == "today":
        return moment.date().isoformat()
    return moment.isoformat().replace("+00:00", "Z")


def fill(data: Any, now: datetime) -> Any:
    """`data` (parsed JSON) with every `@now`/`@today` string replaced, relative to `now` (UTC)."""
    if isinstance(data, dict):
        return {k: fill(v, now) for k, v in data.items()}
    if isinstance(data, list):
        return [fill(v, now) for v in data]
    if isinstance(data, str) and data.startswith(("@now", "@today")):
        return _value(data, now)
    return data
