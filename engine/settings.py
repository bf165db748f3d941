"""Engine configuration: environment variables prefixed `Q2C_`, or a TOML/env file named by Q2C_CONFIG_FILE.

A bad value fails at start-up with a message naming the setting (see `load_settings`).
"""

from __future__ import annotations

import os
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)


class SecurityProtocol(StrEnum):
    PLAINTEXT = "PLAINTEXT"
    SSL = "SSL"
    SASL_PLAINTEXT = "SASL_PLAINTEXT"
    SASL_SSL = "SASL_SSL"


class ProcessingMode(StrEnum):
    EXACTLY_ONCE = "exactly_once"
    AT_LEAST_ONCE = "at_least_once"


class SettingsError(ValueError):
    """A configuration value is invalid; the message names the `Q2C_*` variable."""


class Settings(BaseSettings):
    """All engine settings; each field maps to `Q2C_<FIELD>` in the environment."""

    model_config = SettingsConfigDict(env_prefix="Q2C_", extra="ignore", frozen=True)

    bootstrap_servers: str | None = Field(
        default=None, description="Kafka bootstrap servers; unset means the local broker"
    )
    security_protocol: SecurityProtocol = SecurityProtocol.PLAINTEXT
    sasl_mechanism: str | None = Field(
        default=None, description="SCRAM-SHA-512 (default with SASL), SCRAM-SHA-256 or PLAIN"
    )
    sasl_username: str | None = None
    sasl_password: SecretStr | None = Field(
        default=None, description="SASL password; prefer Q2C_SASL_PASSWORD_FILE"
    )
    sasl_password_file: Path | None = Field(
        default=None, description="file holding the SASL password (read at connect time)"
    )
    ssl_cafile: Path | None = Field(
        default=None, description="CA bundle (PEM) that signed the brokers' certificates"
    )
    ssl_certfile: Path | None = Field(
        default=None, description="client certificate (PEM) for mutual TLS"
    )
    ssl_keyfile: Path | None = Field(default=None, description="private key of ssl_certfile")
    ssl_key_password: SecretStr | None = None
    field_keyset_file: Path | None = Field(
        default=None,
        description="Tink keyset sealing classified fields (`q2c keys init`); unset: none",
    )
    client_id: str = "q2c"
    group_id: str = "q2c-engine"
    processing_mode: ProcessingMode = ProcessingMode.EXACTLY_ONCE
    topic_prefix: str = Field(default="", description="prepended to every catalog topic name")
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8080, ge=0, le=65535)
    max_batch: int = Field(default=500, ge=1, le=100_000)
    # Kafka Streams' exactly-once default interval: a busy task commits once per interval or
    # per this many records instead of once per poll; an idle consumer commits at once.
    commit_interval_ms: int = Field(
        default=100, ge=1, le=60_000, description="longest a busy task's checkpoint stays open"
    )
    commit_max_records: int = Field(
        default=2_000, ge=1, le=1_000_000, description="records after which a task commits"
    )
    # CPython's own schedule ran a ~120 ms full collection every ~1.7 s under load (the p99);
    # see engine.runtime.full_collections. 0: leave full collections to CPython.
    gc_full_interval_s: float = Field(
        default=60.0, ge=0, le=3_600, description="seconds between the worker's full GC runs"
    )
    correlation_wait_s: float = Field(
        default=300.0, gt=0, description="how long an event may wait for its saga key"
    )
    pending_retention_s: float = Field(
        default=7 * 24 * 3600.0,
        gt=0,
        description="how long a saga that never started (still 'pending') is kept without events",
    )
    # Off by default: a finished saga is kept (memory and changelog) so a late or redelivered
    # event for it is recognised. Set, it bounds the state of a long-running deployment the
    # way a workflow engine's retention period does; after it the key may start a new saga.
    finished_retention_s: float | None = Field(
        default=None,
        gt=0,
        description="how long a finished saga is kept without events (unset: for ever)",
    )
    local_cluster: str = Field(default="default", description="name of the local broker to use")
    # Rehearsals only (`q2c demo` runs its workers on it): the engine's timers and stamps follow
    # a simulated clock shared with the simulated platforms instead of the wall clock.
    sim_clock: str | None = Field(
        default=None,
        description="simulated clock <start ISO time>|<time scale>|<begin epoch s> (demo only)",
    )
    # Twice aiokafka's 60 s default: a broker outage shorter than this does not roll back the
    # transaction that was open when it began. Longer ones are recovered by the worker
    # (new producer, restore, resume). Must not exceed the broker's transaction.max.timeout.ms.
    transaction_timeout_ms: int = Field(
        default=120_000,
        ge=1_000,
        le=900_000,
        description="broker-side timeout of each task's open transaction",
    )

    @field_validator("topic_prefix")
    @classmethod
    def _prefix_is_a_topic_name_part(cls, value: str) -> str:
        # Kafka's rule for topic names, in words: the prefix becomes part of every topic.
        bad = sorted({c for c in value if not (c.isascii() and (c.isalnum() or c in "._-"))})
        if bad:
            shown = " ".join(repr(c) for c in bad)
            raise ValueError(
                f"may contain only letters, digits, '.', '_' and '-' (not {shown}), got {value!r}"
            )
        if len(value) > 200:
            raise ValueError(f"at most 200 characters (topic names end at 249), got {len(value)}")
        return value

    @field_validator("sim_clock")
    @classmethod
    def _sim_clock_is_readable(cls, value: str | None) -> str | None:
        if value:
            from engine.simulators.clock import SimClock  # the worker loads it only when set

            SimClock.from_spec(value)
        return value or None

    @field_validator("bootstrap_servers")
    @classmethod
    def _servers_have_ports(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        for server in value.split(","):
            host, sep, port = server.strip().rpartition(":")
            if not sep or not host or not port.isdigit():
                raise ValueError(f"expected host:port[,host:port...], got {server!r}")
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config_file = os.environ.get("Q2C_CONFIG_FILE")
        if config_file:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=Path(config_file)))
        return tuple(sources)


def settings_error(exc: ValidationError) -> SettingsError:
    """pydantic's report as one line, one clause per bad `Q2C_*` variable, each value once."""
    clauses = []
    for err in exc.errors():
        name = "Q2C_" + "_".join(str(p) for p in err["loc"]).upper()
        msg = str(err["msg"]).removeprefix("Value error, ")
        if _is_secret(err["loc"]):
            # A secret's value is never echoed, not even a malformed one.
            clauses.append(f"{name}: {msg}")
            continue
        got = f"got {err.get('input')!r}"
        # Our validators already quote the value; pydantic's own messages do not.
        clauses.append(f"{name}: {msg}" if "got " in msg else f"{name}: {msg}, {got}")
    return SettingsError("invalid configuration: " + "; ".join(clauses))


def load_settings(**overrides: Any) -> Settings:
    """Build settings, turning pydantic's report into one line naming each bad `Q2C_*` variable."""
    config_file = os.environ.get("Q2C_CONFIG_FILE")
    if config_file and not Path(config_file).is_file():
        raise SettingsError(f"Q2C_CONFIG_FILE={config_file!r}: no such file")
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise settings_error(exc) from None


def _is_secret(loc: tuple[int | str, ...]) -> bool:
    field = Settings.model_fields.get(str(loc[0])) if loc else None
    return field is not None and field.annotation == SecretStr | None
