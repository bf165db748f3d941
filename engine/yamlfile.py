"""Reads a YAML file into a pydantic model, with one error type naming the file and the rule."""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)


def load_yaml_model(source: Path, model: type[M], what: str, error: type[ValueError]) -> M:
    """`model` validated from the YAML at `source`; `error("cannot read <what> ...")` else."""
    try:
        raw = yaml.safe_load(source.read_text(encoding="utf-8"))
    except OSError as exc:
        raise error(f"cannot read {what} {source}: {exc}") from exc
    except yaml.YAMLError as exc:
        raise error(f"{what} {source} is not valid YAML: {exc}") from exc
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise error(f"{what} {source} is invalid:\n{exc}") from exc
