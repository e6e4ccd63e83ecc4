"""`pipeline-infra sandbox up|down|status|network|demo|invoke|tick`: the local emulator and its Lambda runtime."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from pipeline_infra_tools.workspace import command_prefix

if TYPE_CHECKING:
    import argparse

    from pipeline_infra_tools.sandbox.manager import Sandbox


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
    network = actions.add_parser(
        "network",
        help="create the VPC, subnets and route tables settings name (`network`) in the emulator and write "
        "their ids into shared_config/<env>.yaml",
    )
    network.add_argument("--format", choices=("json", "table"), default="table")
    network.set_defaults(handler=run_network)
    demo = actions.add_parser("demo", help="deploy every environment and show a live replication round trip")
    demo.set_defaults(handler=run_demo)
    invoke = actions.add_parser("invoke", help="invoke a deployed function now, with its own role")
    invoke.add_argument("--function", required=True, help="function name, e.g. lambda-drift-checker-prod-pl01")
    invoke.add_argument("--event", help="JSON event (default: a scheduled event if the function has a schedule)")
    invoke.set_defaults(handler=run_invoke)
    tick = actions.add_parser("tick", help="fire schedule rules now (the emulator never fires them)")
    tick.add_argument("--rule", help="only this rule")
    tick.set_defaults(handler=run_tick)


def _sandbox() -> Sandbox:
    from pipeline_infra.settings import load_settings
    from pipeline_infra_tools.sandbox.manager import Sandbox
    from pipeline_infra_tools.workspace import Workspace

    workspace = Workspace.discover()
    settings = load_settings(workspace.config_dir)
    return Sandbox(workspace.state_dir, region=settings.source.region)


def run_network(args: argparse.Namespace) -> int:
    from pipeline_infra.settings import load_settings
    from pipeline_infra_tools.sandbox.network_seed import seed_networks
    from pipeline_infra_tools.workspace import Workspace

    workspace = Workspace.discover()
    sandbox = _sandbox()
    sandbox.up()
    # Each environment's network is its own account's: set the accounts up first, as a deploy does.
    state = sandbox.set_up_accounts(load_settings(workspace.config_dir))
    seeded = seed_networks(workspace.config_dir, state)
    if args.format == "json":
        print(json.dumps([network.to_json() for network in seeded], indent=2, sort_keys=True))
        return 0
    if not seeded:
        print(f"no environment in {workspace.config_dir} has a `network`; nothing to create")
    for network in seeded:
        action = "created, ids written to" if network.created else "already in the sandbox, as in"
        zones = ", ".join(f"{s} ({z})" for s, z in zip(network.subnet_ids, network.availability_zones, strict=True))
        print(
            f"{network.environment}: {network.vpc_id}, subnets {zones}, route tables "
            f"{', '.join(network.route_table_ids)}: {action} {workspace.config_dir / (network.environment + '.yaml')}"
        )
    return 0


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
        print(f"sandbox: not running (start it with `{command_prefix()} sandbox up`)")
        return 1
    print(f"sandbox: running at {document['endpoint']} (pid {document['pid']}, region {document['region']})")
    print(f"deployed stacks: {', '.join(document['stacks']) or 'none'}")
    refused = document["refused_deliveries"]
    if refused:
        counts = ", ".join(f"{kind} {count}" for kind, count in sorted(refused.items()))
        print(
            f"refused deliveries (a grant AWS would require is missing): {counts}; see {' and '.join(document['logs'])}"
        )
    print(f"administrator credentials: `{command_prefix()} sandbox status --format json`")
    return 0


def run_demo(args: argparse.Namespace) -> int:
    from pipeline_infra.settings import load_settings
    from pipeline_infra_tools.cli.demo import Demo
    from pipeline_infra_tools.workspace import Workspace

    workspace = Workspace.discover()
    result = Demo(workspace, load_settings(workspace.config_dir)).run()
    return 0 if result.ok else 1


def run_invoke(args: argparse.Namespace) -> int:
    from pipeline_infra_tools.sandbox.lambda_runtime.process import runtime_for
    from pipeline_infra_tools.sandbox.lambda_runtime.service import scheduled_event
    from pipeline_infra_tools.workspace import Workspace

    runtime = runtime_for(Workspace.discover().state_dir)
    try:
        runtime.reload()
        if args.event:
            event = json.loads(args.event)
        else:
            rules = [
                r for r in runtime.deployment.rules if r.schedule and any(args.function in t.arn for t in r.targets)
            ]
            event = scheduled_event(rules[0], runtime.region) if rules else {}
        invocation = runtime.invoke(args.function, event)
    finally:
        runtime.close()
    print(
        json.dumps(
            {"ok": invocation.ok, "result": invocation.result, "error": invocation.error_message}, indent=2, default=str
        )
    )
    return 0 if invocation.ok else 1


def run_tick(args: argparse.Namespace) -> int:
    from pipeline_infra_tools.sandbox.lambda_runtime.process import runtime_for
    from pipeline_infra_tools.workspace import Workspace

    runtime = runtime_for(Workspace.discover().state_dir)
    try:
        fired = runtime.tick(args.rule)
        failed = [o for o in runtime.invoker.outcomes if not o.final.ok]
    finally:
        runtime.close()
    print(f"fired {len(fired)} scheduled invocation(s): {', '.join(fired) or 'none'}")
    for outcome in failed:
        print(f"  {outcome.function} failed: {outcome.final.error_message}")
    return 0 if not failed else 1
