"""Build hook: the wheel carries the runtime assets the repository keeps at its top level.

`schemas/` (with `history/`), `topics/` and the Kafka pom stay where the developer guide puts
them; at build time they are copied into `engine/_assets/` inside the wheel, where
`engine.paths` finds them through `importlib.resources`. Editable installs skip the copy:
they read the checkout itself. Everything else is configured in pyproject.toml.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
# repository folder -> file patterns the engine reads at run time
ASSETS = {
    "schemas": ("*.avsc", "history/*/*.avsc"),
    "topics": ("*.yaml",),
    "deploy/kafka": ("pom.xml", "*.properties"),
}


class BuildPyWithAssets(build_py):
    """`build_py` that also copies ASSETS into `<build_lib>/engine/_assets/`."""

    def run(self) -> None:
        super().run()
        if self.editable_mode:
            return
        target = Path(self.build_lib) / "engine" / "_assets"
        for folder, patterns in ASSETS.items():
            source = HERE / folder
            files = [p for pattern in patterns for p in source.glob(pattern)]
            if not files:
                raise SystemExit(f"setup.py: no {patterns} under {source}: refusing to build")
            for path in files:
                dest = target / folder / path.relative_to(source)
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, dest)


setup(cmdclass={"build_py": BuildPyWithAssets})
