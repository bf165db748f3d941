"""Declarative field mappings: the YAML model, the loader with line numbers, the pure engine."""

from engine.connectors.mapping.engine import Translation, translate
from engine.connectors.mapping.loader import (
    MappingError,
    MappingProblem,
    load_mapping,
    parse_mapping,
)
from engine.connectors.mapping.model import MappingFile

__all__ = [
    "MappingError",
    "MappingFile",
    "MappingProblem",
    "Translation",
    "load_mapping",
    "parse_mapping",
    "translate",
]
