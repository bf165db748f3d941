"""`q2c keys init|list|rotate|remove`: the field-protection keyset (Tink AEAD + AES-SIV).

The keyset file is `--keyset`, else the `field_keyset_file` setting (`Q2C_FIELD_KEYSET_FILE`,
or the TOML config file's `field_keyset_file`). Key material is never printed: `list` shows key
ids, purpose, primary and status only. A missing or unreadable keyset is one `error:` line.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from engine.security.keyring import FileKeysetProvider, Keyring, KeyringError
from engine.security.protection import KEYSET_ENV, keyset_file, load_keyring

app = typer.Typer(
    help="Manage the field-protection keyset (seal + tokenize).", no_args_is_help=True
)
KEYSET_OPTION = typer.Option(None, "--keyset", help=f"keyset file (default ${KEYSET_ENV})")


def _provider(keyset: Path | None) -> FileKeysetProvider:
    path = keyset or keyset_file()
    if path is None:
        raise KeyringError(f"no keyset file: pass --keyset or set {KEYSET_ENV}")
    return FileKeysetProvider(path)


def _load(provider: FileKeysetProvider) -> Keyring:
    return load_keyring(provider.path)


def _show(keyring: Keyring) -> None:
    table = Table("purpose", "key id", "primary", "status")
    for key in keyring.key_infos():
        table.add_row(key.purpose, str(key.key_id), "yes" if key.primary else "", key.status)
    Console().print(table)


@app.command()
def init(keyset: Path | None = KEYSET_OPTION) -> None:
    """Create a keyset file with one fresh key per purpose (refuses to overwrite)."""
    provider = _provider(keyset)
    if provider.path.exists():
        typer.echo(f"{provider.path} exists: use `q2c keys rotate`", err=True)
        raise typer.Exit(1)
    keyring = Keyring.generate()
    provider.save(keyring)
    _show(keyring)


@app.command("list")
def list_keys(keyset: Path | None = KEYSET_OPTION) -> None:
    """Key ids, purpose, primary and status (never key material)."""
    _show(_load(_provider(keyset)))


@app.command()
def rotate(keyset: Path | None = KEYSET_OPTION) -> None:
    """Add a new primary key per purpose; older keys stay so existing ciphertext still opens.

    Restart (or roll) the q2c processes to start sealing with the new key.
    """
    provider = _provider(keyset)
    keyring = _load(provider).rotated()
    provider.save(keyring)
    _show(keyring)


@app.command()
def remove(key_id: int, keyset: Path | None = KEYSET_OPTION) -> None:
    """Remove a non-primary key: records sealed under it can no longer be opened (they go to
    the DLQ with the reason). Replay or re-seal them first."""
    provider = _provider(keyset)
    current = _load(provider)
    try:
        keyring = current.without(key_id)
    except KeyringError as exc:  # no such key, or the primary: refused, not a bad setting
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    provider.save(keyring)
    _show(keyring)
