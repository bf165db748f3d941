"""Where the engine's non-Python assets live: Avro schemas, topic catalog, Kafka pom.

Three places, first match wins:

1. `Q2C_ROOT`, a folder laid out like the repository (`schemas/`, `topics/`, `deploy/kafka/`);
2. the repository checkout this package was imported from (an editable install), so a
   developer's edits to `schemas/` take effect without a rebuild;
3. the copies the wheel carries in `engine/_assets/`, found through `importlib.resources`
   (`setup.py` copies them there at build time from the same repository folders).
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
_CHECKOUT = PACKAGE_DIR.parent
ASSETS_PACKAGE_DIR = "_assets"


def is_checkout(folder: Path) -> bool:
    """True when `folder` is a q2c source tree (the package runs from its repository)."""
    return (folder / "pyproject.toml").is_file() and (folder / "schemas").is_dir()


def asset_root() -> Path:
    """The folder holding `schemas/`, `topics/` and `deploy/kafka/` for this process."""
    override = os.environ.get("Q2C_ROOT")
    if override:
        return Path(override).resolve()
    if is_checkout(_CHECKOUT):
        return _CHECKOUT
    # A regular (unzipped) install: the Traversable is a real folder on disk.
    return Path(str(resources.files("engine").joinpath(ASSETS_PACKAGE_DIR)))


PROJECT_ROOT = asset_root()
SCHEMAS_DIR = PROJECT_ROOT / "schemas"
TOPICS_DIR = PROJECT_ROOT / "topics"
DEPLOY_DIR = PROJECT_ROOT / "deploy"
KAFKA_DEPLOY_DIR = DEPLOY_DIR / "kafka"


def runtime_home() -> Path:
    """Folder for local runtime files (broker data, pid files, fetched jars); ignored by git.

    `.q2c/` in a checkout; for an installed package the user's state folder
    (`$XDG_STATE_HOME/q2c`, default `~/.local/state/q2c`), never the read-only site-packages.
    """
    override = os.environ.get("Q2C_HOME")
    if override:
        return Path(override).resolve()
    if is_checkout(PROJECT_ROOT):
        return PROJECT_ROOT / ".q2c"
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return (Path(state) / "q2c").resolve()


def kafka_jar_dir() -> Path:
    """Where Maven puts the broker jars: `deploy/kafka/target/lib` in a checkout, else the
    runtime home (an installed package's own folder may not be writable)."""
    if is_checkout(PROJECT_ROOT):
        return KAFKA_DEPLOY_DIR / "target" / "lib"
    return runtime_home() / "kafka-jars"
