"""Deploy speed on the local target: all three environments from scratch, then a redeploy with no changes.

Prints figures only; never asserts timings. Runs on a temporary copy of the workspace with its own sandbox.
Usage: python tests/benchmarks/bench_deploy.py
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pipeline_infra.settings import load_settings
from pipeline_infra_tools.deploy.local_target import LocalTarget
from pipeline_infra_tools.deploy.orchestrator import Orchestrator
from pipeline_infra_tools.workspace import Workspace

ROOT = Path(__file__).resolve().parents[2]

ENVIRONMENTS = ("dev", "staging", "prod")
WORKSPACE_PARTS = ("projects", "shared_config", "packages/pipeline_functions")


def copy_workspace(destination: Path) -> Workspace:
    for part in WORKSPACE_PARTS:
        shutil.copytree(ROOT / part, destination / part, ignore=shutil.ignore_patterns("__pycache__", ".pipeline"))
    subprocess.run(
        [sys.executable, "-m", "hatchling", "build", "-t", "wheel", "-d", str(destination / "dist")],
        cwd=ROOT / "packages" / "pipeline_infra",
        check=True,
        capture_output=True,
    )
    return Workspace(destination)


def deploy_all(orchestrator: Orchestrator) -> tuple[float, int, dict[str, int]]:
    started = time.perf_counter()
    resources, changes = 0, {"create": 0, "update": 0, "same": 0, "delete": 0}
    for env in ENVIRONMENTS:
        for result in orchestrator.execute("deploy", env, None, lambda event: None):
            resources += result.resource_count
            for action, count in result.changes.items():
                changes[action] += count
    return time.perf_counter() - started, resources, changes


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="bench-deploy-") as scratch:
        workspace = copy_workspace(Path(scratch))
        settings = load_settings(workspace.config_dir)
        target = LocalTarget(workspace, settings)
        orchestrator = Orchestrator(workspace, settings, target)
        try:
            started = time.perf_counter()
            target.sandbox.up()
            sandbox_seconds = time.perf_counter() - started
            first, resources, created = deploy_all(orchestrator)
            again, _, unchanged = deploy_all(orchestrator)
        finally:
            target.sandbox.down()
            target.close()
    print(f"sandbox start:                        {sandbox_seconds:6.2f} s")
    print(f"deploy dev+staging+prod from scratch: {first:6.2f} s  ({resources} resources, {created})")
    print(f"redeploy with no changes:             {again:6.2f} s  ({unchanged})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
