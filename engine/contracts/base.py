"""Base class of every contract model: immutable, strict about unknown fields, named in Avro."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

AVRO_NAMESPACE = "io.q2c"


class Record(BaseModel):
    """A contract record; its Avro schema is `schemas/<AVRO_NAME>.avsc` (class name = type name)."""

    # Frozen: a message is a fact; extra="forbid": a misspelt field is an error, not data loss.
    model_config = ConfigDict(frozen=True, extra="forbid")

    AVRO_NAME: ClassVar[str]

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        cls.AVRO_NAME = f"{AVRO_NAMESPACE}.{cls.__name__}"
