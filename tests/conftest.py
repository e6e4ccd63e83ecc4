"""Fixtures shared by every test scope."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pipeline_infra_tools.workspace import Workspace

ROOT = Path(__file__).resolve().parents[1]
EVENTS = ROOT / "tests" / "events"


def build_library_wheel(source: Path, dist: Path) -> None:
    """Build pipeline-infra from `source` into `dist` with hatchling, as `nox -s build` does."""
    subprocess.run(
        [sys.executable, "-m", "hatchling", "build", "-t", "wheel", "-d", str(dist)],
        cwd=source,
        check=True,
        capture_output=True,
    )


@pytest.fixture(scope="session")
def workspace() -> Workspace:
    """The repository's own workspace, with the current library built into dist/ so the projects' pins resolve."""
    build_library_wheel(ROOT / "packages" / "pipeline_infra", ROOT / "dist")
    return Workspace(ROOT)
