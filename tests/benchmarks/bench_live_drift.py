"""`drift --live` speed on the local target: dev, staging and prod deployed into a sandbox, then live drift over
one, two and three environments, each a fresh `pipeline-infra drift --live` process as a user runs it (renders
served by the cache, so the figure is the reading of the cloud). Prints the time, the cloud resources read and
the growth in seconds per resource read (least squares); never asserts timings.
Usage: python tests/benchmarks/bench_live_drift.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_deploy import ENVIRONMENTS, copy_workspace

from pipeline_infra.settings import load_settings
from pipeline_infra_tools.deploy.local_target import LocalTarget
from pipeline_infra_tools.deploy.orchestrator import Orchestrator
from pipeline_infra_tools.programs.runner import close_shared_runner
from pipeline_infra_tools.workspace import ROOT_ENV

SELECTIONS = (("dev",), ("dev", "staging"), ENVIRONMENTS)


def live_drift(root: Path, envs: tuple[str, ...]) -> tuple[float, int, int]:
    """(seconds, cloud resources read, exit code) of one `drift --live --format json` process."""
    arguments = [argument for env in envs for argument in ("--env", env)]
    command = [sys.executable, "-m", "pipeline_infra_tools.cli", "drift", "--live", *arguments, "--format", "json"]
    started = time.perf_counter()
    completed = subprocess.run(
        command, cwd=root, env={**os.environ, ROOT_ENV: str(root)}, capture_output=True, text=True, check=False
    )
    seconds = time.perf_counter() - started
    if completed.returncode not in (0, 1):
        raise SystemExit(f"drift --live failed:\n{completed.stdout}\n{completed.stderr}")
    report = json.loads(completed.stdout)
    return seconds, int(report["summary"]["compared"].get("live", 0)), completed.returncode


def slope(points: list[tuple[int, float]]) -> float:
    mean_x = sum(x for x, _ in points) / len(points)
    mean_y = sum(y for _, y in points) / len(points)
    spread = sum((x - mean_x) ** 2 for x, _ in points)
    return sum((x - mean_x) * (y - mean_y) for x, y in points) / spread if spread else 0.0


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="bench-live-drift-") as scratch:
        root = Path(scratch)
        workspace = copy_workspace(root)
        settings = load_settings(workspace.config_dir)
        target = LocalTarget(workspace, settings)
        try:
            orchestrator = Orchestrator(workspace, settings, target)
            for env in ENVIRONMENTS:
                orchestrator.execute("deploy", env, None, lambda event: None)
            close_shared_runner()
            live_drift(root, ENVIRONMENTS)  # fills the render cache, so each figure below is the live part
            points: list[tuple[int, float]] = []
            for envs in SELECTIONS:
                seconds, read, code = live_drift(root, envs)
                points.append((read, seconds))
                label = "+".join(envs)
                print(f"drift --live {label:<20} {seconds:6.2f} s  {read:4d} resources read  exit {code}")
            print(f"growth: {slope(points) * 1000:.1f} ms per resource read (least squares over {len(points)} runs)")
        finally:
            close_shared_runner()
            target.sandbox.down()
            target.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
