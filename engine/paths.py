"""Where the repository's non-Python assets live (schemas, topic catalog, deploy files)."""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
# The engine runs from a checkout (editable install); Q2C_ROOT points elsewhere when it does not.
PROJECT_ROOT = Path(os.environ.get("Q2C_ROOT", PACKAGE_DIR.parent)).resolve()
SCHEMAS_DIR = PROJECT_ROOT / "schemas"
TOPICS_DIR = PROJECT_ROOT / "topics"
DEPLOY_DIR = PROJECT_ROOT / "deploy"
KAFKA_DEPLOY_DIR = DEPLOY_DIR / "kafka"


def runtime_home() -> Path:
    """Folder for local runtime files (broker data, pid files); ignored by git."""
    return Path(os.environ.get("Q2C_HOME", PROJECT_ROOT / ".q2c")).resolve()
