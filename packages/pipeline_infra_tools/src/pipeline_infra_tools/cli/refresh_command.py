"""`pipeline-infra refresh --env ENV [--layer LAYER] [--preview-only] [--format text|json] [--target local|aws]`.

Like `pulumi refresh`: reads every deployed stack's resources back from the cloud and shows what differs from
the record; without `--preview-only` the record then holds the cloud's state (the next deploy puts the code's
values back). Exit 0 once every stack was read, whatever it found (`drift --live` is the gate).
"""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING

from pipeline_infra.layers import LAYERS
from pipeline_infra_tools.workspace import command_prefix

if TYPE_CHECKING:
    import argparse

    from pipeline_infra_tools.cloud_state import RefreshResult
    from pipeline_infra_tools.deploy.base import ProgressEvent

JSON_SCHEMA = "pipeline-infra.refresh/1"
MARKS = {"changed": "~", "gone": "-", "attached": "+"}


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("refresh", help="read deployed stacks back from the cloud and record what differs")
    parser.add_argument("--env", required=True, help="environment name from shared_config/")
    parser.add_argument("--layer", choices=LAYERS, action="append", help="only this layer (repeatable)")
    parser.add_argument("--target", choices=("local", "aws"), help="default: $PIPELINE_TARGET or local")
    parser.add_argument("--preview-only", action="store_true", help="show what differs; leave the records as they are")
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.set_defaults(handler=run_refresh)


def run_refresh(args: argparse.Namespace) -> int:
    from pipeline_infra.settings import load_settings
    from pipeline_infra_tools.deploy.orchestrator import make_target, target_name
    from pipeline_infra_tools.exceptions import DeployError
    from pipeline_infra_tools.workspace import Workspace

    workspace = Workspace.discover()
    settings = load_settings(workspace.config_dir)
    settings.env(args.env)  # an unknown environment fails here, naming the ones there are
    target = make_target(target_name(args.target), workspace, settings)
    layers = [layer for layer in workspace.layers_for(args.env) if not args.layer or layer in args.layer]
    deployed = [layer for layer in layers if args.layer or target.outputs(layer, args.env) is not None]
    if not deployed:
        raise DeployError(
            f"{args.env} has no deployed stack on the {target.name} target; deploy it with "
            f"`{command_prefix()} deploy --env {args.env}`"
        )

    def quiet(_event: ProgressEvent) -> None:
        return None

    results: list[RefreshResult] = []
    try:
        for layer in deployed:
            results.append(target.refresh(layer, args.env, preview_only=args.preview_only, progress=quiet))
    finally:
        close = getattr(target, "close", None)
        if callable(close):
            close()
    if args.format == "json":
        document = {
            "schema": JSON_SCHEMA,
            "env": args.env,
            "target": target.name,
            "preview_only": args.preview_only,
            "stacks": [result.to_json() for result in results],
        }
        print(json.dumps(document, indent=2, sort_keys=True, default=str))
        return 0
    for result in results:
        print_result(result)
    print(closing_line(args.env, results, args.preview_only))
    return 0


def print_result(result: RefreshResult) -> None:
    from pipeline_infra_tools.deploy.diff_text import property_lines

    header = f"[{result.layer}/{result.env}]"
    if result.clean:
        print(f"{header} {result.read} resources read; all as recorded")
        return
    print(f"{header} {len(result.resources)} of {result.read} resources differ from the record:")
    for resource in result.resources:
        print(
            f"  {MARKS[resource.status]} {resource.status:<8} {resource.type}  {resource.name}  ({resource.physical})"
        )
        for line in property_lines(resource.changes):
            print(f"        {line}")
        for item in resource.attached:
            print(f"        + {item.kind} {item.name!r}: in no stack ({item.detail})")
    sys.stdout.flush()


def closing_line(env: str, results: list[RefreshResult], preview_only: bool) -> str:
    differing = sum(len(result.resources) for result in results)
    if not differing:
        return f"refresh {env}: every resource reads back as recorded"
    if preview_only:
        return (
            f"refresh {env}: {differing} resource(s) differ; the records are unchanged (preview only). "
            f"`{command_prefix()} deploy --env {env}` puts the code's values back"
        )
    return (
        f"refresh {env}: {differing} resource(s) differ; the records now hold the cloud's state. "
        f"`{command_prefix()} deploy --env {env}` puts the code's values back"
    )
