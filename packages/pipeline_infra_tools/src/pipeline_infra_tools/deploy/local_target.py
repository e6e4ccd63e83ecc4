"""The local target: every stack is deployed to the sandbox (a moto server on 127.0.0.1).

Each project's program runs unchanged in its own process (a child of this command's program server, which
imported the SDK once: `programs.runner`), with the library version it pins, under the mock runtime. The child
makes its own boto3 clients and creates its resources in the emulator; its result (outputs and resources) is
saved under `.pipeline/stacks/<project>/<env>.json`, where later programs' StackReferences read it.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline_infra.settings import load_settings
from pipeline_infra_tools.deploy.base import LayerResult, ProgressEvent
from pipeline_infra_tools.deploy.diff_text import property_lines
from pipeline_infra_tools.engine.harness import StackOutputsStore
from pipeline_infra_tools.exceptions import DeployError
from pipeline_infra_tools.programs.launcher import run_layer
from pipeline_infra_tools.sandbox.changes import deletion_order, diff_stack, is_cloud_resource, provider_placements
from pipeline_infra_tools.sandbox.manager import Sandbox
from pipeline_infra_tools.sandbox.stack_refresh import CloudReader, owned_by, refresh_document
from pipeline_infra_tools.sandbox.state import SandboxStateFile
from pipeline_infra_tools.sandbox.unchanged import SAVED_STACK_OPTION
from pipeline_infra_tools.workspace import command_prefix

if TYPE_CHECKING:
    from collections.abc import Callable

    Progress = Callable[[ProgressEvent], None]

    from pipeline_infra.settings import Settings
    from pipeline_infra_tools.cloud_state import RefreshedResource, RefreshResult
    from pipeline_infra_tools.deploy.base import Operation
    from pipeline_infra_tools.engine.harness import StackResult
    from pipeline_infra_tools.sandbox.changes import StackChanges
    from pipeline_infra_tools.sandbox.state import SandboxState
    from pipeline_infra_tools.workspace import Workspace


class LocalTarget:
    name = "local"

    def __init__(
        self, workspace: Workspace, settings: Settings | None = None, *, refresh_before_deploy: bool = True
    ) -> None:
        self.workspace = workspace
        # Like `pulumi up --refresh`: a deploy starts from what the cloud holds, so it repairs out-of-band changes.
        self.refresh_before_deploy = refresh_before_deploy
        self.settings = settings or load_settings(workspace.config_dir)
        self.files = SandboxStateFile(workspace.state_dir)
        self.store = StackOutputsStore(self.files.stacks_dir)
        self.sandbox = Sandbox(workspace.state_dir, region=self.settings.env(self.settings.source.name).region)
        self._preview_dir: Path | None = None
        self._artifact: Path | None = None
        self._reader: CloudReader | None = None

    # -- DeployTarget ---------------------------------------------------------------------------------------
    def preflight(self, env: str, layers: list[str]) -> None:
        if importlib.util.find_spec("moto") is None:
            raise DeployError(
                "the local target needs the emulator (moto[server]); install it with "
                "`pip install 'pipeline-infra[sandbox]'` or deploy with --target aws"
            )
        for layer in layers:
            # Raises with the fix (`nox -s build` or change the pin) when the pinned library is not built.
            self.workspace.wheel(self.workspace.pinned_version(layer))

    def run(self, operation: Operation, layer: str, env: str, progress: Progress) -> LayerResult:
        if operation == "deploy":
            return self._deploy(layer, env, progress)
        if operation == "preview":
            return self._preview(layer, env, progress)
        return self._destroy(layer, env, progress)

    def outputs(self, layer: str, env: str) -> dict[str, Any] | None:
        saved = self.store.load(self._project(layer), env)
        return None if saved is None else dict(saved.get("outputs", {}))

    # -- operations -----------------------------------------------------------------------------------------
    def refresh(self, layer: str, env: str, *, preview_only: bool, progress: Progress) -> RefreshResult:
        project = self._project(layer)
        saved = self.store.load(project, env)
        if saved is None:
            raise DeployError(
                f"{layer}/{env} is not deployed on the local target, so there is nothing to refresh; "
                f"deploy it with `{command_prefix()} deploy --env {env} --layer {layer}`"
            )
        status = self.sandbox.status()
        if not status.running or status.state is None:
            raise DeployError(
                "the sandbox is not running, so nothing can be read back; "
                f"start it with `{command_prefix()} sandbox up`"
            )
        result, refreshed = self._read_back(layer, env, saved, status.state)
        for resource in result.resources:
            progress(refresh_event(resource))
        if not preview_only:
            self.store.save_document(project, env, refreshed)
            result = dataclasses.replace(result, applied=True)
        return result

    def _read_back(
        self, layer: str, env: str, saved: dict[str, Any], state: SandboxState
    ) -> tuple[RefreshResult, dict[str, Any]]:
        if self._reader is None or self._reader.state.endpoint != state.endpoint:
            self._reader = CloudReader(state)
        return refresh_document(self._reader, layer, env, saved, owned_by(self._every_saved_resource()))

    def _every_saved_resource(self) -> list[dict[str, Any]]:
        records: list[dict[str, Any]] = []
        for path in sorted(self.store.root.glob("*/*.json")):
            saved = self.store.load(path.parent.name, path.stem)
            records += (saved or {}).get("resources", [])
        return records

    def _deploy(self, layer: str, env: str, progress: Progress) -> LayerResult:
        state, started = self.sandbox.up()
        if started:
            progress(ProgressEvent(layer, env, "message", f"sandbox started at {state.endpoint} (pid {state.pid})"))
        state = self.sandbox.set_up_accounts(self.settings)
        project = self._project(layer)
        saved = self.store.load(project, env)
        refreshed: RefreshResult | None = None
        if saved is not None and self.refresh_before_deploy:
            refreshed, saved = self._read_back(layer, env, saved, state)
            refreshed = dataclasses.replace(refreshed, applied=True)
            self.store.save_document(project, env, saved)
            for found in refreshed.resources:
                progress(refresh_event(found))
        options = {**state.backend_options(), SAVED_STACK_OPTION: str(self.store.path(project, env))}
        result = self._run_program(layer, env, "sandbox", options, self.store.root)
        changes = diff_stack(saved, result.resources)
        if changes.stale:
            from pipeline_infra_tools.sandbox.backend import EmulatorBackend
            from pipeline_infra_tools.sandbox.provider_clients import ProviderClients

            backend = EmulatorBackend(ProviderClients.from_state(state))
            try:
                where = provider_placements((saved or {}).get("resources", []))
                for resource in changes.stale:
                    backend.delete(
                        resource["type"],
                        resource["id"],
                        resource["outputs"],
                        where.get(resource["provider"] or ""),
                    )
            finally:
                backend.close()
        self.store.save(result)
        self.files.mark_stack(layer, env, deployed=True)
        if any(change.action != "same" for change in changes.changes):
            # In AWS a rule delivers from the moment it exists; the local runtime's taps are attached now, with
            # the deploy, rather than when the runtime next looks, so no event right after a deploy is missed.
            from pipeline_infra_tools.sandbox.lambda_runtime.process import attach_taps

            attach_taps(self.workspace.state_dir)
        report = self._report("deploy", layer, env, result, changes, progress)
        if refreshed is not None:
            report.refreshed = refreshed.to_json()
            for line in repaired_lines(refreshed, changes):
                progress(ProgressEvent(layer, env, "message", line))
        return report

    def _preview(self, layer: str, env: str, progress: Progress) -> LayerResult:
        project = self._project(layer)
        preview_store = StackOutputsStore(self._preview_root())
        environment = self.settings.env(env)
        options = {
            "mode": "preview",
            "saved_stack": str(self.store.path(project, env)),
            "account_id": environment.account_id,
            "region": environment.region,
        }
        result = self._run_program(layer, env, "sandbox", options, preview_store.root)
        # Later layers of this preview read these outputs; the real saved stacks stay untouched.
        preview_store.save(result)
        return self._report(
            "preview", layer, env, result, diff_stack(self.store.load(project, env), result.resources), progress
        )

    def _destroy(self, layer: str, env: str, progress: Progress) -> LayerResult:
        project = self._project(layer)
        saved = self.store.load(project, env)
        if saved is None:
            progress(ProgressEvent(layer, env, "message", f"{layer}/{env} is not deployed on the local target"))
            return LayerResult(layer=layer, env=env, operation="destroy")
        resources = deletion_order(saved.get("resources", []))
        status = self.sandbox.status()
        if status.running and status.state is not None:
            from pipeline_infra_tools.sandbox.backend import EmulatorBackend
            from pipeline_infra_tools.sandbox.provider_clients import ProviderClients

            state = status.state
            backend = EmulatorBackend(ProviderClients.from_state(state))
            where = provider_placements(saved.get("resources", []))
            try:
                for resource in resources:
                    backend.delete(
                        resource["type"],
                        resource["id"],
                        resource["outputs"],
                        where.get(resource["provider"] or ""),
                    )
                    progress(ProgressEvent(layer, env, "resource", "delete", resource["type"], resource["name"]))
            finally:
                backend.close()
        else:
            progress(ProgressEvent(layer, env, "message", "the sandbox is not running; its resources are already gone"))
        self.store.delete(project, env)
        self.files.mark_stack(layer, env, deployed=False)
        return LayerResult(
            layer=layer, env=env, operation="destroy", resource_count=len(resources), changes={"delete": len(resources)}
        )

    # -- helpers --------------------------------------------------------------------------------------------
    def _run_program(
        self, layer: str, env: str, backend: str, options: dict[str, Any], references: Path
    ) -> StackResult:
        from pipeline_infra_tools.artifact import function_artifact_path

        if self._artifact is None:
            # Built (or found) once per command: every layer of every environment deploys the same code.
            self._artifact = function_artifact_path(self.workspace.root)
        return run_layer(self.workspace, layer, env, backend, options, references, self._artifact)

    def _report(
        self, operation: Operation, layer: str, env: str, result: StackResult, changes: StackChanges, progress: Progress
    ) -> LayerResult:
        for change in changes.changes:
            details = property_lines(change.properties, change.replaced_by)
            progress(ProgressEvent(layer, env, "resource", change.action, change.type, change.name, details))
        cloud = [r for r in result.resources if is_cloud_resource(r.type)]
        return LayerResult(
            layer=layer,
            env=env,
            operation=operation,
            outputs=result.outputs,
            resource_count=len(cloud),
            changes=changes.counts(),
            resource_changes=[change.to_json() for change in changes.changes if change.action != "same"],
        )

    def _project(self, layer: str) -> str:
        return self.workspace.project(layer).name

    def _preview_root(self) -> Path:
        """A scratch copy of the saved stacks, so a preview of several layers chains through StackReferences."""
        if self._preview_dir is None:
            self._preview_dir = Path(tempfile.mkdtemp(prefix="pipeline-preview-"))
            if self.store.root.is_dir():
                shutil.copytree(self.store.root, self._preview_dir, dirs_exist_ok=True)
        return self._preview_dir

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None
        if self._preview_dir is not None:
            shutil.rmtree(self._preview_dir, ignore_errors=True)
            self._preview_dir = None


def refresh_event(resource: RefreshedResource) -> ProgressEvent:
    """A refreshed resource as a progress line: what the cloud holds that the record did not."""
    details = property_lines(resource.changes)
    details += tuple(f"+ {item.kind} {item.name!r}: not in any stack (left in place)" for item in resource.attached)
    verb = {"changed": "changed outside the tool", "gone": "deleted outside the tool", "attached": "has extras"}
    return ProgressEvent(
        resource.layer,
        resource.env,
        "resource",
        f"refresh: {verb[resource.status]}",
        resource.type,
        resource.name,
        details,
    )


def repaired_lines(refreshed: RefreshResult, changes: StackChanges) -> list[str]:
    """One line per out-of-band change this deploy put back, and one per extra it left (the code does not own it)."""
    applied = {(c.type, c.name): c.action for c in changes.changes}
    lines = []
    for resource in refreshed.resources:
        action = applied.get((resource.type, resource.name))
        if resource.status == "gone" and action == "create":
            lines.append(f"repaired: {resource.type} {resource.name} ({resource.physical}) was deleted; recreated")
        elif resource.status == "changed" and action in ("update", "replace"):
            paths = ", ".join(change.path for change in resource.changes)
            lines.append(f"repaired: {resource.type} {resource.name} ({resource.physical}): {paths}")
        for item in resource.attached:
            lines.append(
                f"not repaired: {item.kind} {item.name!r} on {resource.type} {resource.name} is in no stack; "
                "remove it or add it to the code"
            )
    return lines
