"""The `pipeline-infra` command.

Exit codes: 0 success, 1 the operation found a problem (drift, a failure), 2 usage or settings error.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from pathlib import Path

from pipeline_infra.exceptions import PipelineInfraError, SettingsError
from pipeline_infra.stack_config import CONFIG_DIR_ENV
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


CONFIG_HELP = f"the settings directory (default: ${CONFIG_DIR_ENV}, else shared_config/ of the workspace)"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pipeline-infra", description=__doc__)
    parser.add_argument("--config", dest="config_dir", metavar="DIR", help=CONFIG_HELP)
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMAND_MODULES:
        importlib.import_module(module).register(subparsers)
    _accept_config_everywhere(subparsers)
    return parser


def _accept_config_everywhere(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`--config DIR` before or after the command (`pipeline-infra deploy --env dev --config DIR`)."""
    for command in subparsers.choices.values():
        command.add_argument("--config", dest="config_dir", metavar="DIR", default=argparse.SUPPRESS, help=CONFIG_HELP)
        for action in command._subparsers._group_actions if command._subparsers else []:
            if isinstance(action, argparse._SubParsersAction):
                _accept_config_everywhere(action)


def use_config_dir(directory: str) -> None:
    """Every settings reader, and every program the command starts, reads this directory from here on."""
    path = Path(directory).resolve()
    if not (path / "base.yaml").is_file():
        raise SettingsError(f"--config {directory}: expected a settings directory holding base.yaml ({path})")
    os.environ[CONFIG_DIR_ENV] = str(path)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if getattr(args, "config_dir", None):
            use_config_dir(args.config_dir)
        code: int = args.handler(args)
    except SettingsError as err:
        print(f"settings error:\n{err}", file=sys.stderr)
        return EXIT_USAGE
    except (PipelineInfraError, ToolError) as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_PROBLEM
    return code


__all__ = ["EXIT_OK", "EXIT_PROBLEM", "EXIT_USAGE", "build_parser", "main"]
