"""Constrained scalar types shared by every contract model.

Each type carries the validation the Avro schema cannot express (currency list, UTC, decimal
scale), so a model that validates always encodes: the codec never meets a value its schema
rejects.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BeforeValidator, Field, StringConstraints

from engine.contracts.currencies import ISO_4217

INT32_MAX = 2**31 - 1


@dataclass(frozen=True, slots=True)
class AvroDecimal:
    """Annotation marker: this Decimal is Avro `bytes`/`decimal` with this precision and scale."""

    precision: int
    scale: int


def _no_float(value: Any) -> Any:
    # A float has already lost the cents (0.1 + 0.2 != 0.3); refuse it rather than guess.
    if isinstance(value, float):
        raise ValueError("decimal values must be given as a string or Decimal, not a float")
    return value


def _quantizer(scale: int) -> Any:
    exponent = Decimal(1).scaleb(-scale)

    def quantize(value: Decimal) -> Decimal:
        # One representation per value (1.5 -> 1.5000), the same one Avro decoding yields.
        return value.quantize(exponent)

    return quantize


def decimal_type(precision: int, scale: int) -> Any:
    """A Decimal type limited to what Avro `decimal(precision, scale)` can carry."""
    return Annotated[
        Decimal,
        AvroDecimal(precision, scale),
        BeforeValidator(_no_float),
        Field(max_digits=precision, decimal_places=scale, allow_inf_nan=False),
        AfterValidator(_quantizer(scale)),
    ]


def _currency(value: str) -> str:
    if value not in ISO_4217:
        raise ValueError("not a known ISO 4217 currency code")
    return value


def _utc_millis(value: datetime) -> datetime:
    # Avro timestamp-millis keeps milliseconds in UTC; normalising here makes a decoded
    # record equal to the one that was encoded.
    value = value.astimezone(UTC)
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


def _uuid(value: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise ValueError("not a UUID") from None


AmountDecimal = decimal_type(20, 4)
HoursDecimal = decimal_type(9, 2)
QuantityDecimal = decimal_type(12, 4)

CURRENCY_PATTERN = r"^[A-Z]{3}$"
COUNTRY_PATTERN = r"^[A-Z]{2}$"
KEBAB_PATTERN = r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$"
# What each pattern asks for, in words, for error messages people read.
PATTERN_WORDS = {
    CURRENCY_PATTERN: "should be a three-letter upper-case currency code (ISO 4217, e.g. EUR)",
    COUNTRY_PATTERN: "should be a two-letter upper-case country code (ISO 3166, e.g. DE)",
    KEBAB_PATTERN: "should be lower-case words and digits joined by '-' (e.g. closed-won)",
}

CurrencyCode = Annotated[
    str, StringConstraints(pattern=CURRENCY_PATTERN), AfterValidator(_currency)
]
CountryCode = Annotated[str, StringConstraints(pattern=COUNTRY_PATTERN)]
Id = Annotated[str, StringConstraints(min_length=1, max_length=256)]
UuidStr = Annotated[str, AfterValidator(_uuid)]
KebabCase = Annotated[str, StringConstraints(pattern=KEBAB_PATTERN)]
UtcTimestamp = Annotated[AwareDatetime, AfterValidator(_utc_millis)]
PositiveInt32 = Annotated[int, Field(gt=0, le=INT32_MAX)]
NonNegativeInt32 = Annotated[int, Field(ge=0, le=INT32_MAX)]
