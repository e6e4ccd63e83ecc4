"""Offline drift speed with each program runner: 3 environments against their render, and growth up to 10.

Prints figures only; never asserts timings. Each size runs on a temporary copy of the workspace whose settings
and stack files are generated: extra environments (qa1, qa2, ...) are copies of staging placed between staging
and prod, and replication targets. Every figure is a fresh process, as a user runs it:
- cold drift: `pipeline-infra drift --no-cache` with the fork server and with the process launcher
  ($PIPELINE_PROGRAM_RUNNER=process, the old way);
- render: one process rendering the same programs with the fork server (what a cold drift cannot do faster);
- cached: `pipeline-infra drift` served by the render cache.
Goals: cold drift over 3 environments within 1.5 x the render of the same programs; cold drift linear in the
number of programs, with a slope (least squares, seconds per program) at most a quarter of the old one's.
Usage: python tests/benchmarks/bench_drift.py [SIZES...]   (default: 3 5 10)
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from pipeline_infra.layers import LAYERS
from pipeline_infra.settings import load_settings
from pipeline_infra_tools.artifact import FUNCTION_ARTIFACT_ENV, function_artifact_path
from pipeline_infra_tools.programs.runner import RUNNER_ENV
from pipeline_infra_tools.workspace import ROOT_ENV, Workspace

ROOT = Path(__file__).resolve().parents[2]

SIZES = (3, 5, 10)
RUNNERS = ("fork", "process")
RENDER_SAME_PROGRAMS = """
from pipeline_infra.settings import load_settings
from pipeline_infra_tools.programs.render import render_stacks
from pipeline_infra_tools.workspace import Workspace

workspace = Workspace.discover()
settings = load_settings(workspace.config_dir)
wanted = [(layer, env) for env in settings.project.environments for layer in workspace.layers_for(env)]
render_stacks(workspace, wanted, settings)
"""


def build_wheel(dist: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "hatchling", "build", "-t", "wheel", "-d", str(dist)],
        cwd=ROOT / "packages" / "pipeline_infra",
        check=True,
        capture_output=True,
    )


def generated_workspace(destination: Path, size: int, dist: Path) -> Workspace:
    """A workspace with `size` environments: dev, staging, qa1..qaN, prod."""
    shutil.copytree(ROOT / "projects", destination / "projects", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "shared_config", destination / "shared_config")
    shutil.copytree(dist, destination / "dist")
    config = destination / "shared_config"
    extras = [f"qa{i}" for i in range(1, size - 2)]
    base = yaml.safe_load((config / "base.yaml").read_text())
    base["project"]["environments"] = ["dev", "staging", *extras, "prod"]
    (config / "base.yaml").write_text(yaml.safe_dump(base, sort_keys=False))
    staging = (config / "staging.yaml").read_text()
    for name in extras:
        (config / f"{name}.yaml").write_text(staging.replace("data-platform-staging@", f"data-platform-{name}@"))
    prod = yaml.safe_load((config / "prod.yaml").read_text())
    prod["replication"]["targets"] = ["dev", "staging", *extras]
    (config / "prod.yaml").write_text(yaml.safe_dump(prod, sort_keys=False))
    for layer in LAYERS:
        directory = destination / "projects" / layer
        if not (directory / "Pulumi.staging.yaml").is_file():
            continue  # a layer only some environments have (replication) stays as it is
        template = (directory / "Pulumi.staging.yaml").read_text()
        for name in extras:
            (directory / f"Pulumi.{name}.yaml").write_text(
                template.replace("environment: staging", f"environment: {name}")
            )
    return Workspace(destination)


def timed(command: list[str], workspace: Workspace, runner: str = "fork") -> tuple[float, str]:
    env = {**os.environ, ROOT_ENV: str(workspace.root), RUNNER_ENV: runner}
    started = time.perf_counter()
    completed = subprocess.run(command, cwd=workspace.root, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if completed.returncode not in (0, 1):  # 1: drift found, which is a result
        raise SystemExit(f"{' '.join(command)} failed with {completed.returncode}:\n{completed.stderr}")
    return seconds, completed.stdout


def drift(workspace: Workspace, runner: str, *options: str) -> tuple[float, dict[str, object]]:
    command = [sys.executable, "-m", "pipeline_infra_tools.cli", "drift", "--format", "json", *options]
    seconds, out = timed(command, workspace, runner)
    report: dict[str, object] = json.loads(out)
    return seconds, report


def measure(workspace: Workspace) -> dict[str, float]:
    figures: dict[str, float] = {}
    for runner in RUNNERS:
        figures[f"cold {runner}"], report = drift(workspace, runner, "--no-cache")
    figures["render"], _ = timed([sys.executable, "-c", RENDER_SAME_PROGRAMS], workspace)
    drift(workspace, "fork")  # stores the cache entry
    figures["cached"], _ = drift(workspace, "fork")
    summary = report["summary"]
    assert isinstance(summary, dict)
    figures["differences"], figures["drift"] = summary["differences"], summary["drift"]
    figures["resources"] = summary["compared"]["structure"]
    return figures


def slope(points: list[tuple[float, float]]) -> float:
    """Least-squares seconds per program."""
    mean_x = sum(x for x, _ in points) / len(points)
    mean_y = sum(y for _, y in points) / len(points)
    spread = sum((x - mean_x) ** 2 for x, _ in points)
    return sum((x - mean_x) * (y - mean_y) for x, y in points) / spread if spread else 0.0


def main(argv: list[str]) -> None:
    sizes = [int(arg) for arg in argv] or list(SIZES)
    # Every size renders with the same function artifact, built once from this repository.
    os.environ[FUNCTION_ARTIFACT_ENV] = str(function_artifact_path(ROOT))
    print(f"drift, offline, all layers, {os.cpu_count()} cores; cold = `pipeline-infra drift --no-cache`, render = one")
    print("process rendering the same programs with the fork server, cached = `pipeline-infra drift` from the cache")
    print(
        f"{'envs':>4} {'programs':>8} {'resources':>9} {'cold fork s':>11} {'cold process s':>14} {'render s':>8} "
        f"{'cold/render':>11} {'cached s':>8} {'diffs':>6} {'drift':>5}"
    )
    points: dict[str, list[tuple[float, float]]] = {runner: [] for runner in RUNNERS}
    with tempfile.TemporaryDirectory(prefix="bench-drift-") as scratch:
        dist = Path(scratch) / "dist"
        build_wheel(dist)
        for size in sizes:
            workspace = generated_workspace(Path(scratch) / f"envs-{size}", size, dist)
            environments = load_settings(workspace.config_dir).project.environments
            programs = sum(len(workspace.layers_for(env)) for env in environments)
            figures = measure(workspace)
            for runner in RUNNERS:
                points[runner].append((programs, figures[f"cold {runner}"]))
            print(
                f"{size:>4} {programs:>8} {figures['resources']:>9.0f} {figures['cold fork']:>11.2f} "
                f"{figures['cold process']:>14.2f} {figures['render']:>8.2f} "
                f"{figures['cold fork'] / figures['render']:>11.2f} {figures['cached']:>8.2f} "
                f"{figures['differences']:>6.0f} {figures['drift']:>5.0f}"
            )
    if len(sizes) > 1:
        fork, process = slope(points["fork"]), slope(points["process"])
        print(f"slope of cold drift: fork server {fork:.3f} s/program, process launcher {process:.3f} s/program")
        print(f"  fork / process = {fork / process:.2f}   (goal: at most 0.25)")


if __name__ == "__main__":
    main(sys.argv[1:])
