"""What log redaction masks, taken from the contracts' classifications plus value shapes (pure).

Field names come from the schemas: every field classified `confidential` or `tokenized`
(`hourly_rate`, `cost_rate`, `tax_registration`, `payer_account`, ...), so a field classified
tomorrow is masked in logs without touching a list. Free text is scrubbed by the shape of the
values themselves: money with a currency (`payment 40000.00 EUR`, `EUR 1,200.50`), IBANs and
VAT-style tax registrations, whatever words surround them.
"""

from __future__ import annotations

import re

from engine.codec.store import Definitions
from engine.contracts.currencies import ISO_4217
from engine.security.classification import field_classifications

MASK = "***"

# Money next to an ISO 4217 code or a currency sign, either side. Only real codes: any three
# capitals would also mask counts beside protocol words (`offset 12 ACK`).
_NUMBER = r"\d[\d,']*(?:\.\d+)?"
_CODE = "(?:" + "|".join(sorted(ISO_4217)) + ")"
_MONEY = (
    rf"(?<![\w-])(?:{_CODE}\s?|[$€£¥]\s?){_NUMBER}(?![\w-])"
    rf"|(?<![\w-]){_NUMBER}\s?(?:{_CODE}|[$€£¥])(?![\w-])"
)
# IBAN: country, check digits, 11-30 alphanumerics (optionally grouped by spaces).
_IBAN = r"\b[A-Z]{2}\d{2}(?:\s?[A-Z0-9]{4}){2,7}(?:\s?[A-Z0-9]{1,4})?\b"
# VAT / tax registration: country prefix and 8-12 digits (DE123456789, GB123456789012).
_TAX_ID = r"\b[A-Z]{2}\d{8,12}\b"
VALUE_SHAPES = re.compile("|".join(f"(?:{p})" for p in (_IBAN, _TAX_ID, _MONEY)))


def classified_field_names(defs: Definitions) -> frozenset[str]:
    """Lower-case names of every classified field in a release."""
    return frozenset(field.lower() for _record, field in field_classifications(defs))


def redact_values(text: str) -> str:
    """`text` with money amounts, IBANs and tax registrations masked."""
    return VALUE_SHAPES.sub(MASK, text)
