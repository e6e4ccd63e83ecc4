"""The aws target's orchestration, against a fake automation engine and fake AWS credentials (no CLI, no network)."""

from __future__ import annotations

import re
import shutil
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import pytest
import yaml
from botocore.exceptions import ClientError, ProfileNotFound
from pulumi import automation as auto

from pipeline_infra import __version__ as LIBRARY_VERSION
from pipeline_infra.layers import LAYERS, stack_reference_name
from pipeline_infra.settings import Settings, load_settings
from pipeline_infra_tools.artifact import ArtifactError
from pipeline_infra_tools.deploy.aws_target import AwsTarget, StackSpec
from pipeline_infra_tools.exceptions import DeployError
from pipeline_infra_tools.workspace import Workspace

if TYPE_CHECKING:
    from collections.abc import Callable

    import boto3

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
    session: FakeSession | None = None,
    session_factory: Callable[[], FakeSession] | None = None,
    which: str | None = "/usr/local/bin/pulumi",
    cli: FakeCli | None = None,
) -> AwsTarget:
    return AwsTarget(
        Workspace(root),
        settings,
        engine,
        environ=PASSPHRASE if environ is None else environ,
        session_factory=cast("Callable[[], boto3.Session]", session_factory or (lambda: session or FakeSession())),
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
