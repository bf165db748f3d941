"""Fetches the pinned broker jars with Maven once (`engine.paths.kafka_jar_dir`), and reuses them."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from engine.paths import KAFKA_DEPLOY_DIR, kafka_jar_dir


class JarFetchError(RuntimeError):
    """Maven could not provide the broker jars."""


# The broker and the operator tools; a folder fetched before the pom listed the tools is
# fetched again.
REQUIRED_JARS = ("kafka_2.13-*.jar", "kafka-tools-[0-9]*.jar")


def jar_dir() -> Path:
    return kafka_jar_dir()


def _complete(lib: Path) -> bool:
    return all(any(lib.glob(pattern)) for pattern in REQUIRED_JARS)


def ensure_jars(timeout_s: float = 600.0) -> Path:
    """Return the folder holding the broker classpath, running Maven only when it is missing."""
    lib = jar_dir()
    if _complete(lib):
        return lib
    mvn = shutil.which("mvn")
    if mvn is None:
        raise JarFetchError("Maven (mvn) is not on PATH: it is needed once to fetch the Kafka jars")
    proc = subprocess.run(
        [
            mvn,
            "-q",
            "-B",
            "-f",
            str(KAFKA_DEPLOY_DIR / "pom.xml"),
            "dependency:copy-dependencies",
            f"-Dq2c.jars={lib}",
        ],
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )
    if proc.returncode != 0 or not _complete(lib):
        raise JarFetchError(f"mvn dependency:copy-dependencies failed:\n{proc.stdout[-3000:]}")
    return lib
