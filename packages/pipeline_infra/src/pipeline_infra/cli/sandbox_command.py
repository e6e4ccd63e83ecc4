"""`pipeline-infra sandbox up|down|status [--format json]`: the local emulator the local target deploys to."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import argparse

    from pipeline_infra.sandbox.manager import Sandbox


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("sandbox", help="start, stop or inspect the local emulator")
    actions = parser.add_subparsers(dest="sandbox_action", required=True, metavar="ACTION")
    for action, help_text in (
        ("up", "start the emulator on 127.0.0.1 (or reuse the running one)"),
        ("down", "stop the emulator; what was deployed to it is gone"),
        ("status", "endpoint, pid and deployed stacks (json adds the region and an administrator key pair)"),
    ):
        sub = actions.add_parser(action, help=help_text)
        sub.add_argument("--format", choices=("json", "table"), default="table")
        sub.set_defaults(handler=run)


def _sandbox() -> Sandbox:
    from pipeline_infra.sandbox.manager import Sandbox
    from pipeline_infra.settings import load_settings
    from pipeline_infra.workspace import Workspace

    workspace = Workspace.discover()
    settings = load_settings(workspace.config_dir)
    return Sandbox(workspace.state_dir, region=settings.source.region)


def run(args: argparse.Namespace) -> int:
    sandbox = _sandbox()
    if args.sandbox_action == "up":
        state, started = sandbox.up()
        if args.format == "json":
            print(json.dumps(sandbox.status().to_json(), indent=2, sort_keys=True))
        else:
            print(f"sandbox {'started' if started else 'already running'} at {state.endpoint} (pid {state.pid})")
        return 0
    if args.sandbox_action == "down":
        stopped = sandbox.down()
        if args.format == "json":
            print(json.dumps({"stopped": stopped}))
        else:
            print("sandbox stopped; its deployed stacks are forgotten" if stopped else "no sandbox was running")
        return 0
    status = sandbox.status()
    document = status.to_json()
    if args.format == "json":
        print(json.dumps(document, indent=2, sort_keys=True))
        return 0 if status.running else 1
    if not status.running:
        print("sandbox: not running (start it with `pipeline-infra sandbox up`)")
        return 1
    print(f"sandbox: running at {document['endpoint']} (pid {document['pid']}, region {document['region']})")
    print(f"deployed stacks: {', '.join(document['stacks']) or 'none'}")
    print("administrator credentials: `pipeline-infra sandbox status --format json`")
    return 0
