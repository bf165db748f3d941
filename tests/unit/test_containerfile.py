"""The Containerfile's promises (scripts/build_image.sh builds and runs it; this guards edits)."""

from __future__ import annotations

import json
import re
from pathlib import Path

CONTAINERFILE = Path(__file__).resolve().parents[2] / "Containerfile"


def final_stage() -> dict[str, list[str]]:
    """Instruction -> arguments of the last stage, continuation lines joined."""
    text = re.sub(r"\\\n\s*", " ", CONTAINERFILE.read_text())
    lines = [
        line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")
    ]
    last_from = max(i for i, line in enumerate(lines) if line.startswith("FROM "))
    stage: dict[str, list[str]] = {}
    for line in lines[last_from:]:
        instruction, _, args = line.partition(" ")
        stage.setdefault(instruction, []).append(args)
    return stage


def test_q2c_is_pid_1_so_sigterm_reaches_the_worker() -> None:
    stage = final_stage()
    (entrypoint,) = stage["ENTRYPOINT"]
    assert json.loads(entrypoint) == ["q2c"]  # exec form: no shell in between
    assert json.loads(stage["CMD"][0]) == ["run"]


def test_runs_as_a_numeric_non_root_user() -> None:
    (user,) = final_stage()["USER"]
    uid = int(user.split(":")[0])
    assert uid >= 1000


def test_healthcheck_polls_health_and_nothing_is_built_in_the_final_stage() -> None:
    stage = final_stage()
    (healthcheck,) = stage["HEALTHCHECK"]
    assert "/health" in healthcheck and "CMD [" in healthcheck
    assert all("pip install" not in run for run in stage.get("RUN", []))
    assert any(copy.startswith("--from=install /opt/q2c") for copy in stage["COPY"])
