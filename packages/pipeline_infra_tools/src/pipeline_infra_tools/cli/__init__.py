"""The `pipeline-infra` command.

Exit codes: 0 success, 1 the operation found a problem (drift, a failure), 2 usage or settings error.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from pipeline_infra.exceptions import PipelineInfraError, SettingsError
from pipeline_infra_tools.exceptions import ToolError

# Each module adds its own subcommands through `register(subparsers)`.
COMMAND_MODULES = (
    "pipeline_infra_tools.cli.render_command",
    "pipeline_infra_tools.cli.deploy_command",
    "pipeline_infra_tools.cli.refresh_command",
    "pipeline_infra_tools.cli.sandbox_command",
    "pipeline_infra_tools.cli.drift_command",
    "pipeline_infra_tools.cli.policy_command",
    "pipeline_infra_tools.cli.replication_command",
    "pipeline_infra_tools.cli.artifact_command",
    "pipeline_infra_tools.cli.status_command",
    "pipeline_infra_tools.cli.graph_command",
)

EXIT_OK = 0
EXIT_PROBLEM = 1
EXIT_USAGE = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pipeline-infra", description=__doc__)
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMAND_MODULES:
        importlib.import_module(module).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.handler(args)
    except SettingsError as err:
        print(f"settings error:\n{err}", file=sys.stderr)
        return EXIT_USAGE
    except (PipelineInfraError, ToolError) as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_PROBLEM
    return code


__all__ = ["EXIT_OK", "EXIT_PROBLEM", "EXIT_USAGE", "build_parser", "main"]
