"""External tools some tests drive (java + mvn, node + npm): found on PATH, fetched once."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest


def require_tools(*names: str, purpose: str) -> list[str]:
    """Paths of the named executables; a missing one fails the test under CI, skips it elsewhere."""
    found = {name: shutil.which(name) for name in names}
    missing = [name for name, path in found.items() if path is None]
    if missing:
        message = f"{' and '.join(missing)} needed {purpose}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return [path for path in found.values() if path is not None]


def fetch_once(ready: Path, argv: list[str], cwd: Path) -> None:
    """Run a dependency fetch (mvn, npm) in `cwd` unless its result `ready` exists already."""
    if not ready.exists():
        subprocess.run(argv, cwd=cwd, check=True, timeout=600, capture_output=True)
