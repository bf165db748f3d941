"""`q2c chaos soak`, two minutes with a broker stall: flat memory, the fault's backlog cleared.

It takes several minutes with its cluster start and drain measurement, more than a default
test may, so it is marked `long`: `pytest -m long tests/integration/test_chaos_soak.py`.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from engine.cli.main import app

pytestmark = [pytest.mark.kafka, pytest.mark.long]


def test_a_short_soak_reports_every_sample_and_passes(tmp_path: Path) -> None:
    if shutil.which("java") is None:
        pytest.skip("the soak starts its own local cluster (Java 17+)")
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app,
        [
            "chaos",
            "soak",
            "--minutes",
            "2",
            "--sample-s",
            "10",
            "--fault-every-s",
            "40",
            "--down",
            "5",
            "--out",
            str(out),
            "--home",
            str(tmp_path),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    figures = json.loads((out / "soak.json").read_text())
    assert figures["passed"] is True, figures["failures"]
    assert len(figures["samples"]) >= 10
    assert figures["faults"] and all(f["lag_zero_after_s"] is not None for f in figures["faults"])
    assert figures["saturation"] > 0 and figures["rate"] == pytest.approx(
        figures["saturation"] / 2, rel=0.01
    )
    assert (out / "soak.png").read_bytes()[:4] == b"\x89PNG"
