"""Per-platform outbound field defaults: which record and external-id field each command writes.

One YAML file per platform (`fields/<platform>.yaml` beside this module, or the same name in
a firm's own directory, which wins), validated with pydantic so a typo fails at start-up with
the file and field named, not at the first command. Kept small and separate from the inbound
mapping files on purpose; the two are to be unified later.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

PACKAGED = Path(__file__).with_name("fields")
Scalar = str | int | float | bool


class RecordSpec(BaseModel):
    """One platform record type: its API name, its external-id field, constant fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1)
    external_id: str | None = None
    defaults: dict[str, Scalar] = Field(default_factory=dict)


class OutboundFields(BaseModel):
    """A platform's outbound field file."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    platform: str
    api_version: str | None = None
    records: dict[str, RecordSpec]

    def record(self, role: str) -> RecordSpec:
        """The record that plays `role` (e.g. `project`); KeyError names the file's gap."""
        try:
            return self.records[role]
        except KeyError:
            raise KeyError(f"{self.platform} fields define no {role!r} record") from None


class FieldsError(ValueError):
    """A field file is missing or invalid; the message names the file."""


def load_fields(platform: str, directory: Path | None = None) -> OutboundFields:
    """The field file of `platform`: the firm's copy in `directory` if any, else the packaged one."""
    candidates = [directory / f"{platform}.yaml"] if directory else []
    candidates.append(PACKAGED / f"{platform}.yaml")
    path = next((p for p in candidates if p.is_file()), None)
    if path is None:
        raise FieldsError(f"no outbound field file for {platform!r}")
    try:
        data: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
        fields = OutboundFields.model_validate(data)
    except (yaml.YAMLError, ValidationError) as exc:
        raise FieldsError(f"{path}: {exc}") from None
    if fields.platform != platform:
        raise FieldsError(f"{path}: platform is {fields.platform!r}, expected {platform!r}")
    return fields
