"""Each platform's native format for the simulated events it tells of (see `NativeFormat`)."""

from __future__ import annotations

from collections.abc import Callable

from engine.contracts import Invoice
from engine.emulators.base import Emulator
from engine.emulators.dynamics import DynamicsEmulator
from engine.emulators.salesforce import SalesforceEmulator
from engine.simulators.native.formats.base import NativeFormat, NativePost
from engine.simulators.native.formats.certinia import CertiniaFormat
from engine.simulators.native.formats.dynamics import DynamicsFormat
from engine.simulators.native.formats.netsuite import NetSuiteFormat
from engine.simulators.native.formats.oracle import OracleFormat
from engine.simulators.native.formats.salesforce import SalesforceFormat
from engine.simulators.native.formats.sap import SapFormat
from engine.simulators.native.formats.stripe import StripeFormat
from engine.simulators.native.ids import IdMap

InvoiceOf = Callable[[str], tuple[str, Invoice] | None]


def native_platform(platform: str) -> str:
    """Whose gateway route and native topic carry `platform`'s deliveries (Certinia's CDC
    comes through the Salesforce relay; the translator picks its mapping by entity)."""
    return "salesforce" if platform == "certinia" else platform


def format_for(
    platform: str, emulator: Emulator, ids: IdMap, invoice_of: InvoiceOf
) -> NativeFormat:
    """The native format of `platform` (its org/emulator is where read-back records live)."""
    if platform == "salesforce" and isinstance(emulator, SalesforceEmulator):
        return SalesforceFormat(emulator)
    if platform == "dynamics" and isinstance(emulator, DynamicsEmulator):
        return DynamicsFormat(emulator)
    if platform == "certinia" and isinstance(emulator, SalesforceEmulator):
        return CertiniaFormat(emulator, ids)
    if platform == "netsuite":
        return NetSuiteFormat(ids)
    if platform == "oracle":
        return OracleFormat(ids)
    if platform == "sap":
        return SapFormat(ids)
    if platform == "stripe":
        return StripeFormat(ids, invoice_of)
    raise ValueError(f"no native format for {platform!r} on a {type(emulator).__name__}")


__all__ = ["NativeFormat", "NativePost", "format_for", "native_platform"]
