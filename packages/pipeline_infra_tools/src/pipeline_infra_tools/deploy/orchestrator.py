"""Deploy, preview or destroy an environment's layers on a target, in dependency order.

Every precondition is checked before anything changes: a layer whose StackReferences point at stacks that are
not deployed (and not about to be, earlier in the same run) stops the run with the command that creates them;
destroying a stack another deployed stack still reads stops the same way.
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pipeline_infra.layers import LAYERS, upstream_stacks
from pipeline_infra_tools.deploy.base import DEFAULT_TARGET, TARGET_ENV, ProgressEvent
from pipeline_infra_tools.exceptions import DeployError
from pipeline_infra_tools.workspace import command_prefix

if TYPE_CHECKING:
    from collections.abc import Callable

    from pipeline_infra.settings import Settings
    from pipeline_infra_tools.deploy.base import DeployTarget, LayerResult, Operation
    from pipeline_infra_tools.workspace import Workspace

TARGETS = ("local", "aws")
Stack = tuple[str, str]


def target_name(requested: str | None) -> str:
    """--target, else $PIPELINE_TARGET, else local."""
    name = requested or os.environ.get(TARGET_ENV) or DEFAULT_TARGET
    if name not in TARGETS:
        raise DeployError(f"unknown target {name!r} (from --target or {TARGET_ENV}); expected one of {list(TARGETS)}")
    return name


def make_target(
    name: str, workspace: Workspace, settings: Settings, *, refresh_before_deploy: bool = True
) -> DeployTarget:
    if name == "local":
        from pipeline_infra_tools.deploy.local_target import LocalTarget

        return LocalTarget(workspace, settings, refresh_before_deploy=refresh_before_deploy)
    try:
        module = importlib.import_module("pipeline_infra_tools.deploy.aws_target")
    except ImportError as err:
        raise DeployError(f"the aws target is not available in this pipeline-infra build: {err}") from err
    target: DeployTarget = module.AwsTarget(workspace, settings)
    return target


@dataclass(frozen=True)
class Plan:
    operation: Operation
    env: str
    layers: list[str]
    skipped: list[str]


def deploy_command(env: str, layer: str, target: str) -> str:
    return f"{command_prefix()} deploy --env {env} --layer {layer} --target {target}"


class Orchestrator:
    def __init__(self, workspace: Workspace, settings: Settings, target: DeployTarget) -> None:
        self.workspace = workspace
        self.settings = settings
        self.target = target

    def plan(self, operation: Operation, env: str, layers: list[str] | None = None) -> Plan:
        """The layers to run, in dependency order (reversed for destroy); layers without a stack for env skipped."""
        self.settings.env(env)
        wanted = [layer for layer in LAYERS if layers is None or layer in layers]
        available = set(self.workspace.layers_for(env))
        selected = [layer for layer in wanted if layer in available]
        skipped = [layer for layer in wanted if layer not in available]
        if operation == "destroy":
            selected.reverse()
        return Plan(operation=operation, env=env, layers=selected, skipped=skipped)

    def check_preconditions(self, plan: Plan) -> None:
        if plan.operation == "destroy":
            self._check_no_readers(plan)
        else:
            self._check_upstreams(plan)

    def _check_upstreams(self, plan: Plan) -> None:
        planned = {(layer, plan.env) for layer in plan.layers}
        missing: dict[Stack, None] = {}
        for layer in plan.layers:
            for stack in upstream_stacks(self.settings, layer, plan.env):
                if stack not in planned and self.target.outputs(*stack) is None:
                    missing[stack] = None
        if missing:
            names = ", ".join(f"{layer}/{env}" for layer, env in missing)
            commands = "\n".join(f"  {deploy_command(env, layer, self.target.name)}" for layer, env in missing)
            raise DeployError(
                f"cannot {plan.operation} {', '.join(plan.layers)} of {plan.env} on the {self.target.name} target: "
                f"it reads the outputs of stacks that are not deployed: {names}. Deploy them first:\n{commands}"
            )

    def _check_no_readers(self, plan: Plan) -> None:
        doomed = {(layer, plan.env) for layer in plan.layers}
        readers: dict[Stack, list[Stack]] = {}
        for env in self.settings.project.environments:
            for layer in self.workspace.layers_for(env):
                reader = (layer, env)
                if reader in doomed or self.target.outputs(layer, env) is None:
                    continue
                for stack in upstream_stacks(self.settings, layer, env):
                    if stack in doomed:
                        readers.setdefault(reader, []).append(stack)
        if readers:
            lines = [
                f"  {layer}/{env} reads {', '.join(f'{a}/{b}' for a, b in read)}: "
                f"{command_prefix()} destroy --env {env} --layer {layer} --target {self.target.name}"
                for (layer, env), read in readers.items()
            ]
            raise DeployError(
                f"cannot destroy {', '.join(plan.layers)} of {plan.env}: deployed stacks still read them. "
                "Destroy those first:\n" + "\n".join(lines)
            )

    def execute(
        self, operation: Operation, env: str, layers: list[str] | None, progress: Callable[[ProgressEvent], None]
    ) -> list[LayerResult]:
        """Check everything, then run each planned layer in order; the first failure stops the run."""
        plan = self.plan(operation, env, layers)
        for layer in plan.skipped:
            progress(ProgressEvent(layer, env, "message", f"{layer} has no {env} stack; skipped"))
        if not plan.layers:
            return []
        self.target.preflight(env, plan.layers)
        self.check_preconditions(plan)
        results = []
        for layer in plan.layers:
            progress(ProgressEvent(layer, env, "layer-started", f"{operation} {layer}/{env}"))
            result = self.target.run(operation, layer, env, progress)
            summary = ", ".join(f"{count} {action}" for action, count in result.changes.items() if count)
            progress(
                ProgressEvent(layer, env, "layer-finished", f"{operation} {layer}/{env}: {summary or 'no changes'}")
            )
            results.append(result)
        return results
