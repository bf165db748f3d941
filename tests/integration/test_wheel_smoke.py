"""The wheel, installed into a fresh venv outside the checkout, runs q2c against the broker.

What a new user gets from `pip install q2c`: the CLI starts without the optional extras, the
schemas and the topic catalog come from the wheel itself, and a worker turns a published
closed-won into a validate-account command.
"""

from __future__ import annotations

import asyncio
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engine.contracts.commands import ValidateAccount
from engine.settings import Settings
from tests.integration.engine_support import read_commands

pytestmark = pytest.mark.kafka


def _run(args: list[str], *, cwd: Path, env: dict[str, str], timeout: float = 600) -> str:
    proc = subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert proc.returncode == 0, f"{args} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory, repo_root: Path) -> Path:
    """A venv with only the freshly built wheel (and its dependencies) installed."""
    work = tmp_path_factory.mktemp("wheel-smoke")
    assert not work.is_relative_to(repo_root)
    env = {"PATH": "/usr/bin:/bin", "HOME": str(work)}
    dist = work / "dist"
    # The dev venv has setuptools and build: no download of build requirements.
    _run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(dist), str(repo_root)],
        cwd=work,
        env=env,
    )
    assert len(list(dist.glob("q2c-*.tar.gz"))) == 1
    (wheel,) = dist.glob("q2c-*-py3-none-any.whl")
    venv = work / "venv"
    _run([sys.executable, "-m", "venv", str(venv)], cwd=work, env=env)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "-q", "--disable-pip-version-check"]
    _run([*pip, "install", str(wheel)], cwd=work, env=env)
    return venv


def _env(venv: Path, settings: Settings, home: Path) -> dict[str, str]:
    return {
        "PATH": f"{venv / 'bin'}:/usr/bin:/bin",
        "HOME": str(home),
        "Q2C_BOOTSTRAP_SERVERS": settings.bootstrap_servers or "",
        "Q2C_TOPIC_PREFIX": settings.topic_prefix,
        "Q2C_GROUP_ID": settings.group_id,
    }


def test_the_installed_wheel_runs_a_worker(
    installed: Path, kafka_bootstrap: str, unique: str, repo_root: Path, tmp_path: Path
) -> None:
    settings = Settings(
        bootstrap_servers=kafka_bootstrap, topic_prefix=f"w{unique}.", group_id=f"w{unique}"
    )
    env = _env(installed, settings, tmp_path)
    q2c = str(installed / "bin" / "q2c")

    assert "schemas" in _run([q2c, "--help"], cwd=tmp_path, env=env)
    where = _run(
        [str(installed / "bin" / "python"), "-c", "import engine.paths as p; print(p.SCHEMAS_DIR)"],
        cwd=tmp_path,
        env=env,
    )
    assert Path(where.strip()).is_relative_to(installed)  # the wheel's copy, not the checkout's
    shipped = len(list((repo_root / "schemas").glob("*.avsc")))
    checked = _run([q2c, "schemas", "check", "--quiet"], cwd=tmp_path, env=env)
    assert f"ok: {shipped} schemas parse; compatible with v1" in checked

    assert "applied:" in _run([q2c, "topics", "apply"], cwd=tmp_path, env=env)
    assert _run([q2c, "topics", "plan"], cwd=tmp_path, env=env).strip() == "no drift"

    log = tmp_path / "worker.log"
    with log.open("wb") as out:
        worker = subprocess.Popen(
            [q2c, "run", "--no-http", "--worker-id", "wheel"],
            cwd=tmp_path,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    try:
        event = tmp_path / "closed-won.json"
        shutil.copyfile(repo_root / "tests" / "fixtures" / "events" / "closed-won.json", event)
        _run([q2c, "publish", "--type", "closed-won", "--file", str(event)], cwd=tmp_path, env=env)
        validations: list[ValidateAccount] = []
        for _ in range(180):  # bounded: about 3 min for the group join and one transaction
            commands = asyncio.run(read_commands(settings))
            validations = [c for c in commands if isinstance(c, ValidateAccount)]
            if validations or worker.poll() is not None:
                break
            time.sleep(1)
    finally:
        if worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
        try:
            code = worker.wait(60)
        except subprocess.TimeoutExpired:
            worker.kill()
            code = worker.wait(30)
    tail = log.read_text(errors="replace")[-3000:]
    assert [c.deal_id for c in validations] == ["deal-1001"], tail
    assert code == 0, tail
