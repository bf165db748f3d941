"""The principals section (topics/principals.yaml): who connects to Kafka, in which role."""

from __future__ import annotations

from collections import Counter
from enum import StrEnum
from pathlib import Path
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from engine.paths import TOPICS_DIR
from engine.yamlfile import load_yaml_model

DEFAULT_PRINCIPALS = TOPICS_DIR / "principals.yaml"
# The launcher's own super user; never listed in the principals file, never given ACLs.
LAUNCHER_USER = "admin"


class Role(StrEnum):
    """What a principal does; its ACLs follow from the role and the topic catalog."""

    WORKER = "worker"
    ADAPTER = "adapter"
    OPERATOR = "operator"
    ANALYTICS = "analytics"
    GATEWAY = "gateway"
    TRANSLATOR = "translator"


class PrincipalSpec(BaseModel):
    """One Kafka user (SCRAM name, or the CN of a client certificate)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=r"^[a-z][a-z0-9-]*$")
    role: Role
    platform: str | None = None
    owner: str | None = None

    @model_validator(mode="after")
    def _adapter_fields(self) -> Self:
        is_adapter = self.role is Role.ADAPTER
        if is_adapter != (self.platform is not None) or is_adapter != (self.owner is not None):
            raise ValueError(f"{self.name}: platform and owner are set for adapters, and only them")
        if self.name == LAUNCHER_USER:
            raise ValueError(f"{self.name!r} is the launcher's super user, not a principal")
        return self

    @property
    def kafka_principal(self) -> str:
        """The principal string the broker's authorizer matches (`User:<name>`)."""
        return f"User:{self.name}"


class Principals(BaseModel):
    """Every principal; names are unique."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    principals: tuple[PrincipalSpec, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> Self:
        counts = Counter(p.name for p in self.principals)
        dupes = sorted(n for n, c in counts.items() if c > 1)
        if dupes:
            raise ValueError(f"duplicate principal names: {dupes}")
        return self

    def get(self, name: str) -> PrincipalSpec:
        """The principal called `name`; KeyError names it."""
        for p in self.principals:
            if p.name == name:
                return p
        raise KeyError(f"principal {name!r} is not in the principals file")

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.principals]


class PrincipalsError(ValueError):
    """The principals file is missing, not YAML, or invalid; the message says which."""


def load_principals(path: Path | str | None = None) -> Principals:
    """Load and validate topics/principals.yaml (or `path`)."""
    source = Path(path) if path is not None else DEFAULT_PRINCIPALS
    return load_yaml_model(source, Principals, "principals file", PrincipalsError)
