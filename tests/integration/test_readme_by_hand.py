"""The README's "By hand" walk, run line by line as written, ends in a completed deal."""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.cli_support import ROOT, q2c

pytestmark = pytest.mark.kafka
# Lines a test cannot or need not run: set-up (the suite has its venv and broker) and `kill`
# (the test stops what it started by pid).
SKIP = ("scripts/bootstrap.sh", "q2c kafka start", "kill ")
DEAL = "deal-1001"


def by_hand_lines(readme: str) -> list[str]:
    """The shell lines of the first code block under "## By hand", comments removed."""
    section = readme.split("## By hand", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.DOTALL)
    assert block is not None, "no sh block under ## By hand"
    lines = [
        re.split(r"\s+#\s", line, maxsplit=1)[0].strip() for line in block.group(1).splitlines()
    ]
    return [line for line in lines if line]


def test_by_hand_lines_are_parsed() -> None:
    lines = by_hand_lines((ROOT / "README.md").read_text())
    assert "q2c run &" in lines and any(line.startswith("q2c simulate") for line in lines)
    assert lines[-1].startswith("kill ")


def _background(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "engine.cli.main", *command],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def _state(env: dict[str, str]) -> str | None:
    result = q2c("sagas", "show", DEAL, "--json", env=env)
    if result.returncode != 0:
        return None
    sagas = {s["saga_type"]: s["state"] for s in json.loads(result.stdout)}
    return sagas.get("quote-to-cash")


def _republish_says_already_applied(env: dict[str, str], tmp_path: Path) -> None:
    shown = json.loads(q2c("sagas", "show", DEAL, "--json", env=env).stdout)
    [saga] = [s for s in shown if s["saga_type"] == "quote-to-cash"]
    first_id = saga["history"][0]["event_id"]  # the closed-won that started it
    data = json.loads((ROOT / "tests/fixtures/events/by-hand/closed-won.json").read_text())
    data["envelope"]["event_id"] = first_id
    again = tmp_path / "closed-won-again.json"
    again.write_text(json.dumps(data))
    result = q2c("publish", "--type", "closed-won", "--file", str(again), env=env)
    assert result.returncode == 0, result.stderr
    assert f"event {first_id} was already applied by quote-to-cash {DEAL}" in result.stderr


def test_readme_by_hand_walk_reaches_completed(
    kafka_bootstrap: str, unique: str, tmp_path: Path
) -> None:
    env = {
        "Q2C_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "Q2C_TOPIC_PREFIX": f"hand{unique}.",
        "Q2C_GROUP_ID": f"hand{unique}",
        "Q2C_HTTP_ENABLED": "false",  # no port shared with other tests
    }
    full_env = {**{k: v for k, v in os.environ.items() if not k.startswith("Q2C_")}, **env}
    background: list[subprocess.Popen[bytes]] = []
    try:
        for line in by_hand_lines((ROOT / "README.md").read_text()):
            if line.startswith(SKIP):
                continue
            for part in line.rstrip("&").split("&&"):
                words = shlex.split(part)
                assert words[0] == "q2c", line
                if line.endswith("&"):
                    log = tmp_path / f"{words[1]}.log"
                    background.append(_background(words[1:], full_env, log))
                    continue
                result = q2c(*words[1:], env=env)
                assert result.returncode == 0, (line, result.stdout, result.stderr)
        # Poll (bounded) until the worker and the simulated platforms have finished the deal.
        deadline = time.monotonic() + 240
        state = _state(env)
        while state != "completed" and time.monotonic() < deadline:
            assert all(p.poll() is None for p in background), [
                (tmp_path / f).read_text()[-2000:] for f in os.listdir(tmp_path)
            ]
            time.sleep(3)
            state = _state(env)
        assert state == "completed", [
            (tmp_path / f).read_text()[-3000:] for f in os.listdir(tmp_path)
        ]
    finally:
        for proc in background:
            _stop(proc)
