"""SAP S/4HANA recognize-revenue: one journal entry through Journal Entry - Post (Synchronous).

S/4HANA's OData project APIs record no revenue; the documented inbound API for a posting is
the SOAP service `JournalEntryBulkCreateRequest` (communication scenario SAP_COM_0002,
"Journal Entry - Post (Synchronous)"). It supports no repeatable request, so this is a check
before create: the entry carries a q2c reference in `DocumentReferenceID` (16 characters,
derived from the command's idempotency key) and is looked up first through Journal Entry Item
- Read (`API_JOURNALENTRYITEMBASIC_SRV`, OData V2, a GET needing no CSRF token). Found: the
command was done. SOAP calls take no CSRF token either.

The entry debits the field file's `DebitGLAccount` (unbilled receivables or deferred revenue)
and credits `CreditGLAccount` (revenue) in `CompanyCode`; all three are the firm's.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from xml.etree.ElementTree import Element, SubElement, tostring

from engine.adapters.errors import PermanentError
from engine.connectors.http import PlatformHttp
from engine.connectors.outbound.errors import PlatformError
from engine.connectors.outbound.fields import OutboundFields, RecordSpec
from engine.connectors.xmldoc import find, parse_xml
from engine.contracts import RecognizeRevenue
from engine.contracts.currencies import minor_unit_exponent

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
SFIN = "http://sap.com/xi/SAPSCORE/SFIN"
# [verify] the SOAPAction of the synchronous operation, as the WSDL of SAP_COM_0002 names it.
SOAP_ACTION = (
    "http://sap.com/xi/SAPSCORE/SFIN/JournalEntryCreateRequestConfirmation_In/"
    "JournalEntryCreateRequestConfirmation_InRequest"
)
ITEM_SERVICE = "/sap/opu/odata/sap/API_JOURNALENTRYITEMBASIC_SRV"
REFERENCE_LENGTH = 16  # DocumentReferenceID is CHAR 16 (BKPF-XBLNR)
MESSAGE_NAMESPACE = uuid.UUID("0b7e4c1a-6f2d-4e93-a8c5-3d91f27b6e40")
# A log severity of 3 (error) or 4 (abort) means nothing was posted.
FAILED_SEVERITIES = frozenset({"3", "4"})


def document_reference(command_key: str) -> str:
    """The entry's q2c reference: `Q2C` + 13 hex digits of the key's SHA-256 (fits CHAR 16)."""
    digest = hashlib.sha256(command_key.encode()).hexdigest().upper()
    return ("Q2C" + digest)[:REFERENCE_LENGTH]


def decimal_text(amount: Decimal, currency: str) -> str:
    """An amount as an Edm.Decimal / SOAP amount: the currency's decimals, no exponent."""
    return format(amount.quantize(Decimal(1).scaleb(-minor_unit_exponent(currency))), "f")


def journal_entry_request(
    command: RecognizeRevenue, reference: str, spec: RecordSpec, now: datetime
) -> bytes:
    """The SOAP envelope posting `command`'s revenue (pure)."""
    envelope = Element(f"{{{SOAP_ENV}}}Envelope")
    bulk = SubElement(
        SubElement(envelope, f"{{{SOAP_ENV}}}Body"), f"{{{SFIN}}}JournalEntryBulkCreateRequest"
    )
    _message_header(bulk, reference, "bulk", now)
    request = SubElement(bulk, "JournalEntryCreateRequest")
    _message_header(request, reference, "entry", now)
    entry = SubElement(request, "JournalEntry")
    day = command.header.issued_at.date().isoformat()
    header = {
        "OriginalReferenceDocumentType": "BKPFF",
        "BusinessTransactionType": "RFBU",
        "AccountingDocumentType": str(spec.defaults.get("AccountingDocumentType", "SA")),
        "DocumentReferenceID": reference,
        "DocumentHeaderText": f"q2c revenue {command.invoice_reference}"[:25],
        "CompanyCode": str(spec.defaults["CompanyCode"]),
        "DocumentDate": day,
        "PostingDate": day,
    }
    for name, value in header.items():
        SubElement(entry, name).text = value
    amount = command.amount
    for account, code, value in (
        (spec.defaults["DebitGLAccount"], "S", amount.amount),
        (spec.defaults["CreditGLAccount"], "H", -amount.amount),
    ):
        item = SubElement(entry, "Item")
        SubElement(item, "GLAccount").text = str(account)
        money = SubElement(item, "AmountInTransactionCurrency", currencyCode=amount.currency)
        money.text = decimal_text(value, amount.currency)
        SubElement(item, "DebitCreditCode").text = code
        SubElement(item, "DocumentItemText").text = command.invoice_reference[:50]
    return tostring(envelope, encoding="utf-8", xml_declaration=True)


def _message_header(parent: Element, reference: str, part: str, now: datetime) -> None:
    header = SubElement(parent, "MessageHeader")
    SubElement(header, "ID").text = str(uuid.uuid5(MESSAGE_NAMESPACE, f"{reference}/{part}"))
    SubElement(header, "CreationDateTime").text = now.isoformat(timespec="seconds")


def posted_document(confirmation: bytes) -> str:
    """The accounting document number of a confirmation; raises when SAP posted nothing."""
    root = parse_xml(confirmation)
    severity, number = _text(root, "MaximumLogItemSeverityCode"), _text(root, "AccountingDocument")
    if severity in FAILED_SEVERITIES or not number.strip("0"):
        # The log's note texts may echo posted values: only the severity is reported.
        raise PermanentError(f"sap journal entry refused (log severity {severity or '?'})")
    return number


def _text(root: Element, name: str) -> str:
    node = find(root, name)
    return (node.text or "").strip() if node is not None else ""


class RevenuePoster:
    """recognize-revenue against SAP: look up by the q2c reference, post when absent."""

    def __init__(self, http: PlatformHttp, fields: OutboundFields) -> None:
        self.http = http
        self.entry = fields.record("journal_entry")
        self.item = fields.record("journal_item")

    async def post(self, command: RecognizeRevenue) -> str:
        """The accounting document of the command's entry (posted now or found)."""
        reference = document_reference(command.header.idempotency_key)
        found = await self.find(reference)
        if found is not None:
            return found
        reply = await self.http.request(
            "POST",
            self.entry.name,
            content=journal_entry_request(command, reference, self.entry, datetime.now(UTC)),
            headers={
                "Content-Type": "text/xml; charset=utf-8",
                "Accept": "text/xml",
                "SOAPAction": SOAP_ACTION,
            },
        )
        return posted_document(reply.content)

    async def find(self, reference: str) -> str | None:
        """The accounting document carrying `reference` in the company code, if any."""
        field = self.item.external_id or "DocumentReferenceID"
        company = str(self.entry.defaults["CompanyCode"])
        reply = await self.http.request(
            "GET",
            f"{ITEM_SERVICE}/{self.item.name}",
            params={
                "$filter": f"{field} eq '{reference}' and CompanyCode eq '{company}'",
                "$select": "AccountingDocument",
                "$top": "1",
                "$format": "json",
            },
        )
        results: list[Mapping[str, object]] = reply.json().get("d", {}).get("results", [])
        if not results:
            return None
        document = results[0].get("AccountingDocument")
        if not isinstance(document, str) or not document:
            raise PlatformError("sap journal entry item answered without AccountingDocument")
        return document
