"""Fetches the pinned broker jars with Maven once, into deploy/kafka/target/lib, and reuses them."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from engine.paths import KAFKA_DEPLOY_DIR


class JarFetchError(RuntimeError):
    """Maven could not provide the broker jars."""


def jar_dir() -> Path:
    return KAFKA_DEPLOY_DIR / "target" / "lib"


def ensure_jars(timeout_s: float = 600.0) -> Path:
    """Return the folder holding the broker classpath, running Maven only when it is missing."""
    lib = jar_dir()
    if any(lib.glob("kafka_2.13-*.jar")):
        return lib
    mvn = shutil.which("mvn")
    if mvn is None:
        raise JarFetchError("Maven (mvn) is not on PATH: it is needed once to fetch the Kafka jars")
    proc = subprocess.run(
        [mvn, "-q", "-B", "dependency:copy-dependencies"],
        cwd=KAFKA_DEPLOY_DIR,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )
    if proc.returncode != 0 or not any(lib.glob("kafka_2.13-*.jar")):
        raise JarFetchError(f"mvn dependency:copy-dependencies failed:\n{proc.stdout[-3000:]}")
    return lib
