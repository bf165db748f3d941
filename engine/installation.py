"""Start-up check that this installation carries the assets a worker or publisher needs.

Without it an incomplete install (a wheel built without its schemas, a wrong `Q2C_ROOT`)
starts, and then dead-letters every valid event as "unknown schema fingerprint". The check
turns that into one line at start-up naming what is missing and where it was looked for.
"""

from __future__ import annotations

from pathlib import Path

from engine.codec.errors import SchemaStoreError
from engine.codec.store import SchemaStore
from engine.contracts.registry import MESSAGE_MODELS
from engine.paths import SCHEMAS_DIR
from engine.topics.loader import DEFAULT_CATALOG, CatalogError, load_catalog

HINT = "reinstall q2c, or set Q2C_ROOT to a folder with schemas/ and topics/"


class IncompleteInstallation(RuntimeError):
    """Schemas or topic catalog missing or unusable; the message is one line for an operator."""


def check_installation(
    schemas_dir: Path = SCHEMAS_DIR, catalog_path: Path = DEFAULT_CATALOG
) -> None:
    """Raise IncompleteInstallation unless every message type has a schema and the catalog loads."""
    try:
        store = SchemaStore(schemas_dir)
    except SchemaStoreError as exc:
        raise IncompleteInstallation(f"cannot start: {exc}") from None
    if not store.current.entries:
        raise IncompleteInstallation(f"cannot start: no Avro schemas in {schemas_dir} ({HINT})")
    missing = sorted(name for name in MESSAGE_MODELS if name not in store.current.entries)
    if missing:
        raise IncompleteInstallation(
            f"cannot start: {len(missing)} message schema(s) missing from {schemas_dir}, "
            f"e.g. {missing[0]} ({HINT})"
        )
    try:
        load_catalog(catalog_path)
    except CatalogError as exc:
        first = str(exc).splitlines()[0].rstrip(":")
        raise IncompleteInstallation(f"cannot start: {first} ({HINT})") from None
