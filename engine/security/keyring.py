"""Tink keysets for field protection: AEAD (AES-256-GCM) to seal, deterministic AEAD (AES-SIV)
to tokenize; loaded from a keyset file, optionally wrapped by a KMS-style key.

The keyset file is JSON, `{"aead": <Tink JSON keyset>, "daead": <Tink JSON keyset>}`. With a
key-encryption key (any Tink `Aead`: a Cloud KMS client's `get_aead(uri)` or a local master
keyset) both keysets are stored encrypted with it (Tink's `serialize_encrypted`); without one
they are stored in clear, for development, with file mode 0600.

Every Tink ciphertext starts with a 5-byte prefix naming the key that made it, so rotation
(`rotate`) only adds a key and makes it primary: older ciphertext stays readable while its key
is in the keyset; after `remove` it fails with `KeyUnavailable`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import tink
from tink import aead, daead, secret_key_access
from tink.proto import tink_pb2

from engine.settings import SettingsError

aead.register()
daead.register()

TEMPLATES = {
    "aead": aead.aead_key_templates.AES256_GCM,
    "daead": daead.deterministic_aead_key_templates.AES256_SIV,
}
KEYSET_AD = b"q2c-field-keyset"


class KeyringError(SettingsError):
    """The keyset file is missing, unreadable or does not hold q2c's two keysets (a
    configuration error: `q2c` reports it as one line, exit code 2)."""


class KeyUnavailable(ValueError):
    """A ciphertext's key is not in the keyset (removed), or the ciphertext was altered."""


def key_id_of(ciphertext: bytes) -> int | None:
    """The Tink key id in a ciphertext's prefix (None if it has no Tink prefix)."""
    if len(ciphertext) < 5 or ciphertext[0] != 1:
        return None
    return int.from_bytes(ciphertext[1:5], "big")


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """One key of a keyset as `q2c keys list` shows it (never the key material)."""

    purpose: str
    key_id: int
    primary: bool
    status: str


class Keyring:
    """The AEAD and deterministic AEAD primitives of one keyset pair."""

    def __init__(self, handles: dict[str, tink.KeysetHandle]) -> None:
        self.handles = handles
        self._aead = handles["aead"].primitive(aead.Aead)
        self._daead = handles["daead"].primitive(daead.DeterministicAead)

    @classmethod
    def generate(cls) -> Keyring:
        """A new keyring with one fresh key per purpose."""
        return cls({p: tink.new_keyset_handle(t) for p, t in TEMPLATES.items()})

    def seal(self, plaintext: bytes, associated_data: bytes) -> bytes:
        """AEAD-encrypt with the primary key; the output names that key."""
        return self._aead.encrypt(plaintext, associated_data)

    def open(self, ciphertext: bytes, associated_data: bytes) -> bytes:
        """Decrypt a `seal` output; `KeyUnavailable` if its key is gone or it was altered."""
        try:
            return self._aead.decrypt(ciphertext, associated_data)
        except tink.TinkError:
            raise KeyUnavailable(_why(ciphertext, self.key_ids("aead"))) from None

    def tokenize(self, plaintext: bytes, associated_data: bytes) -> bytes:
        """Deterministic AEAD: the same value always gives the same token under one key."""
        return self._daead.encrypt_deterministically(plaintext, associated_data)

    def detokenize(self, token: bytes, associated_data: bytes) -> bytes:
        """The value of a `tokenize` output; `KeyUnavailable` as for `open`."""
        try:
            return self._daead.decrypt_deterministically(token, associated_data)
        except tink.TinkError:
            raise KeyUnavailable(_why(token, self.key_ids("daead"))) from None

    def key_ids(self, purpose: str) -> set[int]:
        return {k.key_id for k in self.key_infos() if k.purpose == purpose}

    def key_infos(self) -> Iterator[KeyInfo]:
        """Every key's id, role and status (no key material)."""
        for purpose, handle in self.handles.items():
            info = handle.keyset_info()
            for key in info.key_info:
                status = tink_pb2.KeyStatusType.Name(key.status)
                yield KeyInfo(purpose, key.key_id, key.key_id == info.primary_key_id, status)

    def rotated(self) -> Keyring:
        """A keyring with a new primary key per purpose; every older key kept for reading."""
        return Keyring({p: _add_primary(h, TEMPLATES[p]) for p, h in self.handles.items()})

    def without(self, key_id: int) -> Keyring:
        """A keyring with key `key_id` removed (its ciphertext becomes unreadable)."""
        if not any(key_id in self.key_ids(p) for p in self.handles):
            raise KeyringError(f"no key {key_id} in the keyset")
        out = {}
        for purpose, handle in self.handles.items():
            keyset = _keyset(handle)
            if keyset.primary_key_id == key_id:
                raise KeyringError(f"key {key_id} is the primary {purpose} key: rotate first")
            kept = [k for k in keyset.key if k.key_id != key_id]
            del keyset.key[:]
            keyset.key.extend(kept)
            out[purpose] = _handle(keyset)
        return Keyring(out)


def _why(ciphertext: bytes, known: set[int]) -> str:
    key_id = key_id_of(ciphertext)
    if key_id is not None and key_id not in known:
        return f"encrypted under key {key_id}, which is not in the keyset (removed?)"
    return "ciphertext does not open with its key (altered, or moved to another record)"


def _keyset(handle: tink.KeysetHandle) -> tink_pb2.Keyset:
    raw = tink.proto_keyset_format.serialize(handle, secret_key_access.TOKEN)
    return tink_pb2.Keyset.FromString(raw)


def _handle(keyset: tink_pb2.Keyset) -> tink.KeysetHandle:
    return tink.proto_keyset_format.parse(keyset.SerializeToString(), secret_key_access.TOKEN)


def _add_primary(handle: tink.KeysetHandle, template: tink_pb2.KeyTemplate) -> tink.KeysetHandle:
    keyset = _keyset(handle)
    taken = {k.key_id for k in keyset.key}
    fresh = _keyset(tink.new_keyset_handle(template)).key[0]
    while fresh.key_id in taken:  # ids are random 32-bit; a clash is unlikely, not impossible
        fresh = _keyset(tink.new_keyset_handle(template)).key[0]
    keyset.key.append(fresh)
    keyset.primary_key_id = fresh.key_id
    return _handle(keyset)


class KeysetProvider(Protocol):
    """Where a keyring comes from and goes to (a file, a KMS-wrapped file, a secret store)."""

    def load(self) -> Keyring: ...

    def save(self, keyring: Keyring) -> None: ...


class FileKeysetProvider:
    """A keyset file; wrapped with `kek` (a KMS-style Tink `Aead`) when one is given."""

    def __init__(self, path: Path, kek: aead.Aead | None = None) -> None:
        self.path = path
        self.kek = kek

    def load(self) -> Keyring:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            handles = {}
            for purpose in TEMPLATES:
                text = data[purpose]
                handles[purpose] = (
                    tink.json_proto_keyset_format.parse_encrypted(text, self.kek, KEYSET_AD)
                    if self.kek is not None
                    else tink.json_proto_keyset_format.parse(text, secret_key_access.TOKEN)
                )
        except OSError as exc:
            raise KeyringError(f"keyset file {self.path}: {exc.strerror}") from None
        except (ValueError, KeyError, TypeError, tink.TinkError):
            raise KeyringError(
                f"keyset file {self.path} is not a q2c keyset (aead + daead)"
                + (" or the key-encryption key does not open it" if self.kek else "")
            ) from None
        return Keyring(handles)

    def save(self, keyring: Keyring) -> None:
        data = {
            purpose: (
                tink.json_proto_keyset_format.serialize_encrypted(handle, self.kek, KEYSET_AD)
                if self.kek is not None
                else tink.json_proto_keyset_format.serialize(handle, secret_key_access.TOKEN)
            )
            for purpose, handle in keyring.handles.items()
        }
        tmp = self.path.with_name(self.path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(data, out)
        os.replace(tmp, self.path)  # readers never see a half-written keyset
