"""The aws target's orchestration, against a fake automation engine and fake AWS credentials (no CLI, no network)."""

from __future__ import annotations

import re
import shutil
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import pytest
import yaml
from botocore.exceptions import ClientError, EndpointConnectionError, ProfileNotFound
from pulumi import automation as auto

from pipeline_infra import __version__ as LIBRARY_VERSION
from pipeline_infra.layers import LAYERS, stack_reference_name
from pipeline_infra.settings import Settings, load_settings
from pipeline_infra_tools.artifact import ArtifactError
from pipeline_infra_tools.deploy.aws_credentials import AssumedRole, check_deployment_role
from pipeline_infra_tools.deploy.aws_target import AwsTarget, StackSpec
from pipeline_infra_tools.exceptions import DeployError
from pipeline_infra_tools.workspace import Workspace

if TYPE_CHECKING:
    from collections.abc import Callable

    from pipeline_infra_tools.deploy.aws_credentials import SessionFactory
    from pipeline_infra_tools.deploy.base import ProgressEvent

ROOT = Path(__file__).resolve().parents[2]
DEV_REGION, DEV_ACCOUNT = "us-east-2", "210987654321"
PASSPHRASE = {"PULUMI_CONFIG_PASSPHRASE": "correct horse"}


# -- fakes --------------------------------------------------------------------------------------------------------


class FakeStack:
    """Records every call; `up`/`preview`/`destroy` replay scripted engine events, then return or raise."""

    def __init__(self, log: list[tuple[Any, ...]], outputs: dict[str, auto.OutputValue], changes: dict[str, int]):
        self.log, self.saved_outputs, self.changes = log, outputs, changes
        self.events: list[auto.EngineEvent] = []
        self.error: Exception | None = None
        self.policy_packs: list[tuple[str, list[str] | None]] = []

    def set_all_config(self, config: auto.ConfigMap, *, path: bool = False) -> None:
        self.log.append(("set_all_config", {key: value.value for key, value in config.items()}))

    def _operate(self, name: str, on_event: Any) -> None:
        self.log.append((name,))
        for event in self.events:
            on_event(event)
        if self.error is not None:
            raise self.error

    def _summary(self) -> auto.UpdateSummary:
        # The engine's JSON gives the ops as plain strings, whatever OpMap's annotation says.
        changes: Any = self.changes
        return auto.UpdateSummary("update", datetime.now(), "", {}, {}, "succeeded", resource_changes=changes)

    def up(self, *, on_event: Any = None, policy_packs: list[str] | None = None) -> auto.UpResult:
        self.policy_packs.append(("up", policy_packs))
        self._operate("up", on_event)
        return auto.UpResult("", "", self._summary(), self.saved_outputs)

    def preview(self, *, on_event: Any = None, policy_packs: list[str] | None = None) -> auto.PreviewResult:
        self.policy_packs.append(("preview", policy_packs))
        self._operate("preview", on_event)
        changes: Any = self.changes
        return auto.PreviewResult("", "", changes)

    def destroy(self, *, on_event: Any = None) -> auto.DestroyResult:
        self._operate("destroy", on_event)
        return auto.DestroyResult("", "", self._summary())

    def outputs(self) -> auto.OutputMap:
        self.log.append(("outputs",))
        return self.saved_outputs


class FakeAutomation:
    def __init__(self) -> None:
        self.log: list[tuple[Any, ...]] = []
        self.specs: list[StackSpec] = []
        self.created: set[str] = set()
        self.next = FakeStack(self.log, {}, {})

    def stack(self, spec: StackSpec) -> FakeStack:
        self.log.append(("stack", spec.stack_name))
        self.specs.append(spec)
        self.created.add(spec.stack_name)
        return self.next

    def existing(self, spec: StackSpec) -> FakeStack | None:
        self.log.append(("existing", spec.stack_name))
        self.specs.append(spec)
        return self.next if spec.stack_name in self.created else None


class FakeSts:
    def __init__(self, account: str | None) -> None:
        self.account = account

    def get_caller_identity(self) -> dict[str, str]:
        if self.account is None:
            error = {
                "Error": {"Code": "ExpiredToken", "Message": "The security token included in the request is expired"}
            }
            raise ClientError(error, "GetCallerIdentity")  # type: ignore[arg-type]
        return {"Account": self.account, "Arn": f"arn:aws:iam::{self.account}:user/ci"}


class FakeSession:
    def __init__(self, account: str | None = DEV_ACCOUNT, region: str | None = DEV_REGION, credentials: bool = True):
        self.account, self.region_name, self.has_credentials = account, region, credentials
        self.clients: list[tuple[str, str | None]] = []

    def get_credentials(self) -> object | None:
        return object() if self.has_credentials else None

    def client(self, service: str, region_name: str | None = None) -> FakeSts:
        self.clients.append((service, region_name))
        return FakeSts(self.account)


def step(op: str, type_: str, name: str, failed: bool = False) -> auto.EngineEvent:
    meta = auto.StepEventMetadata(
        op=auto.OpType(op), urn=f"urn:pulumi:dev::p::{type_}::{name}", type=type_, provider=""
    )
    if failed:
        return auto.EngineEvent(1, 0, res_op_failed_event=auto.ResOpFailedEvent(meta, status=1, steps=1))
    return auto.EngineEvent(1, 0, res_outputs_event=auto.ResOutputsEvent(meta))


def diagnostic(severity: str, message: str, ephemeral: bool = False) -> auto.EngineEvent:
    return auto.EngineEvent(
        2, 0, diagnostic_event=auto.DiagnosticEvent(message, "never", severity, ephemeral=ephemeral)
    )


def engine_error(cls: type[auto.CommandError] = auto.CommandError, stderr: str = "") -> auto.CommandError:
    return cls(auto.CommandResult(stdout="Updating (dev)\n", stderr=stderr, code=255))


# -- fixtures -----------------------------------------------------------------------------------------------------


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A copy of the workspace with dev moved to its own account and region, and every pinned wheel "built"."""
    shutil.copytree(ROOT / "projects", tmp_path / "projects", ignore=shutil.ignore_patterns("venv", "__pycache__"))
    shutil.copytree(ROOT / "shared_config", tmp_path / "shared_config")
    dev = tmp_path / "shared_config" / "dev.yaml"
    dev.write_text(yaml.safe_dump({**yaml.safe_load(dev.read_text()), "region": DEV_REGION, "account_id": DEV_ACCOUNT}))
    (tmp_path / "dist").mkdir()
    for layer in LAYERS:
        version = Workspace(tmp_path).pinned_version(layer)
        (tmp_path / "dist" / f"pipeline_infra-{version}-py3-none-any.whl").write_bytes(b"")
    (tmp_path / "function.zip").write_bytes(b"PK")
    return tmp_path


@pytest.fixture
def settings(root: Path) -> Settings:
    return load_settings(root / "shared_config")


@pytest.fixture
def engine() -> FakeAutomation:
    return FakeAutomation()


@pytest.fixture
def events() -> list[ProgressEvent]:
    return []


class FakeCli:
    """`pulumi version` as the target runs it; records each command."""

    def __init__(self, printed: str = "v3.140.0\n") -> None:
        self.printed = printed
        self.commands: list[list[str]] = []

    def __call__(self, command: list[str]) -> str:
        self.commands.append(command)
        return self.printed


def make_target(
    root: Path,
    settings: Settings,
    engine: FakeAutomation,
    *,
    environ: dict[str, str] | None = None,
    session: FakeSession | FakeBaseSession | None = None,
    session_factory: Callable[..., FakeSession | FakeBaseSession] | None = None,
    which: str | None = "/usr/local/bin/pulumi",
    cli: FakeCli | None = None,
) -> AwsTarget:
    return AwsTarget(
        Workspace(root),
        settings,
        engine,
        environ=PASSPHRASE if environ is None else environ,
        session_factory=cast("SessionFactory", session_factory or (lambda: session or FakeSession())),
        which=lambda name: which if name == "pulumi" else None,
        run_command=cli or FakeCli(),
        artifact=lambda workspace_root: workspace_root / "function.zip",
    )


# -- names, config and environment --------------------------------------------------------------------------------


def test_stack_names_are_the_names_stack_references_resolve(
    root: Path, settings: Settings, engine: FakeAutomation
) -> None:
    target = make_target(root, settings, engine)
    for layer in ("storage", "notifications", "processing"):
        for env in ("dev", "staging", "prod"):
            target.run("deploy", layer, env, lambda _: None)
    target.run("deploy", "replication", "prod", lambda _: None)

    opened = [spec.stack_name for spec in engine.specs]
    assert opened[0] == "organization/pipeline-infra-storage/dev"
    assert opened[-1] == "organization/pipeline-infra-replication/prod"
    expected = [
        stack_reference_name(settings, layer, env) for layer in LAYERS[:3] for env in ("dev", "staging", "prod")
    ]
    assert opened == [*expected, stack_reference_name(settings, "replication", "prod")]
    assert [spec.work_dir for spec in engine.specs[:3]] == [root / "projects" / "storage"] * 3


def test_stack_names_follow_the_configured_reference_format(
    root: Path, settings: Settings, engine: FakeAutomation
) -> None:
    project = settings.project.model_copy(
        update={"organization": "acme", "stack_reference_format": "{organization}/{project}/{stack}-x"}
    )
    custom = settings.model_copy(update={"project": project})
    make_target(root, custom, engine).run("preview", "processing", "staging", lambda _: None)
    assert engine.specs[0].stack_name == "acme/pipeline-infra-processing/staging-x"


def test_deploy_opens_configures_then_updates(root: Path, settings: Settings, engine: FakeAutomation) -> None:
    # GIVEN dev settings that name their own region
    target = make_target(root, settings, engine)
    # WHEN the storage layer is deployed to dev
    target.run("deploy", "storage", "dev", lambda _: None)
    # THEN the stack is opened, its config set from settings, then updated, in that order
    assert engine.log == [
        ("stack", "organization/pipeline-infra-storage/dev"),
        ("set_all_config", {"aws:region": DEV_REGION, "pipeline-infra-storage:environment": "dev"}),
        ("up",),
    ]


def test_each_env_gets_its_own_region_and_environment(root: Path, settings: Settings, engine: FakeAutomation) -> None:
    target = make_target(root, settings, engine)
    target.run("preview", "notifications", "prod", lambda _: None)
    target.run("destroy", "notifications", "dev", lambda _: None)
    configs = [entry[1] for entry in engine.log if entry[0] == "set_all_config"]
    assert configs == [
        {"aws:region": "us-east-1", "pipeline-infra-notifications:environment": "prod"},
        {"aws:region": DEV_REGION, "pipeline-infra-notifications:environment": "dev"},
    ]
    assert [entry[0] for entry in engine.log if entry[0] in ("up", "preview", "destroy")] == ["preview", "destroy"]


def test_program_environment_and_default_file_backend(root: Path, settings: Settings, engine: FakeAutomation) -> None:
    make_target(root, settings, engine).run("deploy", "processing", "dev", lambda _: None)
    spec = engine.specs[0]
    state = root / ".pipeline" / "pulumi-state"
    assert spec.env_vars == {
        "PULUMI_BACKEND_URL": f"file://{state}",
        "PULUMI_SKIP_UPDATE_CHECK": "true",
        "PIPELINE_CONFIG_DIR": str(root / "shared_config"),
        "PIPELINE_ROOT": str(root),
        "PIPELINE_FUNCTION_ARTIFACT": str(root / "function.zip"),
    }
    assert state.is_dir(), "the file backend's directory must exist before the CLI logs in to it"
    assert spec.secrets_provider == "passphrase"


def test_backend_url_from_the_environment_wins(root: Path, settings: Settings, engine: FakeAutomation) -> None:
    environ = {**PASSPHRASE, "PULUMI_BACKEND_URL": "s3://state-bucket/pipeline"}
    make_target(root, settings, engine, environ=environ).run("deploy", "storage", "prod", lambda _: None)
    assert engine.specs[0].env_vars["PULUMI_BACKEND_URL"] == "s3://state-bucket/pipeline"
    assert not (root / ".pipeline").exists()


def test_secrets_provider_from_environment_or_stack_file(
    root: Path, settings: Settings, engine: FakeAutomation
) -> None:
    stack_file = root / "projects" / "storage" / "Pulumi.staging.yaml"
    stack_file.write_text(stack_file.read_text() + "secretsprovider: awskms://alias/from-file\n")
    target = make_target(root, settings, engine, environ={})
    assert target.secrets_provider("storage", "staging") == "awskms://alias/from-file"
    assert target.secrets_provider("storage", "dev") == "passphrase"
    env_target = make_target(root, settings, engine, environ={"PULUMI_SECRETS_PROVIDER": "awskms://alias/env"})
    assert env_target.secrets_provider("storage", "staging") == "awskms://alias/env"


def test_preview_and_update_run_the_guardrails_policy_pack(
    root: Path, settings: Settings, engine: FakeAutomation
) -> None:
    # GIVEN the aws target
    target = make_target(root, settings, engine)
    # WHEN a layer is previewed, deployed and destroyed
    target.run("preview", "storage", "dev", lambda _: None)
    target.run("deploy", "storage", "dev", lambda _: None)
    target.run("destroy", "storage", "dev", lambda _: None)
    # THEN preview and up were handed the one policy pack the tool ships (destroy runs no policies)
    assert [operation for operation, _ in engine.next.policy_packs] == ["preview", "up"]
    packs = {tuple(packs or ()) for _, packs in engine.next.policy_packs}
    assert len(packs) == 1, packs
    [(path,)] = packs
    pack = Path(path)
    assert pack.is_absolute() and pack.is_dir(), pack
    project = yaml.safe_load((pack / "PulumiPolicy.yaml").read_text())
    assert project["runtime"]["name"] == "python"
    assert (pack / "__main__.py").is_file()
    assert "pulumi-policy" in (pack / "requirements.txt").read_text()


# -- results and progress -----------------------------------------------------------------------------------------


def test_deploy_returns_outputs_changes_and_count(root: Path, settings: Settings, engine: FakeAutomation) -> None:
    engine.next.saved_outputs = {
        "bucket_name": auto.OutputValue("company-data-dev-us-east-2-pl01", secret=False),
        "region": auto.OutputValue(DEV_REGION, secret=False),
    }
    engine.next.changes = {"create": 7, "same": 1, "delete": 2}
    result = make_target(root, settings, engine).run("deploy", "storage", "dev", lambda _: None)
    assert (result.layer, result.env, result.operation) == ("storage", "dev", "deploy")
    assert result.outputs == {"bucket_name": "company-data-dev-us-east-2-pl01", "region": DEV_REGION}
    assert result.changes == {"create": 7, "same": 1, "delete": 2}
    assert result.resource_count == 8


def test_preview_and_destroy_report_changes_without_outputs(
    root: Path, settings: Settings, engine: FakeAutomation
) -> None:
    engine.next.changes = {"same": 9, "update": 1}
    target = make_target(root, settings, engine)
    preview = target.run("preview", "processing", "dev", lambda _: None)
    assert (preview.outputs, preview.changes, preview.resource_count) == ({}, {"same": 9, "update": 1}, 10)
    engine.next.changes = {"delete": 10}
    destroyed = target.run("destroy", "processing", "dev", lambda _: None)
    assert (destroyed.outputs, destroyed.changes, destroyed.resource_count) == ({}, {"delete": 10}, 0)


def test_engine_events_stream_as_progress(root: Path, settings: Settings, engine: FakeAutomation, events: list) -> None:
    engine.next.changes = {"create": 1, "same": 1}
    engine.next.events = [
        step("create", "aws:s3/bucketV2:BucketV2", "data-bucket"),
        diagnostic("info", "ephemeral spinner text", ephemeral=True),
        diagnostic("warning", "bucket versioning takes a moment\n"),
        diagnostic("debug", "plugin chatter"),
        step("same", "pulumi:pulumi:Stack", "pipeline-infra-storage-dev"),
    ]
    make_target(root, settings, engine).run("deploy", "storage", "dev", events.append)
    assert [(e.kind, e.message) for e in events] == [
        ("layer-started", "deploy organization/pipeline-infra-storage/dev on aws"),
        ("resource", "create aws:s3/bucketV2:BucketV2 data-bucket"),
        ("message", "warning: bucket versioning takes a moment"),
        ("resource", "same pulumi:pulumi:Stack pipeline-infra-storage-dev"),
        ("layer-finished", "deploy organization/pipeline-infra-storage/dev: 1 create, 1 same"),
    ]
    assert (events[1].resource_type, events[1].resource_name) == ("aws:s3/bucketV2:BucketV2", "data-bucket")
    assert {(e.layer, e.env) for e in events} == {("storage", "dev")}


def test_engine_failure_names_layer_env_and_cause(
    root: Path, settings: Settings, engine: FakeAutomation, events: list
) -> None:
    engine.next.events = [
        step("create", "aws:lambda/function:Function", "validator", failed=True),
        diagnostic("error", "creating Lambda Function: AccessDeniedException: not authorized"),
    ]
    engine.next.error = engine_error(stderr="error: update failed")
    with pytest.raises(DeployError) as caught:
        make_target(root, settings, engine).run("deploy", "processing", "staging", events.append)
    message = str(caught.value)
    assert "deploy of layer processing in env staging failed" in message
    assert "organization/pipeline-infra-processing/staging" in message
    assert "AccessDeniedException: not authorized" in message
    assert ("resource", "failed aws:lambda/function:Function validator") in [(e.kind, e.message) for e in events]
    assert events[-1].kind != "layer-finished"


def test_a_guardrail_the_engine_enforced_is_named_in_the_failure(
    root: Path, settings: Settings, engine: FakeAutomation, events: list
) -> None:
    urn = "urn:pulumi:prod::pipeline-infra-storage::aws:cloudwatch/logGroup:LogGroup::validator-logs"
    violation = auto.PolicyEvent(
        "retentionInDays is not set",
        "never",
        "log-retention",
        "pipeline-infra-guardrails",
        "0.1.0",
        "",
        "mandatory",
        urn,
    )
    engine.next.events = [auto.EngineEvent(3, 0, policy_event=violation)]
    engine.next.error = engine_error(stderr="error: preview failed")
    with pytest.raises(DeployError) as caught:
        make_target(root, settings, engine).run("preview", "storage", "prod", events.append)
    assert "guardrail log-retention (mandatory) on validator-logs: retentionInDays is not set" in str(caught.value)
    assert any("guardrail log-retention" in e.message for e in events)


def test_engine_failure_without_diagnostics_quotes_the_cli(
    root: Path, settings: Settings, engine: FakeAutomation
) -> None:
    engine.next.error = engine_error(stderr="error: failed to load checkpoint: stat .pulumi: permission denied")
    with pytest.raises(DeployError, match=r"destroy of layer storage in env prod failed(.|\n)*permission denied"):
        make_target(root, settings, engine).run("destroy", "storage", "prod", lambda _: None)


def test_locked_stack_says_how_to_unlock(root: Path, settings: Settings, engine: FakeAutomation) -> None:
    engine.next.error = engine_error(auto.ConcurrentUpdateError, "the stack is currently locked by 1 lock(s)")
    with pytest.raises(DeployError, match=r"pipeline-infra-storage/dev is locked by another update.*pulumi cancel"):
        make_target(root, settings, engine).run("deploy", "storage", "dev", lambda _: None)


def test_artifact_failure_stops_before_the_engine(root: Path, settings: Settings, engine: FakeAutomation) -> None:
    def no_artifact(workspace_root: Path) -> Path:
        raise ArtifactError("runtime dependency jmespath is not installed; install pipeline-functions")

    target = make_target(root, settings, engine)
    target.artifact = no_artifact
    with pytest.raises(DeployError, match="function artifact could not be prepared: runtime dependency jmespath"):
        target.run("deploy", "processing", "dev", lambda _: None)
    assert engine.log == []


def test_outputs_of_a_deployed_stack_and_of_none(root: Path, settings: Settings, engine: FakeAutomation) -> None:
    target = make_target(root, settings, engine)
    assert target.outputs("storage", "dev") is None, "a stack never created has no outputs"
    engine.next.saved_outputs = {"bucket_arn": auto.OutputValue("arn:aws:s3:::b", secret=False)}
    target.run("deploy", "storage", "dev", lambda _: None)
    assert target.outputs("storage", "dev") == {"bucket_arn": "arn:aws:s3:::b"}
    engine.next.saved_outputs = {}
    assert target.outputs("storage", "dev") is None, "a destroyed stack exports nothing"
    assert "PIPELINE_FUNCTION_ARTIFACT" not in engine.specs[0].env_vars


# -- preflight ----------------------------------------------------------------------------------------------------


def test_preflight_passes_with_matching_account_and_region(
    root: Path, settings: Settings, engine: FakeAutomation
) -> None:
    session, cli = FakeSession(), FakeCli()
    target = make_target(root, settings, engine, session=session, cli=cli)
    target.preflight("dev", ["storage", "notifications", "processing"])
    assert target.cli_version == "3.140.0"
    assert cli.commands == [["/usr/local/bin/pulumi", "version"]]
    assert session.clients == [("sts", DEV_REGION)], "identity is checked in the env's own region"
    assert engine.log == [], "preflight changes nothing"


def test_preflight_without_cli_says_how_to_install(root: Path, settings: Settings, engine: FakeAutomation) -> None:
    session = FakeSession()
    with pytest.raises(DeployError, match=r"Pulumi CLI is not on PATH.*install the Pulumi CLI: https://"):
        make_target(root, settings, engine, session=session, which=None).preflight("dev", ["storage"])
    assert session.clients == [], "AWS is asked only once the local checks pass"


@pytest.mark.parametrize(("printed", "expected"), [("v3.50.0", "older than 3.91.0"), ("oops", "gave no version")])
def test_preflight_rejects_old_or_broken_cli(
    root: Path, settings: Settings, engine: FakeAutomation, printed: str, expected: str
) -> None:
    with pytest.raises(DeployError, match=expected):
        make_target(root, settings, engine, cli=FakeCli(printed)).preflight("dev", ["storage"])


def test_preflight_without_credentials(root: Path, settings: Settings, engine: FakeAutomation) -> None:
    session = FakeSession(credentials=False)
    with pytest.raises(DeployError, match="no AWS credentials found for env dev: set AWS_PROFILE"):
        make_target(root, settings, engine, session=session).preflight("dev", ["storage"])
    assert session.clients == []


def test_preflight_with_unusable_credentials(root: Path, settings: Settings, engine: FakeAutomation) -> None:
    with pytest.raises(DeployError, match=r"could not be used .*ExpiredToken.*set AWS_PROFILE"):
        make_target(root, settings, engine, session=FakeSession(account=None)).preflight("dev", ["storage"])

    def missing_profile() -> FakeSession:
        raise ProfileNotFound(profile="prod-admin")

    with pytest.raises(DeployError, match="prod-admin"):
        make_target(root, settings, engine, session_factory=missing_profile).preflight("dev", ["storage"])


def test_preflight_with_the_wrong_account(root: Path, settings: Settings, engine: FakeAutomation) -> None:
    session = FakeSession(account="123456789012")
    with pytest.raises(
        DeployError, match=f"credentials are for account 123456789012 but settings say {DEV_ACCOUNT} for env dev"
    ):
        make_target(root, settings, engine, session=session).preflight("dev", ["storage"])


def test_preflight_with_the_wrong_region(root: Path, settings: Settings, engine: FakeAutomation) -> None:
    session = FakeSession(region="eu-west-1")
    with pytest.raises(DeployError, match=f"region is eu-west-1 but settings say {DEV_REGION} for env dev.*AWS_REGION"):
        make_target(root, settings, engine, session=session).preflight("dev", ["storage"])
    # A session with no region of its own is fine: the stack's aws:region comes from settings.
    make_target(root, settings, engine, session=FakeSession(region=None)).preflight("dev", ["storage"])


def test_preflight_with_a_stack_file_region_that_contradicts_settings(
    root: Path, settings: Settings, engine: FakeAutomation
) -> None:
    stack_file = root / "projects" / "notifications" / "Pulumi.dev.yaml"
    stack_file.write_text(stack_file.read_text() + "  aws:region: us-west-2\n")
    with pytest.raises(DeployError, match=f"Pulumi.dev.yaml sets aws:region us-west-2 but settings say {DEV_REGION}"):
        make_target(root, settings, engine).preflight("dev", ["storage", "notifications"])


def test_preflight_without_passphrase_stops_before_aws(root: Path, settings: Settings, engine: FakeAutomation) -> None:
    sessions: list[FakeSession] = []
    cli = FakeCli()

    def session_factory() -> FakeSession:
        sessions.append(FakeSession())
        return sessions[-1]

    target = make_target(root, settings, engine, environ={}, session_factory=session_factory, cli=cli)
    with pytest.raises(DeployError, match="PULUMI_CONFIG_PASSPHRASE is not set: export PULUMI_CONFIG_PASSPHRASE"):
        target.preflight("dev", ["storage"])
    assert sessions == [], "no AWS session is opened before the local checks pass"
    assert cli.commands == []


@pytest.mark.parametrize(
    "environ",
    [
        {"PULUMI_CONFIG_PASSPHRASE": ""},
        {"PULUMI_CONFIG_PASSPHRASE_FILE": "/run/secrets/p"},
        {"PULUMI_SECRETS_PROVIDER": "awskms://alias/k"},
    ],
)
def test_preflight_accepts_other_ways_to_keep_secrets(
    root: Path, settings: Settings, engine: FakeAutomation, environ: dict[str, str]
) -> None:
    make_target(root, settings, engine, environ=environ).preflight("dev", ["storage"])


def test_preflight_with_an_unbuilt_library_pin(root: Path, settings: Settings, engine: FakeAutomation) -> None:
    (root / "dist" / f"pipeline_infra-{LIBRARY_VERSION}-py3-none-any.whl").unlink()
    with pytest.raises(
        DeployError,
        match=rf"layer storage: pipeline-infra {re.escape(LIBRARY_VERSION)} is pinned but not built.*nox -s build",
    ):
        make_target(root, settings, engine).preflight("dev", ["storage"])


def test_preflight_with_a_pin_the_tool_does_not_support(root: Path, settings: Settings, engine: FakeAutomation) -> None:
    requirements = root / "projects" / "storage" / "requirements.txt"
    requirements.write_text("--find-links ../../dist\npipeline-infra==0.1.0\n")
    with pytest.raises(DeployError, match=r"layer storage: .*pipeline-infra==0\.1\.0 is pinned, but .* supports"):
        make_target(root, settings, engine).preflight("dev", ["storage"])
    assert engine.log == [], "nothing ran against the engine"


def test_preflight_with_a_layer_that_has_no_stack_for_the_env(
    root: Path, settings: Settings, engine: FakeAutomation
) -> None:
    with pytest.raises(DeployError, match="layer replication has no stack for env dev"):
        make_target(root, settings, engine).preflight("dev", ["storage", "replication"])


def test_preflight_with_a_project_name_settings_do_not_produce(
    root: Path, settings: Settings, engine: FakeAutomation
) -> None:
    spec = root / "projects" / "storage" / "Pulumi.yaml"
    spec.write_text(spec.read_text().replace("name: pipeline-infra-storage", "name: storage"))
    with pytest.raises(DeployError, match="name is 'storage' but settings make it 'pipeline-infra-storage'"):
        make_target(root, settings, engine).preflight("dev", ["storage"])


def test_preflight_with_an_unknown_env(root: Path, settings: Settings, engine: FakeAutomation) -> None:
    with pytest.raises(DeployError, match="unknown environment 'qa'"):
        make_target(root, settings, engine).preflight("qa", ["storage"])


# -- preflight through deployment roles (examples/multi-account) --------------------------------------------------

MULTI_ACCOUNT = "examples/multi-account/shared_config"
# env -> (region, account) as the multi-account profile sets them.
ACCOUNTS = {
    "dev": ("us-east-2", "111111111111"),
    "staging": ("us-west-1", "222222222222"),
    "prod": ("us-east-1", "333333333333"),
}
CALLER = "arn:aws:iam::999999999999:user/ci"
SESSION_NAME = "pipeline-infra-deploy"


def deployment_role(account: str) -> str:
    return f"arn:aws:iam::{account}:role/pipeline-infra-deployment"


def assumed_arn(account: str, session_name: str = SESSION_NAME) -> str:
    return f"arn:aws:sts::{account}:assumed-role/pipeline-infra-deployment/{session_name}"


class FakeAws:
    """STS as the deployment roles see it: which roles trust the caller (and with which external id), and the
    account each role's credentials land in. Records every AssumeRole and every identity it gives."""

    def __init__(self) -> None:
        self.trusted: dict[str, str | None] = {deployment_role(account): None for _, account in ACCOUNTS.values()}
        self.lands_in: dict[str, str] = {}
        self.expired = False
        self.unreachable = False
        self.assumed: list[dict[str, str]] = []
        self.identities: list[tuple[str | None, str]] = []
        self.issued: dict[str, tuple[str, str]] = {}

    def caller_identity(self, region: str | None, access_key: str | None) -> dict[str, str]:
        if self.unreachable:
            raise EndpointConnectionError(endpoint_url=f"https://sts.{region}.amazonaws.com/")
        if access_key is None:
            if self.expired:
                error = {
                    "Error": {
                        "Code": "ExpiredToken",
                        "Message": "The security token included in the request is expired",
                    }
                }
                raise ClientError(error, "GetCallerIdentity")  # type: ignore[arg-type]
            account, arn = CALLER.split(":")[4], CALLER
        else:
            role, session_name = self.issued[access_key]
            account = self.lands_in.get(role, role.split(":")[4])
            arn = assumed_arn(account, session_name)
        self.identities.append((region, arn))
        return {"Account": account, "Arn": arn, "UserId": "AROAFAKE"}

    def assume_role(self, region: str | None, params: dict[str, str]) -> dict[str, Any]:
        self.assumed.append({**params, "Region": str(region)})
        role = params["RoleArn"]
        if role not in self.trusted or self.trusted[role] != params.get("ExternalId"):
            message = f"User: {CALLER} is not authorized to perform: sts:AssumeRole on resource: {role}"
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": message}}, "AssumeRole")
        key = f"ASIAFAKE{len(self.issued)}"
        self.issued[key] = (role, params["RoleSessionName"])
        credentials = {"AccessKeyId": key, "SecretAccessKey": "secret", "SessionToken": "token"}
        return {"Credentials": {**credentials, "Expiration": datetime.now()}}


class FakeRoleSts:
    def __init__(self, aws: FakeAws, region: str | None, access_key: str | None) -> None:
        self.aws, self.region, self.access_key = aws, region, access_key

    def get_caller_identity(self) -> dict[str, str]:
        return self.aws.caller_identity(self.region, self.access_key)

    def assume_role(self, **params: str) -> dict[str, Any]:
        return self.aws.assume_role(self.region, params)


class FakeBaseSession:
    """The base credentials' session; a client made with explicit keys speaks as whoever those keys belong to."""

    def __init__(self, aws: FakeAws, region: str | None = "us-east-2", credentials: bool = True) -> None:
        self.aws, self.region_name, self.has_credentials = aws, region, credentials
        self.clients: list[tuple[str, str | None, str | None]] = []

    def get_credentials(self) -> object | None:
        return object() if self.has_credentials else None

    def client(
        self,
        service: str,
        region_name: str | None = None,
        aws_access_key_id: str | None = None,
        aws_secret_access_key: str | None = None,
        aws_session_token: str | None = None,
    ) -> FakeRoleSts:
        self.clients.append((service, region_name, aws_access_key_id))
        if aws_access_key_id is not None:
            assert (aws_secret_access_key, aws_session_token) == ("secret", "token"), "the whole credential set"
        return FakeRoleSts(self.aws, region_name, aws_access_key_id)


class FakeProfiles:
    """A session factory that knows some named profiles (as `boto3.Session(profile_name=...)` does); records each
    profile asked for. `ambient_profile` stands for an AWS_PROFILE that names a profile which does not exist."""

    def __init__(
        self, ambient: FakeBaseSession, profiles: dict[str, FakeBaseSession], ambient_profile: str | None = None
    ) -> None:
        self.ambient, self.profiles, self.ambient_profile = ambient, profiles, ambient_profile
        self.asked: list[str | None] = []

    def __call__(self, *, profile_name: str | None = None) -> FakeBaseSession:
        self.asked.append(profile_name)
        missing = profile_name if profile_name is not None else self.ambient_profile
        if missing is not None and missing not in self.profiles:
            raise ProfileNotFound(profile=missing)
        return self.ambient if profile_name is None else self.profiles[profile_name]


@pytest.fixture
def multi_root(root: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The workspace run with `--config examples/multi-account/shared_config` from its root."""
    config = root / MULTI_ACCOUNT
    shutil.copytree(ROOT / MULTI_ACCOUNT, config)
    monkeypatch.setenv("PIPELINE_CONFIG_DIR", str(config))
    monkeypatch.chdir(root)
    return root


def multi_settings(root: Path, **deployment: dict[str, str]) -> Settings:
    """The multi-account profile, with `deployment[env]` merged into that environment's deployment block."""
    config = root / MULTI_ACCOUNT
    for env, fields in deployment.items():
        path = config / f"{env}.yaml"
        data = yaml.safe_load(path.read_text())
        path.write_text(yaml.safe_dump({**data, "deployment": {**data["deployment"], **fields}}))
    return load_settings(config)


def test_preflight_assumes_each_envs_deployment_role_and_checks_its_account(
    multi_root: Path, engine: FakeAutomation
) -> None:
    # GIVEN the multi-account profile and one set of ambient credentials in an account of none of them
    aws = FakeAws()
    session = FakeBaseSession(aws)
    target = make_target(multi_root, multi_settings(multi_root), engine, session=session)
    # WHEN every environment is preflighted with all of its layers
    for env in ACCOUNTS:
        target.preflight(env, target.workspace.layers_for(env))
    # THEN each environment's own role was assumed once, in its own region, with no external id
    assert aws.assumed == [
        {"RoleArn": deployment_role(account), "RoleSessionName": SESSION_NAME, "Region": region}
        for region, account in ACCOUNTS.values()
    ]
    # AND the caller was identified, then each assumed identity read back in the env's region
    assert aws.identities == [
        identity
        for region, account in ACCOUNTS.values()
        for identity in ((region, CALLER), (region, assumed_arn(account)))
    ]
    # AND the identity check used the credentials the AssumeRole returned, not the base ones
    assert [key for _, _, key in session.clients] == [None, "ASIAFAKE0", None, "ASIAFAKE1", None, "ASIAFAKE2"]
    assert engine.log == [], "preflight changes nothing"


def test_check_deployment_role_reports_who_assumed_what(multi_root: Path) -> None:
    aws = FakeAws()
    prod = multi_settings(multi_root).env("prod")
    found = check_deployment_role(prod, cast("SessionFactory", FakeProfiles(FakeBaseSession(aws), {})))
    assert found == AssumedRole(caller_arn=CALLER, assumed_arn=assumed_arn("333333333333"), account="333333333333")


def test_preflight_when_the_role_does_not_trust_the_caller(multi_root: Path, engine: FakeAutomation) -> None:
    # GIVEN dev's role, whose trust policy does not admit the CI user
    aws = FakeAws()
    del aws.trusted[deployment_role("111111111111")]
    target = make_target(multi_root, multi_settings(multi_root), engine, session=FakeBaseSession(aws))
    # WHEN dev is preflighted THEN the error names env, role, the AWS message, the caller to admit and the file
    with pytest.raises(DeployError) as caught:
        target.preflight("dev", ["storage"])
    role = deployment_role("111111111111")
    assert str(caught.value) == (
        f"env dev: cannot assume {role}: User: {CALLER} is not authorized to perform: sts:AssumeRole on resource: "
        f"{role}; the role's trust policy must admit {CALLER} (and that principal's policies allow sts:AssumeRole "
        f"on the role), or set deployment.profile / external_id in {MULTI_ACCOUNT}/dev.yaml."
    )
    assert aws.identities == [("us-east-2", CALLER)], "nothing was asked as the role"
    # AND staging, whose role does trust the caller, still passes
    target.preflight("staging", ["storage"])


def test_preflight_when_the_assumed_role_lands_in_another_account(multi_root: Path, engine: FakeAutomation) -> None:
    aws = FakeAws()
    aws.lands_in[deployment_role("222222222222")] = "444444444444"
    target = make_target(multi_root, multi_settings(multi_root), engine, session=FakeBaseSession(aws))
    with pytest.raises(
        DeployError,
        match=(
            r"^env staging: assumed role landed in account 444444444444 but settings say 222222222222: "
            rf".*make deployment\.role_arn and account_id in {MULTI_ACCOUNT}/staging\.yaml"
        ),
    ):
        target.preflight("staging", ["storage"])


def test_preflight_assumes_the_role_from_the_profile_settings_name(multi_root: Path, engine: FakeAutomation) -> None:
    # GIVEN dev naming the profile whose credentials assume its role; staging naming none
    aws = FakeAws()
    ambient, profile = FakeBaseSession(aws, credentials=False), FakeBaseSession(aws)
    factory = FakeProfiles(ambient, {"ci-deployer": profile})
    settings = multi_settings(multi_root, dev={"profile": "ci-deployer"})
    target = make_target(multi_root, settings, engine, session_factory=factory)
    # WHEN dev is preflighted THEN the profile's session assumed the role
    target.preflight("dev", ["storage"])
    assert factory.asked == ["ci-deployer"]
    assert [service for service, _, _ in profile.clients] == ["sts", "sts"]
    # AND staging used the ambient session, which has no credentials
    with pytest.raises(DeployError, match="env staging: no AWS credentials to assume"):
        target.preflight("staging", ["storage"])
    assert factory.asked == ["ci-deployer", None]


def test_preflight_with_a_missing_profile_names_it(multi_root: Path, engine: FakeAutomation) -> None:
    aws = FakeAws()
    settings = multi_settings(multi_root, dev={"profile": "ci-deployer"})
    target = make_target(multi_root, settings, engine, session_factory=FakeProfiles(FakeBaseSession(aws), {}))
    with pytest.raises(DeployError) as caught:
        target.preflight("dev", ["storage"])
    assert str(caught.value).startswith(
        f"env dev: AWS profile 'ci-deployer' (deployment.profile in {MULTI_ACCOUNT}/dev.yaml) is not in "
        f"~/.aws/config or ~/.aws/credentials, so {deployment_role('111111111111')} cannot be assumed: "
        "add the profile (`aws configure --profile ci-deployer`"
    )
    # A profile AWS_PROFILE names (settings name none) is named as coming from there.
    ambient_missing = FakeProfiles(FakeBaseSession(aws), {}, ambient_profile="old-admin")
    target = make_target(multi_root, settings, engine, session_factory=ambient_missing)
    with pytest.raises(DeployError, match=r"^env prod: AWS profile 'old-admin' \(from AWS_PROFILE or AWS_DEFAULT"):
        target.preflight("prod", ["storage"])
    assert aws.assumed == []


def test_preflight_without_base_credentials(multi_root: Path, engine: FakeAutomation) -> None:
    aws = FakeAws()
    session = FakeBaseSession(aws, credentials=False)
    target = make_target(multi_root, multi_settings(multi_root), engine, session=session)
    with pytest.raises(DeployError) as caught:
        target.preflight("prod", ["storage"])
    assert str(caught.value) == (
        f"env prod: no AWS credentials to assume {deployment_role('333333333333')} with (the ambient AWS "
        "credentials gave none): set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run "
        f"`aws sso login`; or set deployment.profile in {MULTI_ACCOUNT}/prod.yaml."
    )
    assert session.clients == [], "STS is not asked without credentials"


def test_preflight_with_expired_base_credentials(multi_root: Path, engine: FakeAutomation) -> None:
    aws = FakeAws()
    aws.expired = True
    target = make_target(multi_root, multi_settings(multi_root), engine, session=FakeBaseSession(aws))
    with pytest.raises(
        DeployError,
        match=(
            r"^env dev: the AWS credentials that should assume arn:aws:iam::111111111111:role/pipeline-infra-deployment"
            r" could not be used \(ExpiredToken: The security token included in the request is expired\)"
        ),
    ):
        target.preflight("dev", ["storage"])
    assert aws.assumed == []


def test_preflight_when_sts_cannot_be_reached_says_so(multi_root: Path, engine: FakeAutomation) -> None:
    aws = FakeAws()
    aws.unreachable = True
    target = make_target(multi_root, multi_settings(multi_root), engine, session=FakeBaseSession(aws))
    with pytest.raises(DeployError) as caught:
        target.preflight("staging", ["storage"])
    assert str(caught.value) == (
        "env staging: STS in us-west-1 could not be reached (Could not connect to the endpoint URL: "
        '"https://sts.us-west-1.amazonaws.com/"), so the deployment role was not checked: check the network '
        "(proxy, VPC endpoint, AWS_ENDPOINT_URL) and that us-west-1 is enabled."
    )


def test_preflight_passes_the_external_id_and_session_name_settings_give(
    multi_root: Path, engine: FakeAutomation
) -> None:
    # GIVEN staging's role trusting the caller only with an external id, and staging naming its session
    aws = FakeAws()
    aws.trusted[deployment_role("222222222222")] = "pipeline-infra-7f3a"
    settings = multi_settings(multi_root, staging={"external_id": "pipeline-infra-7f3a", "session_name": "ci-run-42"})
    target = make_target(multi_root, settings, engine, session=FakeBaseSession(aws))
    # WHEN every environment is preflighted
    for env in ACCOUNTS:
        target.preflight(env, ["storage"])
    # THEN only staging's AssumeRole carried the external id and its session name
    assert aws.assumed[1] == {
        "RoleArn": deployment_role("222222222222"),
        "RoleSessionName": "ci-run-42",
        "ExternalId": "pipeline-infra-7f3a",
        "Region": "us-west-1",
    }
    assert [("ExternalId" in call, call["RoleSessionName"]) for call in aws.assumed] == [
        (False, SESSION_NAME),
        (True, "ci-run-42"),
        (False, SESSION_NAME),
    ]
    # AND a wrong external id is refused with a hint naming external_id
    wrong = multi_settings(multi_root, staging={"external_id": "stale-id"})
    with pytest.raises(DeployError, match=r"^env staging: cannot assume .*set deployment\.profile / external_id in"):
        make_target(multi_root, wrong, engine, session=FakeBaseSession(aws)).preflight("staging", ["storage"])
    assert aws.assumed[-1]["ExternalId"] == "stale-id"


def test_base_session_region_is_not_checked_when_a_deployment_role_is_used(
    multi_root: Path, settings: Settings, engine: FakeAutomation
) -> None:
    # GIVEN base credentials whose session is in a region none of the environments use
    aws = FakeAws()
    session = FakeBaseSession(aws, region="eu-west-1")
    # WHEN every environment with a deployment role is preflighted THEN each passes, STS asked in the env's region
    target = make_target(multi_root, multi_settings(multi_root), engine, session=session)
    for env in ACCOUNTS:
        target.preflight(env, ["storage"])
    assert {region for _, region, _ in session.clients} == {region for region, _ in ACCOUNTS.values()}
    # AND without a deployment role (the default profile's dev) the same region still fails
    assert settings.env("dev").deployment is None
    with pytest.raises(DeployError, match=f"region is eu-west-1 but settings say {DEV_REGION} for env dev"):
        make_target(multi_root, settings, engine, session=FakeSession(region="eu-west-1")).preflight("dev", ["storage"])


def test_an_env_without_a_deployment_role_keeps_the_direct_account_check(
    multi_root: Path, engine: FakeAutomation
) -> None:
    # GIVEN the profile with dev's deployment block removed
    dev = multi_root / MULTI_ACCOUNT / "dev.yaml"
    dev.write_text(yaml.safe_dump({k: v for k, v in yaml.safe_load(dev.read_text()).items() if k != "deployment"}))
    settings = load_settings(multi_root / MULTI_ACCOUNT)
    aws = FakeAws()
    # WHEN dev is preflighted with credentials of another account THEN it fails as before, and no role is assumed
    with pytest.raises(DeployError, match="credentials are for account 999999999999 but settings say 111111111111"):
        make_target(multi_root, settings, engine, session=FakeBaseSession(aws)).preflight("dev", ["storage"])
    assert aws.assumed == []
    # AND with dev's own account's credentials it passes
    make_target(
        multi_root, settings, engine, session=FakeSession(account="111111111111", region="us-east-2")
    ).preflight("dev", ["storage"])


def test_stack_config_sets_each_envs_region_and_nothing_per_account(multi_root: Path, engine: FakeAutomation) -> None:
    # GIVEN the multi-account profile: the provider reads each env's role and account from settings itself
    target = make_target(multi_root, multi_settings(multi_root), engine)
    for env, (region, _) in ACCOUNTS.items():
        for layer in target.workspace.layers_for(env):
            # THEN each stack's config is the env's region and name, no credentials or account keys
            config = target.config(layer, env)
            assert {key: value.value for key, value in config.items()} == {
                "aws:region": region,
                f"pipeline-infra-{layer}:environment": env,
            }
            assert not any(value.secret for value in config.values())
            # AND the stack files add no region of their own, and the program is handed the profile, not credentials
            assert "aws:region" not in target.workspace.project(layer).stack_config(env)
            env_vars = target.spec(layer, env).env_vars
            assert env_vars["PIPELINE_CONFIG_DIR"] == str(multi_root / MULTI_ACCOUNT)
            assert not [name for name in env_vars if name.startswith("AWS_")]
