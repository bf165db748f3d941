"""The registered platforms: their inbound connectors, mapping files and native topics.

Adding a platform: a folder `engine/connectors/<name>/` with `inbound.py` (a class with the
`InboundConnector` shape) and `mapping.yaml`, one line in `_CONNECTORS` (and in
`MAPPING_NAMES`), and a `q2c.native.<name>` topic pair in topics/catalog.yaml.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from engine.connectors.dynamics.inbound import DynamicsInbound
from engine.connectors.mapping import MappingFile, load_mapping, translate
from engine.connectors.mapping.engine import Translation
from engine.connectors.netsuite.inbound import NetSuiteInbound
from engine.connectors.oracle.inbound import OracleInbound
from engine.connectors.protocol import InboundConnector, NativeRequest, ParseError, Unmapped
from engine.connectors.salesforce.inbound import SalesforceInbound
from engine.connectors.sap.inbound import SapInbound
from engine.connectors.settings import ConnectorSettings
from engine.connectors.stripe.inbound import StripeInbound
from engine.contracts.events import Event

PACKAGE_DIR = Path(__file__).resolve().parent

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


def translate_request(
    request: NativeRequest, mappings: dict[str, MappingFile], received_at: datetime | None = None
) -> list[Event] | Unmapped:
    """All canonical events of a stored request, or why it cannot be translated (all or none:
    one untranslatable native event sends the whole request to the dead letters)."""
    connector = CONNECTORS.get(request.platform)
    if connector is None:
        return Unmapped(f"no connector for platform {request.platform!r}", "q2c-native-platform")
    try:
        natives = connector.split(request)
    except ParseError as exc:
        return Unmapped(exc.reason, exc.field_path)
    events: list[Event] = []
    for native in natives:
        mapping = mappings.get(native.mapping_name)
        if mapping is None:
            return Unmapped(f"no mapping named {native.mapping_name!r}", "mapping")
        result: Translation = translate(native, mapping, received_at or request.received_at)
        if isinstance(result, Unmapped):
            return result
        events.extend(result)
    return events
