"""`pipeline-infra policy check --env ENV [--layer LAYER ...] [--format table|json]`."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from pipeline_infra.layers import LAYERS

if TYPE_CHECKING:
    import argparse

FORMATS = ("table", "json")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("policy", help="guardrails: the policy pack's rules, run offline")
    commands = parser.add_subparsers(dest="policy_command", required=True, metavar="COMMAND")
    check = commands.add_parser(
        "check",
        help="run every guardrail over an environment's rendered graph",
        description=(
            "Runs the rules the aws target's policy pack enforces over the graph `render` produces. "
            "Exit 0 without violations, 1 with any, 2 on a usage or settings error."
        ),
    )
    check.add_argument("--env", required=True, help="environment name from shared_config/")
    check.add_argument("--layer", choices=LAYERS, action="append", help="judge only this layer (repeatable)")
    check.add_argument("--format", choices=FORMATS, default="table", help="json: a list of violations")
    check.set_defaults(handler=run_check)


def run_check(args: argparse.Namespace) -> int:
    from pipeline_infra_tools.cli import EXIT_USAGE
    from pipeline_infra_tools.guardrails import GuardrailsUsageError
    from pipeline_infra_tools.guardrails.check import check_environment
    from pipeline_infra_tools.guardrails.report import render_json, render_table
    from pipeline_infra_tools.workspace import Workspace

    try:
        report = check_environment(Workspace.discover(), args.env, args.layer)
    except GuardrailsUsageError as err:
        print(f"usage error: {err}", file=sys.stderr)
        return EXIT_USAGE
    print(render_json(report) if args.format == "json" else render_table(report))
    return report.exit_code
