"""Deploy speed on the local target: all three environments from nothing, then a redeploy with no changes
(refreshing first, as `deploy` does by default, and with `--no-refresh`), with the write calls each redeploy made
as counted at the emulator (the goal: none) and its time as a ratio to the deploy from nothing (goal: <= 0.25).

Prints figures only; never asserts timings. Runs once per program runner (the fork server, and the process
launcher: one interpreter per program, the old way), each on its own temporary copy of the workspace with its
own sandbox; the program runner is started by the first deploy, as in `pipeline-infra deploy`.
Usage: python tests/benchmarks/bench_deploy.py [--runner fork|process ...]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from pipeline_infra.settings import load_settings
from pipeline_infra_tools.deploy.local_target import LocalTarget
from pipeline_infra_tools.deploy.orchestrator import Orchestrator
from pipeline_infra_tools.programs.runner import RUNNER_ENV, RUNNERS, close_shared_runner
from pipeline_infra_tools.sandbox.emulator.request_counts import (
    administrator_writes,
    request_counts,
    reset_request_counts,
)
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
    resources, changes = 0, {"create": 0, "update": 0, "replace": 0, "same": 0, "delete": 0}
    for env in ENVIRONMENTS:
        for result in orchestrator.execute("deploy", env, None, lambda event: None):
            resources += result.resource_count
            for action, count in result.changes.items():
                changes[action] += count
    return time.perf_counter() - started, resources, changes


@dataclass(frozen=True)
class Figures:
    sandbox: float
    first: float
    resources: int
    created: dict[str, int]
    again: float
    unchanged: dict[str, int]
    again_writes: int
    no_refresh: float
    no_refresh_writes: int


def measure(runner: str) -> Figures:
    os.environ[RUNNER_ENV] = runner
    close_shared_runner()  # the next program starts a runner of this kind
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
            endpoint = target.sandbox.status().state.endpoint  # type: ignore[union-attr]
            reset_request_counts(endpoint)
            again, _, unchanged = deploy_all(orchestrator)
            again_writes = sum(call["count"] for call in administrator_writes(request_counts(endpoint)))
            without = LocalTarget(workspace, settings, refresh_before_deploy=False)
            reset_request_counts(endpoint)
            no_refresh, _, _ = deploy_all(Orchestrator(workspace, settings, without))
            no_refresh_writes = sum(call["count"] for call in administrator_writes(request_counts(endpoint)))
            without.close()
        finally:
            close_shared_runner()
            target.sandbox.down()
            target.close()
    return Figures(
        sandbox_seconds, first, resources, created, again, unchanged, again_writes, no_refresh, no_refresh_writes
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runner", choices=RUNNERS, action="append", help="default: both")
    runners = parser.parse_args().runner or list(RUNNERS)
    figures = {runner: measure(runner) for runner in runners}
    for runner, figure in figures.items():
        label = "fork server" if runner == "fork" else "process per program"
        print(f"{label}:")
        print(f"  sandbox start:                        {figure.sandbox:6.2f} s")
        deployed = f"({figure.resources} resources, {figure.created})"
        print(f"  deploy dev+staging+prod from nothing: {figure.first:6.2f} s  {deployed}")
        print(f"  redeploy with no changes:             {figure.again:6.2f} s  ({figure.unchanged})")
        print(f"    as a ratio to the deploy from nothing: {figure.again / figure.first:.2f} (goal <= 0.25)")
        print(f"    write calls at the emulator:           {figure.again_writes} (goal 0)")
        print(f"  redeploy with no changes, --no-refresh: {figure.no_refresh:6.2f} s")
        print(f"    as a ratio to the deploy from nothing: {figure.no_refresh / figure.first:.2f}")
        print(f"    write calls at the emulator:           {figure.no_refresh_writes}")
    if len(figures) == 2:
        ratio = figures["process"].first / figures["fork"].first
        print(f"deploy from nothing, process per program / fork server: {ratio:.2f} x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
