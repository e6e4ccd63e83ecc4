"""`pipeline-infra artifact`: build the function artifact and print its path.

A project run by a plain `pulumi up` finds the artifact through `PIPELINE_FUNCTION_ARTIFACT` (or the stack's
`functionArtifact` config); this command builds it and prints the line to export.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from pipeline_infra.stack_config import FUNCTION_ARTIFACT_ENV

if TYPE_CHECKING:
    import argparse


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("artifact", help="build the Lambda function artifact and print its path")
    parser.add_argument("--format", choices=("json", "shell"), default="shell")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from pipeline_infra_tools.artifact import function_artifact_path
    from pipeline_infra_tools.workspace import Workspace

    path = function_artifact_path(Workspace.discover().root).resolve()
    if args.format == "json":
        print(json.dumps({"path": str(path), "variable": FUNCTION_ARTIFACT_ENV, "bytes": path.stat().st_size}))
    else:
        print(f"export {FUNCTION_ARTIFACT_ENV}={path}")
    return 0
