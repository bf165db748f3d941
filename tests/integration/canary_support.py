"""Canary values for every classified field of the contracts, the events that carry them, and
the scan that finds any of them in clear in bytes or text (records, headers, logs, answers).

Strings and decimals are found in raw bytes (text, and a decimal's Avro encoding); integers
(Avro varints in a record body) only in text, which is why records are also scanned decoded
without the key (`decoded_text`): a classified int left in clear shows there as a number.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import uuid
from collections.abc import Iterable, Iterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from engine.codec import default_codec
from engine.codec.errors import DecodeError
from engine.contracts import (
    AccountMasterUpserted,
    ClosedWon,
    Event,
    InvoiceIssued,
    PaymentReceived,
    TimeEntry,
    TimeEntryApproved,
)
from engine.contracts.shared import Money, Rate, RateCard, Resource
from engine.security import protection
from engine.security.keyring import FileKeysetProvider, Keyring

TAX = "CANARYTAX7731"  # Account.tax_registration
PAYER = "CANARYPAYER5521"  # Payment.payer_account (tokenized)
TOTAL = Decimal("918273.6455")  # Contract.total_value
# Five bytes or more as Avro decimals: a 3-byte pattern turns up by chance in the megabytes
# of ciphertext a demo-sized run scans (two "hits" in 12,914 sealed state records once).
RATE = Decimal("713397.7123")  # Rate.hourly_rate
COST = Decimal("529881.3317")  # Resource.cost_rate
TERMS = 3187  # Contract.payment_terms_days
PERIOD = 999_983  # Contract.billing_period_days
LINE = "CANARYLINE6043"  # Invoice.lines (each line's description)
MONEY_SCALE = 4


def decimal_bytes(value: Decimal, scale: int = MONEY_SCALE) -> bytes:
    """The Avro decimal encoding (big-endian two's complement of the unscaled value)."""
    unscaled = int(value.scaleb(scale))
    return unscaled.to_bytes((unscaled.bit_length() + 8) // 8, "big", signed=True)


def _text(value: object) -> re.Pattern[bytes]:
    # Not inside a longer number, word or dotted/dashed id (a hex id may hold "3187").
    return re.compile(rb"(?<![\w.\-])" + re.escape(str(value).encode()) + rb"(?![\w\-]|\.\d)")


PATTERNS: dict[str, tuple[re.Pattern[bytes], ...]] = {
    "tax_registration": (_text(TAX),),
    "payer_account": (_text(PAYER),),
    "total_value": (_text(TOTAL), re.compile(re.escape(decimal_bytes(TOTAL)))),
    "hourly_rate": (_text(RATE), re.compile(re.escape(decimal_bytes(RATE)))),
    "cost_rate": (_text(COST), re.compile(re.escape(decimal_bytes(COST)))),
    "payment_terms_days": (_text(TERMS),),
    "billing_period_days": (_text(PERIOD),),
    "lines": (_text(LINE),),
}


def found_in(data: bytes | str) -> set[str]:
    """Which canaries appear in clear in `data`."""
    raw = data.encode() if isinstance(data, str) else data
    return {name for name, patterns in PATTERNS.items() if any(p.search(raw) for p in patterns)}


def decoded_text(value: bytes | None) -> str:
    """A record body decoded as a reader without the key sees it (JSON), or "" if not Avro."""
    if not value:
        return ""
    try:
        _name, record = default_codec().decode_record(value)
    except DecodeError:
        return ""
    return json.dumps(record, default=str)


def with_canaries(events: Iterable[Event]) -> list[Event]:
    """`events` with a canary in every classified field they carry (milestones re-summed)."""
    out: list[Event] = []
    for event in events:
        data = event.model_dump()
        if isinstance(event, ClosedWon):
            data["account"]["tax_registration"] = TAX
            contract = data["contract"]
            contract["total_value"]["amount"] = TOTAL
            contract["payment_terms_days"] = TERMS
            contract["billing_period_days"] = PERIOD
            currency = contract["currency"]
            contract["rate_card"] = RateCard(
                rate_card_id=f"RC-{event.deal_id}",
                currency=currency,
                rates=(Rate(role="consultant", hourly_rate=Money(amount=RATE, currency=currency)),),
            ).model_dump()
            milestones = contract["milestones"]  # still summing to the total
            rest = sum(m["amount"]["amount"] for m in milestones[:-1])
            milestones[-1]["amount"]["amount"] = TOTAL - rest
        elif isinstance(event, AccountMasterUpserted):
            data["account"]["tax_registration"] = TAX
        elif isinstance(event, PaymentReceived):
            data["payment"]["payer_account"] = PAYER
        elif isinstance(event, InvoiceIssued):
            for line in data["invoice"]["lines"]:
                line["description"] = LINE
        out.append(type(event).model_validate(data))
    return out


def time_entry(like: Event, project_id: str, work_date: date) -> TimeEntryApproved:
    """An approved time entry of a resource whose cost rate is the canary."""
    envelope = like.envelope.model_copy(
        update={
            "event_id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"q2c-canary/te/{project_id}")),
            "event_type": TimeEntryApproved.EVENT_TYPE,
            "source_system": "netsuite",
        }
    )
    resource = Resource(
        resource_id="R-1",
        name="Consultant",
        role="consultant",
        cost_rate=Money(amount=COST, currency="USD"),
    )
    entry = TimeEntry(
        entry_id=f"TE-{project_id}",
        resource=resource,
        work_date=work_date + timedelta(days=1),
        hours=Decimal("7.50"),
        description="analysis",
    )
    return TimeEntryApproved.model_validate(
        {"envelope": envelope, "project_id": project_id, "entry": entry}
    )


@contextlib.contextmanager
def field_keyset(path: Path) -> Iterator[FileKeysetProvider]:
    """A fresh keyset at `path`, the one this process seals and opens with inside the block
    (as `Q2C_FIELD_KEYSET_FILE` would name it)."""
    provider = FileKeysetProvider(path)
    provider.save(Keyring.generate())
    saved = os.environ.get(protection.KEYSET_ENV)
    os.environ[protection.KEYSET_ENV] = str(path)
    protection.active.cache_clear()
    try:
        yield provider
    finally:
        if saved is None:
            os.environ.pop(protection.KEYSET_ENV, None)
        else:
            os.environ[protection.KEYSET_ENV] = saved
        protection.active.cache_clear()
