"""Value conversions of the mapping engine (pure): money without floats, dates, time zones.

Every converter raises `ValueProblem` (a message without the value, which may be personal or
commercial data) instead of letting a library error out.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from engine.contracts.currencies import minor_unit_exponent

# WCF's DataContractJsonSerializer writes DateTime as "/Date(<ms>[+-hhmm])/" (Dataverse
# RemoteExecutionContext).
_WCF_DATE = re.compile(r"^/Date\((-?\d+)([+-]\d{4})?\)/$")


class ValueProblem(ValueError):
    """A native value cannot be converted; the message never quotes the value."""


def to_string(value: Any, tz: str | None = None) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | Decimal):
        return str(value)
    raise ValueProblem(f"expected text, got {type(value).__name__}")


def to_decimal(value: Any, tz: str | None = None) -> Decimal:
    if isinstance(value, (bool, float)):
        # Floats never reach here from JSON (parsed with parse_float=Decimal): refuse rather
        # than round.
        raise ValueProblem(f"expected a decimal number, got {type(value).__name__}")
    if isinstance(value, Decimal | int):
        return Decimal(value)
    if isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except InvalidOperation:
            raise ValueProblem("not a decimal number") from None
        if not result.is_finite():
            raise ValueProblem("not a finite decimal number")
        return result
    raise ValueProblem(f"expected a decimal number, got {type(value).__name__}")


def to_integer(value: Any, tz: str | None = None) -> int:
    number = to_decimal(value)
    if number != number.to_integral_value():
        raise ValueProblem("expected a whole number")
    return int(number)


def to_boolean(value: Any, tz: str | None = None) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false", "1", "0"):
        return value.strip().lower() in ("true", "1")
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise ValueProblem("expected true or false")


def _zone(tz: str | None) -> Any:
    return UTC if tz is None else ZoneInfo(tz)


def to_datetime(value: Any, tz: str | None = None) -> datetime:
    """ISO 8601 (a `Z` or offset wins; a naive time is in `tz`, UTC if none) or `/Date(ms)/`."""
    if not isinstance(value, str):
        raise ValueProblem(f"expected a date-time text, got {type(value).__name__}")
    wcf = _WCF_DATE.match(value.strip())
    if wcf:
        # The milliseconds are UTC; the optional offset only says how it was displayed.
        return datetime.fromtimestamp(int(wcf.group(1)) / 1000, UTC)
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueProblem("not an ISO 8601 date-time") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=_zone(tz))
    return parsed.astimezone(UTC)


def to_date(value: Any, tz: str | None = None) -> date:
    """`YYYY-MM-DD`, or the calendar date of a date-time in `tz` (UTC if none)."""
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            raise ValueProblem("not a calendar date") from None
    return to_datetime(value, tz).astimezone(_zone(tz)).date()


def _epoch(value: Any, scale: int) -> datetime:
    micros = (to_decimal(value) * 1_000_000 / scale).to_integral_value()
    try:
        return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=int(micros))
    except (OverflowError, ValueError):
        raise ValueProblem("timestamp out of range") from None


def unix_seconds(value: Any, tz: str | None = None) -> datetime:
    return _epoch(value, 1)


def unix_millis(value: Any, tz: str | None = None) -> datetime:
    return _epoch(value, 1000)


def unix_date(value: Any, tz: str | None = None) -> date:
    """The calendar date, in `tz` (UTC if none), of a Unix timestamp in seconds."""
    return _epoch(value, 1).astimezone(_zone(tz)).date()


WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def on_weekday(start: Any, weekday: str) -> date:
    """The date of `weekday` (a day name, any case) in the seven days from `start`: a
    timecard week's day, whichever day the firm's week starts on."""
    if not isinstance(start, date):
        raise ValueProblem(f"expected a date, got {type(start).__name__}")
    name = weekday.strip().lower()
    if name not in WEEKDAYS:
        raise ValueProblem("not a weekday name (monday ... sunday)")
    return start + timedelta(days=(WEEKDAYS.index(name) - start.weekday()) % 7)


def plus_days(start: Any, days: int) -> date:
    """`start` plus `days` days (payment terms: an invoice date plus net days)."""
    if not isinstance(start, date):
        raise ValueProblem(f"expected a date, got {type(start).__name__}")
    try:
        return start + timedelta(days=days)
    except OverflowError:
        raise ValueProblem("date out of range") from None


def number_or_none(value: Any) -> Decimal | None:
    """`value` as a Decimal when it is a number or numeric text, else None (for conditions,
    which compare and never convert for output: a float here is exact enough to compare)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, float):
        return Decimal(str(value))
    try:
        return to_decimal(value)
    except ValueProblem:
        return None


def json_text(value: Any, tz: str | None = None) -> Any:
    """A JSON document carried in a text field (decimals kept exact)."""
    if not isinstance(value, str):
        raise ValueProblem(f"expected JSON text, got {type(value).__name__}")
    try:
        return json.loads(value, parse_float=Decimal)
    except ValueError:
        raise ValueProblem("not valid JSON") from None


def identity(value: Any, tz: str | None = None) -> Any:
    return value


CONVERTERS: dict[str, Callable[[Any, str | None], Any]] = {
    "any": identity,
    "string": to_string,
    "decimal": to_decimal,
    "integer": to_integer,
    "boolean": to_boolean,
    "date": to_date,
    "datetime": to_datetime,
    "unix_seconds": unix_seconds,
    "unix_millis": unix_millis,
    "unix_date": unix_date,
    "json": json_text,
}


def from_minor_units(value: Any, currency: str) -> Decimal:
    """An amount in the currency's smallest unit (cents; Stripe's `*_decimal` fields may have
    fractions of one) as a Decimal in major units."""
    return to_decimal(value).scaleb(-minor_unit_exponent(currency))
