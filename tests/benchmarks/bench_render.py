"""Offline rendering speed: each environment's layers, and all three environments in one run.

Prints figures only; never asserts timings. Uses the workspace as it is (the library wheel in dist/, as
`nox -s bench` builds it).
Usage: python tests/benchmarks/bench_render.py [--repeat N]
"""

from __future__ import annotations

import argparse
import statistics
import time
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline_infra.layers import LAYERS
from pipeline_infra.settings import load_settings
from pipeline_infra_tools.programs.render import render_environment, render_stacks
from pipeline_infra_tools.workspace import Workspace

if TYPE_CHECKING:
    from collections.abc import Callable

ROOT = Path(__file__).resolve().parents[2]


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    workspace = Workspace(ROOT)
    settings = load_settings(workspace.config_dir)
    envs = settings.project.environments
    print(f"render benchmark: {args.repeat} runs each, median seconds (programs run two at a time)")
    for env in envs:
        runs = [timed(partial(render_environment, workspace, env)) for _ in range(args.repeat)]
        layers = len(workspace.layers_for(env))
        print(f"  {env:<8} all {layers} layers (and the stacks they reference): {statistics.median(runs):.2f} s")
    every = [(layer, env) for env in envs for layer in LAYERS if env in workspace.project(layer).stacks()]
    runs = [timed(partial(render_stacks, workspace, every, settings)) for _ in range(args.repeat)]
    print(f"  all {len(envs)} environments ({len(every)} programs): {statistics.median(runs):.2f} s")


if __name__ == "__main__":
    main()
