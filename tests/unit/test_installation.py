"""An incomplete installation is refused up front; checks over nothing fail; extras stay optional."""

from __future__ import annotations

import shutil
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest
from typer.testing import CliRunner

from engine.cli import extras
from engine.cli.main import app
from engine.installation import IncompleteInstallation, check_installation
from engine.paths import SCHEMAS_DIR
from engine.topics.loader import DEFAULT_CATALOG

runner = CliRunner()
OPTIONAL = ("psutil", "faust", "pyinstrument")


def q2c(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The CLI in a child process, as an operator runs it (env replaces Q2C_* settings)."""
    return subprocess.run(
        [sys.executable, "-m", "engine.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={"PATH": "/usr/bin:/bin", **(env or {})},
    )


def test_the_repository_installation_is_complete() -> None:
    check_installation()


def test_no_schemas_refuses_to_start(tmp_path: Path) -> None:
    with pytest.raises(IncompleteInstallation, match=r"no Avro schemas in .*empty"):
        check_installation(tmp_path / "empty", DEFAULT_CATALOG)


def test_a_missing_message_schema_refuses_to_start(tmp_path: Path) -> None:
    root = tmp_path / "schemas"
    shutil.copytree(SCHEMAS_DIR, root, ignore=shutil.ignore_patterns("history"))
    (root / "ValidateAccount.avsc").unlink()
    with pytest.raises(
        IncompleteInstallation, match=r"1 message schema\(s\) missing .*ValidateAccount"
    ):
        check_installation(root, DEFAULT_CATALOG)


@pytest.mark.parametrize("content", [None, "", "topics: []\n"])
def test_no_catalog_refuses_to_start(tmp_path: Path, content: str | None) -> None:
    catalog = tmp_path / "catalog.yaml"
    if content is not None:
        catalog.write_text(content)
    with pytest.raises(IncompleteInstallation, match=r"topic catalog .*catalog\.yaml"):
        check_installation(SCHEMAS_DIR, catalog)


def test_worker_and_publisher_refuse_with_one_line(tmp_path: Path, repo_root: Path) -> None:
    env = {"Q2C_ROOT": str(tmp_path), "Q2C_BOOTSTRAP_SERVERS": "127.0.0.1:9"}
    event = str(repo_root / "tests" / "fixtures" / "events" / "closed-won.json")
    for args in (
        ["run", "--log-format", "text"],
        ["publish", "--type", "closed-won", "--file", event],
    ):
        result = q2c(*args, env=env)
        assert result.returncode != 0, args
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "no Avro schemas in" in lines[0], (args, result.stderr)


def test_schemas_check_over_no_schemas_fails(tmp_path: Path) -> None:
    result = runner.invoke(app, ["schemas", "check", "--root", str(tmp_path)])
    assert result.exit_code == 1
    assert f"no Avro schemas (*.avsc) in {tmp_path}" in result.output


def test_topics_plan_over_an_empty_catalog_fails(tmp_path: Path) -> None:
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text("topics: []\n")
    result = runner.invoke(app, ["topics", "plan", "--catalog", str(catalog)])
    assert result.exit_code != 0
    assert "is invalid" in result.output and "at least 1 item" in result.output


def test_cli_start_up_imports_no_optional_extra() -> None:
    probe = "import sys, engine.cli.main; print(sorted(m for m in %r if m in sys.modules))"
    proc = subprocess.run(
        [sys.executable, "-c", probe % (OPTIONAL,)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert proc.stdout.strip() == "[]"


def test_bench_without_its_extra_names_the_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(extras, "find_spec", lambda name: None)
    result = runner.invoke(app, ["bench", "--quick"])
    assert result.exit_code == 2
    assert "q2c bench needs psutil, faust: pip install 'q2c[bench]'" in result.output


def test_version_comes_from_the_package_metadata() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.output.strip() == f"q2c {version('q2c')}"


def test_an_installed_package_keeps_runtime_files_out_of_site_packages(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from engine import paths

    site = tmp_path / "site-packages" / "engine" / "_assets"
    monkeypatch.setattr(paths, "PROJECT_ROOT", site)
    monkeypatch.setattr(paths, "KAFKA_DEPLOY_DIR", site / "deploy" / "kafka")
    monkeypatch.delenv("Q2C_HOME", raising=False)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    assert paths.runtime_home() == tmp_path / "state" / "q2c"
    assert paths.kafka_jar_dir() == tmp_path / "state" / "q2c" / "kafka-jars"
    monkeypatch.setenv("Q2C_HOME", str(tmp_path / "home"))
    assert paths.kafka_jar_dir() == tmp_path / "home" / "kafka-jars"


def test_a_checkout_keeps_them_in_the_checkout(monkeypatch: pytest.MonkeyPatch) -> None:
    from engine import paths

    monkeypatch.delenv("Q2C_HOME", raising=False)
    assert paths.is_checkout(paths.PROJECT_ROOT)
    assert paths.runtime_home() == paths.PROJECT_ROOT / ".q2c"
    assert paths.kafka_jar_dir() == paths.PROJECT_ROOT / "deploy" / "kafka" / "target" / "lib"


def test_q2c_root_overrides_the_assets(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from engine import paths

    monkeypatch.setenv("Q2C_ROOT", str(tmp_path))
    assert paths.asset_root() == tmp_path
    monkeypatch.delenv("Q2C_ROOT")
    assert paths.asset_root() == paths.PROJECT_ROOT
