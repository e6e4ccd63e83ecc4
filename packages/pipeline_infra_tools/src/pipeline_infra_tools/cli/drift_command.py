"""`pipeline-infra drift [--env E ...] [--live] [--format table|json|markdown] [--fail-on drift|any|never]`."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import argparse

FAIL_ON = ("drift", "any", "never")
FORMATS = ("table", "json", "markdown")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "drift",
        help="compare environments (settings, rendered structure; --live: deployed state and replicated data)",
        description=(
            "Every difference is reported as approved (shared_config/approved_differences.yaml) or drift. "
            "Exit 0 without drift, 1 with drift (see --fail-on), 2 on a usage or settings error."
        ),
    )
    parser.add_argument(
        "--env", action="append", default=[], metavar="ENV", help="environment to compare (repeatable; default: all)"
    )
    parser.add_argument(
        "--live", action="store_true", help="also compare deployed stacks with the code and replicated data with prod"
    )
    parser.add_argument("--format", choices=FORMATS, default="table")
    parser.add_argument(
        "--target",
        choices=("local", "aws"),
        help="where --live reads the cloud (default: $PIPELINE_TARGET or local); aws reads through the engine",
    )
    parser.add_argument(
        "--fail-on",
        choices=FAIL_ON,
        default="drift",
        help="exit 1 on drift (default), on any difference (approved ones too), or never",
    )
    parser.add_argument(
        "--no-cache", action="store_true", help="render again even when .pipeline/render-cache is current"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from pipeline_infra_tools.cli import EXIT_USAGE
    from pipeline_infra_tools.deploy.orchestrator import target_name
    from pipeline_infra_tools.drift import DriftRequest, DriftUsageError, FailOn, render_report, run_drift
    from pipeline_infra_tools.workspace import Workspace

    request = DriftRequest(
        environments=tuple(args.env), live=args.live, use_cache=not args.no_cache, target=target_name(args.target)
    )
    try:
        report = run_drift(Workspace.discover(), request)
    except DriftUsageError as err:
        print(f"usage error: {err}", file=sys.stderr)
        return EXIT_USAGE
    print(render_report(report, args.format))
    return report.exit_code(FailOn(args.fail_on))
