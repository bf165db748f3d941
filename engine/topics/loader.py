"""Reads topics/catalog.yaml into a validated Catalog."""

from __future__ import annotations

from pathlib import Path

from engine.paths import TOPICS_DIR
from engine.topics.models import Catalog
from engine.yamlfile import load_yaml_model

DEFAULT_CATALOG = TOPICS_DIR / "catalog.yaml"


class CatalogError(ValueError):
    """The catalog file is missing, not YAML, or breaks a catalog rule; the message says which."""


def load_catalog(path: Path | str | None = None) -> Catalog:
    """Load and validate the catalog at `path` (default: topics/catalog.yaml)."""
    source = Path(path) if path is not None else DEFAULT_CATALOG
    return load_yaml_model(source, Catalog, "topic catalog", CatalogError)
