"""`q2c keys`: init, rotate keeps old keys, remove refuses the primary; no key material shown."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from engine.cli.main import app
from engine.security.keyring import FileKeysetProvider

runner = CliRunner()


def test_init_rotate_remove(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    args = ["--keyset", str(path)]
    assert runner.invoke(app, ["keys", "init", *args]).exit_code == 0
    assert runner.invoke(app, ["keys", "init", *args]).exit_code == 1  # never overwrites
    first = FileKeysetProvider(path).load()
    sealed = first.seal(b"150.00", b"ad")
    rotated = runner.invoke(app, ["keys", "rotate", *args])
    assert rotated.exit_code == 0, rotated.output
    keyring = FileKeysetProvider(path).load()
    assert len(list(keyring.key_infos())) == 4
    assert keyring.open(sealed, b"ad") == b"150.00"
    primary = next(k.key_id for k in keyring.key_infos() if k.primary and k.purpose == "aead")
    refused = runner.invoke(app, ["keys", "remove", str(primary), *args])
    assert refused.exit_code == 1 and "primary" in refused.output
    old = next(k.key_id for k in first.key_infos() if k.purpose == "aead")
    assert runner.invoke(app, ["keys", "remove", str(old), *args]).exit_code == 0
    material = json.loads(path.read_text())["aead"]
    listed = runner.invoke(app, ["keys", "list", *args]).output
    assert str(old) not in listed and str(primary) in listed
    assert json.loads(material)["key"][0]["keyData"]["value"] not in listed
    assert path.stat().st_mode & 0o077 == 0  # owner-only file
