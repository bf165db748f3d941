"""The registered platforms: their inbound connectors, mapping files and native topics.

Adding a platform: a folder `engine/connectors/<name>/` with `inbound.py` (a class with the
`InboundConnector` shape) and `mapping.yaml`, one line in `_CONNECTORS` (and in
`MAPPING_NAMES`), and a `q2c.native.<name>` topic pair in topics/catalog.yaml; when its
mapping reads back, a `readback.py` with a `RecordReader` and one line in `READERS`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from engine.connectors.dynamics.inbound import DynamicsInbound
from engine.connectors.dynamics.readback import DynamicsReader
from engine.connectors.http import HttpConfig
from engine.connectors.mapping import MappingFile, load_mapping, translate
from engine.connectors.mapping.engine import Translation
from engine.connectors.netsuite.inbound import NetSuiteInbound
from engine.connectors.oracle.inbound import OracleInbound
from engine.connectors.oracle.readback import OracleReader
from engine.connectors.protocol import (
    InboundConnector,
    NativeEvent,
    NativeRequest,
    ParseError,
    Unmapped,
)
from engine.connectors.readback import RecordReader
from engine.connectors.salesforce.inbound import SalesforceInbound
from engine.connectors.salesforce.readback import SalesforceReader
from engine.connectors.sap.inbound import SapInbound
from engine.connectors.sap.readback import SapReader
from engine.connectors.settings import ConnectorSettings
from engine.connectors.stripe.inbound import StripeInbound
from engine.contracts.events import Event

PACKAGE_DIR = Path(__file__).resolve().parent
log = logging.getLogger("q2c.connectors")

_CONNECTORS: tuple[InboundConnector, ...] = (
    SalesforceInbound(),
    DynamicsInbound(),
    NetSuiteInbound(),
    SapInbound(),
    OracleInbound(),
    StripeInbound(),
)
CONNECTORS: dict[str, InboundConnector] = {c.platform: c for c in _CONNECTORS}
"""platform -> inbound connector (one gateway route set and one native topic each)."""

MAPPING_NAMES: tuple[str, ...] = (
    "salesforce",
    "certinia",
    "dynamics",
    "netsuite",
    "sap",
    "oracle",
    "stripe",
)
"""Every mapping file shipped (Certinia has its own, applied to Salesforce CDC of pse__ objects)."""


def native_topic(platform: str) -> str:
    """Logical name of a platform's native-event topic (its dead letters: `<topic>.dlq`)."""
    return f"q2c.native.{platform}"


def default_mapping_path(name: str) -> Path:
    return PACKAGE_DIR / name / "mapping.yaml"


def mapping_path(name: str, settings: ConnectorSettings) -> Path:
    """The firm's override (`Q2C_CONNECTOR_<NAME>_MAPPING`) or the shipped default."""
    return settings.mapping_override(name) or default_mapping_path(name)


def load_mappings(settings: ConnectorSettings) -> dict[str, MappingFile]:
    """Every mapping, validated; raises MappingError naming file, line and field."""
    return {name: load_mapping(mapping_path(name, settings)) for name in MAPPING_NAMES}


def native_events(request: NativeRequest) -> list[NativeEvent] | Unmapped:
    """The native events of a stored request, or why it cannot be read."""
    connector = CONNECTORS.get(request.platform)
    if connector is None:
        return Unmapped(f"no connector for platform {request.platform!r}", "q2c-native-platform")
    try:
        return connector.split(request)
    except ParseError as exc:
        return Unmapped(exc.reason, exc.field_path)


def translate_natives(
    natives: list[NativeEvent], mappings: dict[str, MappingFile], received_at: datetime
) -> list[Event] | Unmapped:
    """All canonical events of `natives`, or why one cannot be translated (all or none: one
    untranslatable native event sends the whole request to the dead letters)."""
    events: list[Event] = []
    for native in natives:
        mapping = mappings.get(native.mapping_name)
        if mapping is None:
            return Unmapped(f"no mapping named {native.mapping_name!r}", "mapping")
        result: Translation = translate(native, mapping, received_at)
        if isinstance(result, Unmapped):
            return result
        events.extend(result)
    return events


def translate_request(
    request: NativeRequest, mappings: dict[str, MappingFile], received_at: datetime | None = None
) -> list[Event] | Unmapped:
    """All canonical events of a stored request without read-backs (a rule that needs one
    gives `Unmapped("needs read-back of ...")`), or why it cannot be translated."""
    natives = native_events(request)
    if isinstance(natives, Unmapped):
        return natives
    return translate_natives(natives, mappings, received_at or request.received_at)


READERS: dict[str, Callable[[HttpConfig], RecordReader]] = {
    "salesforce": SalesforceReader,
    "certinia": SalesforceReader,  # Certinia PSA lives in a Salesforce org
    "sap": SapReader,
    "oracle": OracleReader,
    "dynamics": DynamicsReader,
}
"""mapping name -> the reader of its read-backs, built from `Q2C_<NAME>_*` like its outbound
connector (a platform missing here keeps "needs read-back" dead letters)."""


def readers_from_env(mappings: dict[str, MappingFile]) -> dict[str, RecordReader]:
    """A reader for each mapping that reads back and whose platform connection is
    configured; the others are logged once (their events dead-letter as "needs read-back")."""
    from engine.connectors.outbound.service import http_config  # the outbound side's settings

    readers: dict[str, RecordReader] = {}
    for name, mapping in mappings.items():
        if not any(rule.read_back for rule in mapping.rules) or name not in READERS:
            continue
        try:
            readers[name] = READERS[name](http_config(name))
        except ValueError as exc:
            log.info("read-backs of %s are off (%s): such events go to the native DLQ", name, exc)
    return readers
