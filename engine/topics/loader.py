"""Reads topics/catalog.yaml into a validated Catalog."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import ValidationError

from engine.paths import TOPICS_DIR
from engine.topics.models import Catalog

DEFAULT_CATALOG = TOPICS_DIR / "catalog.yaml"


class CatalogError(ValueError):
    """The catalog file is missing, not YAML, or breaks a catalog rule; the message says which."""


def load_catalog(path: Path | str | None = None) -> Catalog:
    """Load and validate the catalog at `path` (default: topics/catalog.yaml)."""
    source = Path(path) if path is not None else DEFAULT_CATALOG
    try:
        raw = yaml.safe_load(source.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CatalogError(f"cannot read topic catalog {source}: {exc}") from exc
    except yaml.YAMLError as exc:
        raise CatalogError(f"topic catalog {source} is not valid YAML: {exc}") from exc
    try:
        return Catalog.model_validate(raw)
    except ValidationError as exc:
        raise CatalogError(f"topic catalog {source} is invalid:\n{exc}") from exc
