"""Log redaction follows the contracts' classifications and scrubs free text by value shape."""

from __future__ import annotations

import json
import logging

import pytest

from engine.codec import default_codec
from engine.observability.logging import JsonFormatter, sensitive_names
from engine.security.redaction import classified_field_names

SECRETS = ("150.00", "DE89370400440532013000", "DE123456789", "40000.00", "1,200.50", "88.5")


def line(msg: str, *args: object, **extra: object) -> dict[str, object]:
    record = logging.LogRecord("q2c.test", logging.INFO, __file__, 1, msg, args, None)
    record.__dict__.update(extra)
    return dict(json.loads(JsonFormatter().format(record)))


def test_every_classified_field_name_is_masked_in_logs() -> None:
    classified = classified_field_names(default_codec().store.current.definitions)
    assert {"hourly_rate", "cost_rate", "tax_registration", "payer_account"} <= classified
    assert classified <= sensitive_names()
    out = line("priced", **{name: "CANARY-42" for name in classified})
    assert "CANARY-42" not in json.dumps(out)


def test_a_newly_classified_field_is_masked_without_a_list_change() -> None:
    defs = {
        "io.q2c.X": {
            "type": "record",
            "name": "io.q2c.X",
            "fields": [
                {"name": "bonus_pool", "type": "string", "q2c.classification": "confidential"}
            ],
        }
    }
    assert classified_field_names(defs) == {"bonus_pool"}


@pytest.mark.parametrize(
    "text",
    [
        "rate hourly_rate=150.00 applied",
        "refund to iban=DE89370400440532013000",
        "customer vat_number: DE123456789 checked",
        "payment 40000.00 EUR received for INV-D-1-M1",
        "paid EUR 1,200.50 from DE89 3704 0044 0532 0130 00",
        "resource cost is cost_rate: 88.5 per hour",
        "tax id DE123456789 is valid",
    ],
)
def test_free_text_loses_the_values_but_keeps_the_ids(text: str) -> None:
    out = line("%s", text)
    msg = str(out["msg"])
    assert not any(secret in msg for secret in SECRETS), msg
    assert "***" in msg


@pytest.mark.parametrize(
    "text",
    [
        "saga D-1 (PRJ-D-1, INV-D-1-M1) completed at 2024-06-01T10:00:00Z",
        # Counts beside three capitals that are no currency code are not money.
        "offset 12 ACK from q2c.commands.erp; 3 DLQ records, 40 TCP retries",
    ],
)
def test_ids_timestamps_and_counts_are_left_alone(text: str) -> None:
    assert line("%s", text)["msg"] == text
