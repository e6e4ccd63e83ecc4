"""The quickstart's main job, `pipeline-infra sandbox demo`, run as a user runs it on a workspace of its own."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.integration.conftest import copy_workspace
from tests.integration.helpers import cli

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.integration


def test_the_demo_deploys_replicates_and_finds_no_drift(tmp_path: Path) -> None:
    root = copy_workspace(tmp_path).root
    try:
        # WHEN a user runs the demo on a fresh workspace
        completed = cli(root, "sandbox", "demo")
        # THEN it deploys every environment, shows prod's change arriving rewritten in dev and staging, with the
        # success notifications, and a clean live drift report
        output = completed.stdout + completed.stderr
        assert completed.returncode == 0, output
        for env in ("dev", "staging"):
            assert f"  {env}: s3://" in output and f"  {env}: item in " in output, output
            assert f"environment={env}, outcome=replicated" in output, output
        assert "drift (settings, structure, live stacks, replicated data): clean" in output, output
        # AND the demo's own listener is gone from prod's topic
        assert "sandbox-demo-notifications" not in cli(root, "drift", "--live", "--format", "json").stdout
    finally:
        cli(root, "sandbox", "down")
