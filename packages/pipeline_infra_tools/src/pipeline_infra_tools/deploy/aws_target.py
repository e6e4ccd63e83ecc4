"""The `aws` target: each (layer, env) stack runs through the Pulumi Automation API against real AWS.

Only `StackFactory` touches the Pulumi CLI, so preflight, names, config, progress and errors are testable offline.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import boto3
import yaml
from botocore.exceptions import BotoCoreError, ClientError
from pulumi import automation as auto
from semver import VersionInfo

from pipeline_infra.layers import project_name, stack_reference_name
from pipeline_infra.stack_config import CONFIG_DIR_ENV, ENVIRONMENT_KEY
from pipeline_infra_tools.artifact import FUNCTION_ARTIFACT_ENV, ArtifactError, function_artifact_path
from pipeline_infra_tools.deploy.aws_credentials import CREDENTIALS_HINT, SessionFactory, check_deployment_role
from pipeline_infra_tools.deploy.aws_events import EventRelay, RefreshRelay, failure_message
from pipeline_infra_tools.deploy.aws_refresh import refresh_result
from pipeline_infra_tools.deploy.base import LayerResult, Operation, ProgressEvent
from pipeline_infra_tools.exceptions import DeployError, ProjectError
from pipeline_infra_tools.guardrails import POLICY_PACK_DIR
from pipeline_infra_tools.workspace import ROOT_ENV, command_prefix

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from pathlib import Path

    from pipeline_infra.settings import EnvironmentSettings, Settings
    from pipeline_infra_tools.cloud_state import RefreshResult
    from pipeline_infra_tools.workspace import Workspace

BACKEND_URL_ENV = "PULUMI_BACKEND_URL"
SECRETS_PROVIDER_ENV = "PULUMI_SECRETS_PROVIDER"
PASSPHRASE_ENVS = ("PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE_FILE")
DEFAULT_SECRETS_PROVIDER = "passphrase"
STATE_SUBDIR = "pulumi-state"
# `pulumi install` (run before each update so a project's venv follows its library pin) arrived in 3.91.
MINIMUM_CLI_VERSION = VersionInfo(3, 91, 0)
INSTALL_HINT = "install the Pulumi CLI: https://www.pulumi.com/docs/iac/download-install/"
# Steps whose resource is still in the stack afterwards; the other ops remove or stand in for one.
_REMAINING_OPS = ("same", "create", "update", "replace", "import", "read")


@dataclass(frozen=True)
class StackSpec:
    """Everything the engine needs to open one stack."""

    stack_name: str
    work_dir: Path
    env_vars: dict[str, str]
    secrets_provider: str


class AutomationStack(Protocol):
    """The part of `pulumi.automation.Stack` this target uses."""

    def set_all_config(self, config: auto.ConfigMap, *, path: bool = False) -> None: ...
    def up(self, *, on_event: auto.OnEvent | None = None, policy_packs: list[str] | None = None) -> auto.UpResult: ...
    def preview(
        self, *, on_event: auto.OnEvent | None = None, policy_packs: list[str] | None = None
    ) -> auto.PreviewResult: ...
    def destroy(self, *, on_event: auto.OnEvent | None = None) -> auto.DestroyResult: ...
    def refresh(self, *, on_event: auto.OnEvent | None = None) -> auto.RefreshResult: ...
    def preview_refresh(self, *, on_event: auto.OnEvent | None = None) -> auto.PreviewResult: ...
    def outputs(self) -> auto.OutputMap: ...


class StackFactory(Protocol):
    """Opens stacks: `stack` creates one or selects it; `existing` selects one or gives None if it was never created."""

    def stack(self, spec: StackSpec) -> AutomationStack: ...
    def existing(self, spec: StackSpec) -> AutomationStack | None: ...


class PulumiAutomation:
    """The real engine: a LocalWorkspace on the project directory, driving the Pulumi CLI."""

    def stack(self, spec: StackSpec) -> AutomationStack:
        stack = auto.create_or_select_stack(
            stack_name=spec.stack_name, work_dir=str(spec.work_dir), opts=self._options(spec)
        )
        if isinstance(stack.workspace, auto.LocalWorkspace):
            # The project's venv keeps whatever library it was first built with; reinstalling follows the pin.
            stack.workspace.install(no_plugins=True)
        return stack

    def existing(self, spec: StackSpec) -> AutomationStack | None:
        try:
            return auto.select_stack(stack_name=spec.stack_name, work_dir=str(spec.work_dir), opts=self._options(spec))
        except auto.StackNotFoundError:
            return None

    @staticmethod
    def _options(spec: StackSpec) -> auto.LocalWorkspaceOptions:
        return auto.LocalWorkspaceOptions(
            work_dir=str(spec.work_dir), env_vars=spec.env_vars, secrets_provider=spec.secrets_provider
        )


def _run_version(command: list[str]) -> str:
    env = {**os.environ, "PULUMI_SKIP_UPDATE_CHECK": "true"}
    return subprocess.run(command, capture_output=True, text=True, check=True, timeout=60, env=env).stdout


class AwsTarget:
    """Deploys each layer's Pulumi project to the AWS account and region its environment's settings name."""

    name = "aws"

    def __init__(
        self,
        workspace: Workspace,
        settings: Settings,
        workspace_factory: StackFactory | None = None,
        *,
        environ: Mapping[str, str] | None = None,
        session_factory: SessionFactory = boto3.Session,
        which: Callable[[str], str | None] = shutil.which,
        run_command: Callable[[list[str]], str] = _run_version,
        artifact: Callable[[Path], Path] = function_artifact_path,
    ) -> None:
        self.workspace = workspace
        self.settings = settings
        self.factory: StackFactory = workspace_factory or PulumiAutomation()
        self.environ: Mapping[str, str] = os.environ if environ is None else environ
        self.session_factory: SessionFactory = session_factory
        self.which = which
        self.run_command = run_command
        self.artifact = artifact
        self.cli_version: str | None = None

    def stack_name(self, layer: str, env: str) -> str:
        """The fully qualified stack name: the very name other layers' StackReferences resolve."""
        return stack_reference_name(self.settings, layer, env)

    @property
    def backend_url(self) -> str:
        return self.environ.get(BACKEND_URL_ENV) or f"file://{self.workspace.state_dir / STATE_SUBDIR}"

    def secrets_provider(self, layer: str, env: str) -> str:
        """$PULUMI_SECRETS_PROVIDER, else the stack file's `secretsprovider`, else a passphrase."""
        if self.environ.get(SECRETS_PROVIDER_ENV):
            return self.environ[SECRETS_PROVIDER_ENV]
        path = self.workspace.project(layer).directory / f"Pulumi.{env}.yaml"
        data = yaml.safe_load(path.read_text(encoding="utf-8")) if path.is_file() else None
        configured = data.get("secretsprovider") if isinstance(data, dict) else None
        return str(configured) if configured else DEFAULT_SECRETS_PROVIDER

    def _env_settings(self, env: str) -> EnvironmentSettings:
        try:
            return self.settings.env(env)
        except KeyError as exc:
            raise DeployError(str(exc.args[0])) from None

    def preflight(self, env: str, layers: list[str]) -> None:
        """Local checks first (projects, pins, secrets, CLI), then AWS: who we are, or, where the env names a
        deployment role, that our credentials can assume it into the env's account."""
        settings = self._env_settings(env)
        for layer in layers:
            self._check_project(layer, settings)
        self._check_secrets(env, layers)
        self._check_cli()
        self._check_aws(settings)

    def _check_project(self, layer: str, env: EnvironmentSettings) -> None:
        try:
            project = self.workspace.project(layer)
            expected = project_name(self.settings, layer)
            if project.name != expected:
                raise DeployError(
                    f"{project.directory}/Pulumi.yaml: name is {project.name!r} but settings make it {expected!r}; "
                    f"stack {self.stack_name(layer, env.name)} would not match it. Rename the project to {expected!r}."
                )
            if env.name not in project.stacks():
                raise DeployError(
                    f"layer {layer} has no stack for env {env.name} ({project.directory}/Pulumi.{env.name}.yaml is "
                    f"missing; stacks: {project.stacks()}). Add the file or leave {layer} out for {env.name}."
                )
            region = project.stack_config(env.name).get("aws:region")
            if region is not None and region != env.region:
                raise DeployError(
                    f"{project.directory}/Pulumi.{env.name}.yaml sets aws:region {region} but settings say "
                    f"{env.region} for env {env.name}; remove aws:region from the file or change shared_config."
                )
            self.workspace.wheel(self.workspace.pinned_version(layer))
        except ProjectError as exc:
            raise DeployError(f"layer {layer}: {exc}") from exc

    def _check_secrets(self, env: str, layers: list[str]) -> None:
        needs_passphrase = [layer for layer in layers if self.secrets_provider(layer, env) == DEFAULT_SECRETS_PROVIDER]
        # An empty passphrase is valid for Pulumi, so only an unset variable is an error.
        if needs_passphrase and not any(name in self.environ for name in PASSPHRASE_ENVS):
            raise DeployError(
                f"stacks {', '.join(self.stack_name(layer, env) for layer in needs_passphrase)} keep secrets with a "
                f"passphrase but PULUMI_CONFIG_PASSPHRASE is not set: export PULUMI_CONFIG_PASSPHRASE (or "
                f"PULUMI_CONFIG_PASSPHRASE_FILE), or set {SECRETS_PROVIDER_ENV} (e.g. awskms://alias/pipeline-infra)."
            )

    def _check_cli(self) -> None:
        path = self.which("pulumi")
        if path is None:
            raise DeployError(f"the Pulumi CLI is not on PATH; the aws target drives it. To fix, {INSTALL_HINT}.")
        try:
            version = VersionInfo.parse(self.run_command([path, "version"]).strip().removeprefix("v"))
        except (OSError, subprocess.SubprocessError, ValueError) as exc:
            raise DeployError(f"`{path} version` gave no version ({exc}); reinstall it: {INSTALL_HINT}.") from exc
        if version < MINIMUM_CLI_VERSION:
            raise DeployError(
                f"Pulumi CLI {version} at {path} is older than {MINIMUM_CLI_VERSION}; upgrade it: {INSTALL_HINT}."
            )
        self.cli_version = str(version)

    def _check_aws(self, env: EnvironmentSettings) -> None:
        if env.deployment is not None:
            # The stacks' provider assumes the role itself, in the env's region, so the base session may be in
            # any account and region; only the role has to work.
            check_deployment_role(env, self.session_factory)
            return
        try:
            session = self.session_factory()
            credentials = session.get_credentials()
            if credentials is None:
                raise DeployError(f"no AWS credentials found for env {env.name}: {CREDENTIALS_HINT}.")
            region = session.region_name
            if region is not None and region != env.region:
                raise DeployError(
                    f"the AWS session's region is {region} but settings say {env.region} for env {env.name}: "
                    f"set AWS_REGION={env.region} (or the profile's region), or unset AWS_REGION/AWS_DEFAULT_REGION."
                )
            account = session.client("sts", region_name=env.region).get_caller_identity()["Account"]
        except (BotoCoreError, ClientError) as exc:
            raise DeployError(
                f"AWS credentials for env {env.name} could not be used ({exc}): {CREDENTIALS_HINT}, "
                "or refresh expired ones."
            ) from exc
        if account != env.account_id:
            raise DeployError(
                f"credentials are for account {account} but settings say {env.account_id} for env {env.name}: "
                f"{CREDENTIALS_HINT} for account {env.account_id}."
            )

    def spec(self, layer: str, env: str, artifact: Path | None = None) -> StackSpec:
        env_vars = {
            BACKEND_URL_ENV: self.backend_url,
            # The CLI otherwise asks the network for a newer release on every command.
            "PULUMI_SKIP_UPDATE_CHECK": "true",
            CONFIG_DIR_ENV: str(self.workspace.config_dir),
            ROOT_ENV: str(self.workspace.root),
        }
        if artifact is not None:
            env_vars[FUNCTION_ARTIFACT_ENV] = str(artifact)
        return StackSpec(
            stack_name=self.stack_name(layer, env),
            work_dir=self.workspace.project(layer).directory,
            env_vars=env_vars,
            secrets_provider=self.secrets_provider(layer, env),
        )

    def config(self, layer: str, env: str) -> auto.ConfigMap:
        return {
            "aws:region": auto.ConfigValue(self._env_settings(env).region),
            f"{project_name(self.settings, layer)}:{ENVIRONMENT_KEY}": auto.ConfigValue(env),
        }

    def run(self, operation: Operation, layer: str, env: str, progress: Callable[[ProgressEvent], None]) -> LayerResult:
        spec = self.spec(layer, env, self._artifact())
        if BACKEND_URL_ENV not in self.environ:
            # The file backend does not create its own directory; a user-supplied URL is left as given.
            (self.workspace.state_dir / STATE_SUBDIR).mkdir(parents=True, exist_ok=True)
        progress(ProgressEvent(layer, env, "layer-started", f"{operation} {spec.stack_name} on aws"))
        errors: list[str] = []
        on_event = EventRelay(layer, env, progress, errors)
        try:
            stack = self.factory.stack(spec)
            stack.set_all_config(self.config(layer, env))
            result = self._operate(stack, operation, layer, env, on_event)
        except auto.CommandError as exc:
            raise DeployError(failure_message(f"{operation} of layer {layer} in env {env}", spec, exc, errors)) from exc
        summary = ", ".join(f"{count} {op}" for op, count in sorted(result.changes.items())) or "no changes"
        progress(ProgressEvent(layer, env, "layer-finished", f"{operation} {spec.stack_name}: {summary}"))
        return result

    @staticmethod
    def _operate(
        stack: AutomationStack, operation: Operation, layer: str, env: str, on_event: auto.OnEvent
    ) -> LayerResult:
        summary: Mapping[Any, int] | None
        outputs: dict[str, Any] = {}
        # The guardrails are mandatory: a violation fails the preview or the update (destroy runs no policies).
        packs = [str(POLICY_PACK_DIR)]
        if operation == "deploy":
            up = stack.up(on_event=on_event, policy_packs=packs)
            summary, outputs = up.summary.resource_changes, {key: out.value for key, out in up.outputs.items()}
        elif operation == "preview":
            summary = stack.preview(on_event=on_event, policy_packs=packs).change_summary
        else:
            summary = stack.destroy(on_event=on_event).summary.resource_changes
        changes = {str(getattr(op, "value", op)): count for op, count in (summary or {}).items()}
        remaining = sum(count for op, count in changes.items() if op in _REMAINING_OPS)
        return LayerResult(layer, env, operation, outputs, remaining, changes)

    def outputs(self, layer: str, env: str) -> dict[str, Any] | None:
        self._check_cli()
        spec = self.spec(layer, env)
        try:
            stack = self.factory.existing(spec)
            values = stack.outputs() if stack is not None else {}
        except auto.CommandError as exc:
            raise DeployError(failure_message(f"outputs of layer {layer} in env {env}", spec, exc, [])) from exc
        # A stack that was created but never deployed (or was destroyed) exports nothing.
        return {key: output.value for key, output in values.items()} or None

    def refresh(
        self, layer: str, env: str, *, preview_only: bool, progress: Callable[[ProgressEvent], None]
    ) -> RefreshResult:
        """Reads every resource of the stack back from AWS through the engine's refresh; with `preview_only` the
        record is left as it was, otherwise it takes the cloud's state. Raises DeployError for a stack never deployed
        or an engine failure."""
        self._check_cli()
        spec = self.spec(layer, env)
        what = f"refresh of layer {layer} in env {env}"
        mode = "preview only" if preview_only else "adopting the cloud's state"
        errors: list[str] = []
        relay = RefreshRelay(layer, env, progress, errors)
        try:
            stack = self._deployed_stack(spec, what, layer, env)
            progress(ProgressEvent(layer, env, "layer-started", f"refresh {spec.stack_name} on aws ({mode})"))
            stack.set_all_config(self.config(layer, env))
            if preview_only:
                # `preview_refresh` rather than `refresh(preview_only=True)`, which the SDK deprecates and which
                # fails on a stack with no update in its history.
                stack.preview_refresh(on_event=relay)
            else:
                stack.refresh(on_event=relay)
        except auto.CommandError as exc:
            raise DeployError(failure_message(what, spec, exc, errors)) from exc
        result = refresh_result(layer, env, relay.events, applied=not preview_only)
        gone = sum(1 for resource in result.resources if resource.status == "gone")
        summary = f"{result.read} read, {len(result.resources) - gone} changed, {gone} gone"
        progress(ProgressEvent(layer, env, "layer-finished", f"refresh {spec.stack_name}: {summary}"))
        return result

    def _deployed_stack(self, spec: StackSpec, what: str, layer: str, env: str) -> AutomationStack:
        # Without its directory the default file backend holds no stack at all; the engine is not asked.
        unbacked = BACKEND_URL_ENV not in self.environ and not (self.workspace.state_dir / STATE_SUBDIR).is_dir()
        stack = None if unbacked else self.factory.existing(spec)
        if stack is None:
            raise DeployError(
                f"{what}: stack {spec.stack_name} has never been deployed (none on {self.backend_url}); "
                f"deploy it first: {command_prefix()} deploy --env {env} --layer {layer} --target aws."
            )
        return stack

    def _artifact(self) -> Path:
        """The function artifact every program packages, built (or reused) before the engine starts."""
        try:
            return self.artifact(self.workspace.root)
        except ArtifactError as exc:
            raise DeployError(f"the function artifact could not be prepared: {exc}") from exc
