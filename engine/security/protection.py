"""Field protection at the producer and consumer edges: seal classified fields, open them again.

On encode, each `confidential` value is Avro-encoded on its own, AEAD-sealed with the primary
key and moved to the `q2c-sealed` header; the record body keeps a placeholder of the same type
(zero, empty, null), so a reader without the key decodes the record but learns nothing. Each
`tokenized` string is replaced in the body by its deterministic token (`tok:` + base64url),
which stays joinable. The associated data binds every sealed value to the topic it was first
written to, the record key and the field path: a ciphertext copied into another record,
another key or another field does not open. Records moved between topics (retry tiers, DLQ,
replay) keep key and header and so stay readable; the worker re-seals when it re-keys a record
for its inbox (`rebind`).

The keyset's location is the setting `field_keyset_file`: `Q2C_FIELD_KEYSET_FILE` in the
environment or `field_keyset_file` in the TOML file `Q2C_CONFIG_FILE` names. Without one,
classified fields travel in clear, as before; `q2c keys init` creates one.
"""

from __future__ import annotations

import base64
import json
import logging
import re
from collections.abc import Sequence
from functools import lru_cache
from io import BytesIO
from pathlib import Path
from typing import Any

from fastavro import parse_schema, schemaless_reader, schemaless_writer

from engine.codec.codec import Codec, default_codec
from engine.codec.errors import DecodeError
from engine.codec.store import SchemaStore, expand
from engine.contracts.base import Record
from engine.security.classification import Classification, ClassifiedField, classified_fields
from engine.security.fieldwalk import placeholder, replace_at
from engine.security.keyring import FileKeysetProvider, Keyring, KeyringError, KeyUnavailable
from engine.settings import load_settings

log = logging.getLogger(__name__)

SEALED_HEADER = "q2c-sealed"
KEYSET_ENV = "Q2C_FIELD_KEYSET_FILE"
TOKEN_PREFIX = "tok:"
MASK = "[confidential]"

Header = tuple[str, bytes]


class SealedFieldError(DecodeError):
    """A sealed field does not open: one line naming the field and why (for the DLQ)."""


def _aad(topic: str, key: bytes | None, path: str) -> bytes:
    return b"q2c-field/v1|" + topic.encode() + b"|" + (key or b"") + b"|" + path.encode()


def _token_ad(path: str) -> bytes:
    # Only the leaf field name: the same account id tokenizes alike in every record and type.
    leaf = path.rpartition(".")[2].split("[")[0]
    return b"q2c-token/v1|" + leaf.encode()


class _FieldCodec:
    """Avro bytes for one classified field's value (what is sealed)."""

    def __init__(self, field: ClassifiedField, defs: dict[str, Any]) -> None:
        self.field = field
        self.parsed = parse_schema(expand(field.schema, defs))
        self.placeholder = placeholder(field.schema, defs)

    def dump(self, value: Any) -> bytes:
        buf = BytesIO()
        schemaless_writer(buf, self.parsed, value)
        return buf.getvalue()

    def load(self, data: bytes) -> Any:
        return schemaless_reader(BytesIO(data), self.parsed, None)


class FieldProtection:
    """Seals, opens and masks the classified fields of records of the current schemas."""

    def __init__(self, keyring: Keyring | None, store: SchemaStore) -> None:
        self.keyring = keyring
        self.store = store
        self._fields: dict[str, tuple[_FieldCodec, ...]] = {}

    def fields(self, type_name: str) -> tuple[_FieldCodec, ...]:
        """The classified fields of a type (computed once per type)."""
        found = self._fields.get(type_name)
        if found is None:
            defs = self.store.current.definitions
            found = tuple(_FieldCodec(f, defs) for f in classified_fields(type_name, defs))
            self._fields[type_name] = found
        return found

    # -- producer edge -------------------------------------------------------------------------
    def seal(
        self, type_name: str, record: dict[str, Any], topic: str, key: bytes | None
    ) -> tuple[dict[str, Any], Header | None]:
        """A copy of `record` with its classified values replaced (`record` is left as it was),
        and the `q2c-sealed` header (or None)."""
        codecs = self.fields(type_name)
        if not codecs or self.keyring is None:
            return record, None
        keyring = self.keyring
        record = dict(record)
        sealed: dict[str, str] = {}
        tokens: list[str] = []
        for fc in codecs:

            def protect(path: str, value: Any, fc: _FieldCodec = fc) -> Any:
                if fc.field.classification is Classification.TOKENIZED and isinstance(value, str):
                    tokens.append(path)
                    raw = keyring.tokenize(value.encode(), _token_ad(path))
                    return TOKEN_PREFIX + base64.urlsafe_b64encode(raw).decode()
                ciphertext = keyring.seal(fc.dump(value), _aad(topic, key, path))
                sealed[path] = base64.b64encode(ciphertext).decode()
                return fc.placeholder

            replace_at(record, fc.field.steps, protect)
        if not sealed and not tokens:
            return record, None
        header = json.dumps({"t": topic, "f": sealed, "k": tokens}, separators=(",", ":"))
        return record, (SEALED_HEADER, header.encode())

    # -- consumer edge -------------------------------------------------------------------------
    def open(
        self,
        type_name: str,
        record: dict[str, Any],
        sealed_header: bytes,
        key: bytes | None,
        where: tuple[str | None, int | None, int | None] = (None, None, None),
    ) -> dict[str, Any]:
        """`record` with every sealed and tokenized value restored; `SealedFieldError` if not."""

        def fail(reason: str) -> SealedFieldError:
            return SealedFieldError(*where, reason)

        if self.keyring is None:
            raise fail("record has sealed fields and this process has no field keyset")
        keyring = self.keyring
        try:
            meta = json.loads(sealed_header)
            topic, sealed, tokens = meta["t"], meta["f"], set(meta["k"])
        except (ValueError, KeyError, TypeError):
            raise fail(f"{SEALED_HEADER} header is malformed") from None
        by_name = {fc.field.name: fc for fc in self.fields(type_name)}
        for path in [*sealed, *tokens]:
            fc = by_name.get(generic_path(path))
            if fc is None:
                raise fail(f"sealed field {path} is not a classified field of {type_name}")
            try:
                if path in tokens:
                    token = str(_get(record, path)).removeprefix(TOKEN_PREFIX)
                    raw = base64.urlsafe_b64decode(token)
                    _set(record, path, keyring.detokenize(raw, _token_ad(path)).decode())
                else:
                    ciphertext = base64.b64decode(sealed[path])
                    _set(record, path, fc.load(keyring.open(ciphertext, _aad(topic, key, path))))
            except KeyUnavailable as exc:
                raise fail(f"sealed field {path}: {exc}") from None
            except (ValueError, KeyError, IndexError, TypeError):
                raise fail(f"sealed field {path} is malformed") from None
        return record

    def rebind(
        self, headers: Sequence[Header], old_key: bytes | None, new_key: bytes
    ) -> tuple[Header, ...]:
        """Headers with every sealed value re-sealed for `new_key` (the worker's inbox forward)."""
        out = []
        for name, value in headers:
            if name == SEALED_HEADER and self.keyring is not None:
                meta = json.loads(value)
                topic = meta["t"]
                meta["f"] = {
                    path: base64.b64encode(
                        self.keyring.seal(
                            self.keyring.open(base64.b64decode(ct), _aad(topic, old_key, path)),
                            _aad(topic, new_key, path),
                        )
                    ).decode()
                    for path, ct in meta["f"].items()
                }
                value = json.dumps(meta, separators=(",", ":")).encode()
            out.append((name, value))
        return tuple(out)

    # -- operator surfaces ---------------------------------------------------------------------
    def mask(self, type_name: str, record: dict[str, Any]) -> dict[str, Any]:
        """`record` with every classified value (clear, placeholder or token) shown as a mask."""
        for fc in self.fields(type_name):
            replace_at(record, fc.field.steps, lambda _path, _value: MASK)
        return record


_PART = re.compile(r"\[(\d+)\]|\{([^}]*)\}|([^.\[{]+)")


def generic_path(path: str) -> str:
    """`rates[1].hourly_rate` -> `rates[].hourly_rate`: the classified field a value is of."""
    return re.sub(r"\{[^}]*\}", "{}", re.sub(r"\[\d+\]", "[]", path))


def _parts(path: str) -> list[str | int]:
    out: list[str | int] = []
    for index, map_key, name in _PART.findall(path):
        out.append(int(index) if index else (name or map_key))
    return out


def _get(record: Any, path: str) -> Any:
    for part in _parts(path):
        record = record[part]
    return record


def _set(record: Any, path: str, value: Any) -> None:
    *head, last = _parts(path)
    for part in head:
        record = record[part]
    record[last] = value


def sealed_header(headers: Sequence[Header] | None) -> bytes | None:
    """The `q2c-sealed` header's value, if the record has one."""
    if headers:
        for name, value in headers:
            if name == SEALED_HEADER:
                return value
    return None


def seal_model(
    model: Record, topic: str, key: bytes | None, codec: Codec | None = None
) -> tuple[bytes, tuple[Header, ...]]:
    """The record value for `model` on `topic` under `key`, and the header(s) to add.

    A type without classified fields costs one dict lookup more than `Codec.encode`.
    """
    return seal_record(model.AVRO_NAME, model.model_dump(), topic, key, codec)


def seal_record(
    type_name: str,
    record: dict[str, Any],
    topic: str,
    key: bytes | None,
    codec: Codec | None = None,
) -> tuple[bytes, tuple[Header, ...]]:
    """`seal_model` for a record already in its model's dump form (plain values)."""
    record, header = active().seal(type_name, record, topic, key)
    value = (codec or default_codec()).encode_record(type_name, record)
    return value, (() if header is None else (header,))


STATE_MAGIC = b"\x00q2cS1"  # never the start of a JSON state
STATE_AD = b"q2c-state/v1"


def seal_state(raw: bytes) -> bytes:
    """A saga state's bytes for the changelog: AEAD-sealed when the process has a keyset."""
    keyring = active().keyring
    return raw if keyring is None else STATE_MAGIC + keyring.seal(raw, STATE_AD)


def open_state(data: bytes) -> bytes:
    """Inverse of `seal_state`; `KeyUnavailable` (a ValueError) if the key is gone."""
    if not data.startswith(STATE_MAGIC):
        return data
    keyring = active().keyring
    if keyring is None:
        raise KeyUnavailable("saga state is sealed and this process has no field keyset")
    try:
        return keyring.open(data[len(STATE_MAGIC) :], STATE_AD)
    except KeyUnavailable as exc:
        raise KeyUnavailable(f"sealed saga state: {exc}") from None


def keyset_file() -> Path | None:
    """Where this process's field keyset is (the `field_keyset_file` setting), or None."""
    return load_settings().field_keyset_file


def load_keyring(path: Path) -> Keyring:
    """The keyring at `path`; `KeyringError` naming the setting and the file if it fails."""
    try:
        return FileKeysetProvider(path).load()
    except KeyringError as exc:
        raise KeyringError(f"{KEYSET_ENV}: {exc}") from None


@lru_cache(maxsize=1)
def active() -> FieldProtection:
    """The process's field protection, from the keyset `keyset_file()` names (None: no sealing).

    `KeyringError` (one line) when the setting names a missing or unreadable keyset.
    """
    path = keyset_file()
    keyring = None if path is None else load_keyring(path)
    return FieldProtection(keyring, default_codec().store)
