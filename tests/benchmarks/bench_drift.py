"""Offline drift speed: all environments and layers, and how it grows from 3 to 10 environments.

Prints figures only; never asserts timings. Each size runs on a temporary copy of the workspace whose settings
and stack files are generated: extra environments (qa1, qa2, ...) are copies of staging placed between staging
and prod, and replication targets. For each size it measures a cold drift (every program rendered), the
comparison alone, and a drift served by the render cache.
Usage: python tests/benchmarks/bench_drift.py [SIZES...]   (default: 3 5 10)
"""

from __future__ import annotations

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
from pipeline_infra_tools.drift import (
    DriftRequest,
    compare_settings,
    compare_structure,
    rendered_documents,
    run_drift,
    select_environments,
)
from pipeline_infra_tools.workspace import Workspace

ROOT = Path(__file__).resolve().parents[2]

SIZES = (3, 5, 10)


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


def measure(workspace: Workspace) -> dict[str, float]:
    settings = load_settings(workspace.config_dir)
    envs, baseline = select_environments(settings, (), live=False)
    wanted = [(layer, env) for env in envs for layer in workspace.layers_for(env)]
    started = time.perf_counter()
    documents = rendered_documents(workspace, settings, wanted, use_cache=False)
    render = time.perf_counter() - started
    started = time.perf_counter()
    differences = compare_settings(settings, envs, baseline) + compare_structure(settings, envs, baseline, documents)
    compare = time.perf_counter() - started
    run_drift(workspace, DriftRequest(), settings)  # stores the cache entry
    started = time.perf_counter()
    report = run_drift(workspace, DriftRequest(), settings)
    cached = time.perf_counter() - started
    drift = sum(1 for d in differences if d.status.value == "drift")
    return {
        "programs": len(wanted),
        "resources": sum(len(d["resources"]) for d in documents.values()),
        "render": render,
        "compare": compare,
        "cold": render + compare,
        "cached": cached,
        "differences": len(report.differences),
        "drift": drift,
    }


def main(argv: list[str]) -> None:
    sizes = [int(arg) for arg in argv] or list(SIZES)
    # Every size renders with the same function artifact, built once from this repository.
    os.environ[FUNCTION_ARTIFACT_ENV] = str(function_artifact_path(ROOT))
    print("drift, offline, all layers (render = every layer program of every environment, 2 at a time)")
    print(
        f"{'envs':>4} {'programs':>8} {'resources':>9} {'cold s':>7} {'render s':>8} {'compare s':>9} "
        f"{'cached s':>8} {'diffs':>6} {'drift':>5}"
    )
    with tempfile.TemporaryDirectory(prefix="bench-drift-") as scratch:
        dist = Path(scratch) / "dist"
        build_wheel(dist)
        baseline_cold = None
        for size in sizes:
            figures = measure(generated_workspace(Path(scratch) / f"envs-{size}", size, dist))
            baseline_cold = baseline_cold or figures["cold"]
            print(
                f"{size:>4} {figures['programs']:>8.0f} {figures['resources']:>9.0f} {figures['cold']:>7.1f} "
                f"{figures['render']:>8.1f} {figures['compare']:>9.2f} {figures['cached']:>8.2f} "
                f"{figures['differences']:>6.0f} {figures['drift']:>5.0f}   (x{figures['cold'] / baseline_cold:.1f})"
            )


if __name__ == "__main__":
    main(sys.argv[1:])
