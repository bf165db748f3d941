"""The NetSuite SuiteScript 2.1 user-event script (deploy/netsuite/) passes its own Jest tests.

The script runs inside NetSuite, where q2c cannot; its Jest suite (stubs of the `N/*` modules)
checks the payload it POSTs and the HMAC-SHA256 signature the gateway verifies.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.tooling import fetch_once, require_tools

SCRIPT_DIR = Path(__file__).resolve().parents[2] / "deploy" / "netsuite"


def test_the_user_event_script_passes_its_jest_suite() -> None:
    node, npm = require_tools("node", "npm", purpose="to run the NetSuite script's Jest tests")
    install = [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"]
    fetch_once(SCRIPT_DIR / "node_modules" / "jest", install, SCRIPT_DIR)
    jest = SCRIPT_DIR / "node_modules" / "jest" / "bin" / "jest.js"
    proc = subprocess.run(
        [node, str(jest), "--ci"],
        cwd=SCRIPT_DIR,
        capture_output=True,
        text=True,
        timeout=300,  # a hang guard, not a timing assertion
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "failed" not in proc.stderr.split("Tests:")[-1].split("\n")[0], proc.stderr[-1000:]
