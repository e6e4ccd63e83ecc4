"""Offline rendering speed, against the cost of importing the SDK, with each program runner, in one run.

Prints figures only; never asserts timings. Every figure is a fresh process, as a user runs it:
- bare import: one Python process that imports pulumi and the pulumi-aws modules the programs use (loaded);
- `pipeline-infra render --env E --format json` for dev, staging and prod, one after the other, with the fork
  server (the default) and with the process launcher ($PIPELINE_PROGRAM_RUNNER=process, the old way);
each as the median of --repeat runs, and the render figures as a ratio of the bare import (goal: at most 5
for the fork server). Uses the workspace as it is (the library wheel in dist/, as `nox -s bench` builds it).
Usage: python tests/benchmarks/bench_render.py [--repeat N] [--runner fork|process ...]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from pipeline_infra_tools.programs.fork_server import PULUMI_AWS_MODULES
from pipeline_infra_tools.programs.runner import RUNNER_ENV, RUNNERS

ROOT = Path(__file__).resolve().parents[2]
ENVIRONMENTS = ("dev", "staging", "prod")
BARE_IMPORT = (
    "import importlib, pulumi, pulumi_aws\n"
    f"for name in {PULUMI_AWS_MODULES!r}:\n"
    "    getattr(importlib.import_module('pulumi_aws.' + name), '__all__', None)  # loads the lazy module\n"
)


def timed(command: list[str], env: dict[str, str] | None = None) -> float:
    started = time.perf_counter()
    subprocess.run(command, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def render_three(runner: str) -> float:
    """dev, staging and prod rendered by three `pipeline-infra render` processes, one after the other."""
    env = {**os.environ, RUNNER_ENV: runner}
    cli = [sys.executable, "-m", "pipeline_infra_tools.cli", "render", "--format", "json", "--env"]
    return sum(timed([*cli, name], env) for name in ENVIRONMENTS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--runner", choices=RUNNERS, action="append", help="default: both")
    args = parser.parse_args()
    runners = args.runner or list(RUNNERS)
    bytecode = "off (PYTHONDONTWRITEBYTECODE: every process compiles)" if sys.dont_write_bytecode else "on"
    print(f"render benchmark: median of {args.repeat} runs, {os.cpu_count()} cores, bytecode cache {bytecode}")
    runs: dict[str, list[float]] = {"bare": [], **{runner: [] for runner in runners}}
    # Interleaved, so a change in the machine's load touches every figure alike.
    for _ in range(args.repeat):
        runs["bare"].append(timed([sys.executable, "-c", BARE_IMPORT]))
        for runner in runners:
            runs[runner].append(render_three(runner))
    bare = statistics.median(runs["bare"])
    print(f"  bare import (pulumi, pulumi-aws {', '.join(PULUMI_AWS_MODULES)}): {bare:.2f} s")
    for runner in runners:
        seconds = statistics.median(runs[runner])
        label = "fork server" if runner == "fork" else "process per program"
        print(f"  render dev, staging, prod (3 commands), {label:<19} {seconds:6.2f} s = {seconds / bare:5.1f} x bare")
    if len(runners) == 2:
        ratio = statistics.median(runs["process"]) / statistics.median(runs["fork"])
        print(f"  process per program / fork server: {ratio:.1f} x   (goal: the fork server at most 5 x bare)")


if __name__ == "__main__":
    main()
