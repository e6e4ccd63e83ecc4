"""One drift run: choose environments and a baseline, render, compare settings, structure and (--live) state."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pipeline_infra.layers import project_name
from pipeline_infra.settings import load_settings
from pipeline_infra_tools.drift.exceptions import DriftUsageError
from pipeline_infra_tools.drift.graph_diff import compare_structure, count_resources
from pipeline_infra_tools.drift.live import (
    administrator_clients,
    compare_cloud,
    compare_data,
    compare_deployed,
    every_saved_resource,
    load_deployed,
    read_sandbox,
    unchecked_live,
)
from pipeline_infra_tools.drift.models import Category, DriftReport
from pipeline_infra_tools.drift.render_cache import rendered_documents
from pipeline_infra_tools.drift.sandbox_unmanaged import unmanaged_in_sandbox
from pipeline_infra_tools.drift.settings_diff import compare_settings, count_settings
from pipeline_infra_tools.sandbox.stack_refresh import CloudReader, owned_by, refresh_document

if TYPE_CHECKING:
    from collections.abc import Sequence

    from pipeline_infra.settings import Settings
    from pipeline_infra_tools.deploy.base import DeployTarget
    from pipeline_infra_tools.drift.graph_diff import StackDocument
    from pipeline_infra_tools.drift.models import Difference
    from pipeline_infra_tools.sandbox.state import SandboxState
    from pipeline_infra_tools.workspace import Workspace

SUFFIX_KEY = "environmentSuffix"


@dataclass(frozen=True)
class DriftRequest:
    environments: Sequence[str] = ()  # empty: every environment in project.environments
    live: bool = False
    use_cache: bool = True
    layers: Sequence[str] = field(default_factory=tuple)  # empty: every layer an environment has
    target: str = "local"  # where --live reads the cloud: "local" (the sandbox) or "aws" (the engine's refresh)


def select_environments(settings: Settings, wanted: Sequence[str], live: bool) -> tuple[list[str], str]:
    """The environments in declared order and the baseline (the source environment when selected)."""
    declared = settings.project.environments
    unknown = [env for env in wanted if env not in declared]
    if unknown:
        raise DriftUsageError(f"unknown environment(s) {unknown}; expected some of {declared}")
    envs = [env for env in declared if env in wanted] if wanted else list(declared)
    if len(envs) < 2 and not live:
        raise DriftUsageError(f"drift compares environments: give two or more --env (got {envs}), or add --live")
    source = settings.project.source_environment
    return envs, source if source in envs else envs[-1]


def _stack_suffixes(
    workspace: Workspace, settings: Settings, wanted: Sequence[tuple[str, str]]
) -> dict[str, list[str]]:
    """`environmentSuffix` overrides from Pulumi.<env>.yaml, which change physical names like the suffix does."""
    suffixes: dict[str, list[str]] = {}
    for layer, env in wanted:
        key = f"{project_name(settings, layer)}:{SUFFIX_KEY}"
        override = workspace.project(layer).stack_config(env).get(key)
        if override:
            suffixes.setdefault(env, []).append(override)
    return suffixes


def run_drift(
    workspace: Workspace, request: DriftRequest, settings: Settings | None = None, cloud: DeployTarget | None = None
) -> DriftReport:
    """Compare the selected environments (and with `live`, deployed state); every difference is judged.

    `cloud` is the target `--live --target aws` reads through (made from the request when not given)."""
    settings = settings or load_settings(workspace.config_dir)
    envs, baseline = select_environments(settings, request.environments, request.live)
    local = request.target == "local"
    sandbox = read_sandbox(workspace.state_dir) if request.live and local else None  # fail before the slow part
    wanted = [
        (layer, env)
        for env in envs
        for layer in workspace.layers_for(env)
        if not request.layers or layer in request.layers
    ]
    documents = rendered_documents(workspace, settings, wanted, request.use_cache)
    differences: list[Difference] = compare_settings(settings, envs, baseline)
    differences += compare_structure(settings, envs, baseline, documents, _stack_suffixes(workspace, settings, wanted))
    compared = {
        Category.SETTINGS.value: count_settings(settings, envs),
        Category.STRUCTURE.value: count_resources(documents),
    }
    if sandbox is not None:
        live, data, compared_live, compared_data = _live_differences(workspace, settings, envs, documents, sandbox)
        differences += live + data
        compared[Category.LIVE.value] = compared_live
        compared[Category.DATA.value] = compared_data
        suffixes = _stack_suffixes(workspace, settings, wanted)
        unmanaged, compared[Category.UNMANAGED.value] = unmanaged_in_sandbox(
            workspace.state_dir, settings, envs, sandbox, suffixes, reported=differences
        )
        differences += unmanaged
    elif request.live:
        if cloud is None:
            from pipeline_infra_tools.deploy.orchestrator import make_target

            cloud = make_target(request.target, workspace, settings)
        live, compared_live = engine_live_differences(cloud, list(documents))
        differences += live
        compared[Category.LIVE.value] = compared_live
    return DriftReport(tuple(envs), baseline, request.live, tuple(differences), compared)


def engine_live_differences(cloud: DeployTarget, stacks: Sequence[tuple[str, str]]) -> tuple[list[Difference], int]:
    """Live drift through a target's own refresh (the aws target: the engine's preview-only refresh of every
    deployed stack). Code against the stack's state is `pipeline-infra preview` there; replicated data is compared
    by prod's scheduled drift checker, so both are one unchecked row each here rather than a silent gap."""
    rows: list[Difference] = []
    read = 0
    for layer, env in stacks:
        if cloud.outputs(layer, env) is None:
            rows.append(unchecked_live(env, layer, f"{layer}/{env} is not deployed on the {cloud.name} target"))
            continue
        result = cloud.refresh(layer, env, preview_only=True, progress=lambda _event: None)
        rows += compare_cloud(result)
        read += result.read
    for env in sorted({env for _, env in stacks}):
        rows.append(
            unchecked_live(
                env,
                None,
                f"on the {cloud.name} target the code is compared with each stack by `pipeline-infra preview --env "
                f"{env} --target {cloud.name}`, and replicated data by prod's scheduled drift checker",
            )
        )
    return rows, read


def _live_differences(
    workspace: Workspace,
    settings: Settings,
    envs: Sequence[str],
    documents: dict[tuple[str, str], StackDocument],
    sandbox: SandboxState,
) -> tuple[list[Difference], list[Difference], int, int]:
    live: list[Difference] = []
    compared = 0
    deployed_stacks = {
        (layer, env): load_deployed(workspace.state_dir, project_name(settings, layer), env) for layer, env in documents
    }
    # Every stack's record, not only the selected ones: a child (a rule target) may be recorded beside its owner.
    reader, owned = CloudReader(sandbox), owned_by(every_saved_resource(workspace.state_dir))
    try:
        for (layer, env), rendered in documents.items():
            deployed = deployed_stacks[(layer, env)]
            live += compare_deployed(env, layer, rendered, deployed)
            if deployed is not None:
                result, _ = refresh_document(reader, layer, env, deployed, owned)
                live += compare_cloud(result)
                compared += result.read
    finally:
        reader.close()
    # The source's storage is read even when the source is not selected: it is what replicas are checked against.
    storage_outputs: dict[str, dict[str, Any]] = {}
    for env in {*envs, settings.project.source_environment}:
        deployed = load_deployed(workspace.state_dir, project_name(settings, "storage"), env)
        if deployed is not None:
            storage_outputs[env] = deployed.get("outputs", {})
    data, compared_data = compare_data(settings, envs, storage_outputs, administrator_clients(sandbox, settings))
    return live, data, compared, compared_data
