"""The aws target's refresh against a fake engine that replays recorded event logs (no CLI, no network).

`data/aws_refresh/*.jsonl` are event logs in the shape `pulumi refresh --preview-only --event-log` writes them, one
engine event per line, parsed here by the SDK's own `EngineEvent.from_json`. Each refresh step is announced with op
`refresh` and reported again, once read, with the op it amounts to:
- processing-dev: the validator function's memory (512 => 768) and its `team` tag were changed in the console and
  an environment variable added; its role policy's document was widened; its log group is unchanged.
- storage-dev: the data bucket was deleted outside the stack; the config table is unchanged.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from pulumi import automation as auto

from pipeline_infra.settings import Settings, load_settings
from pipeline_infra_tools.cloud_state import PropertyChange
from pipeline_infra_tools.deploy.aws_refresh import parse_path, refresh_result, value_at
from pipeline_infra_tools.exceptions import DeployError
from tests.unit.test_aws_target import FakeAutomation, FakeStack, engine_error, make_target

if TYPE_CHECKING:
    from pipeline_infra_tools.deploy.base import ProgressEvent

ROOT = Path(__file__).resolve().parents[2]
RECORDED = Path(__file__).parent / "data" / "aws_refresh"
PROCESSING_STACK = "organization/pipeline-infra-processing/dev"
STORAGE_STACK = "organization/pipeline-infra-storage/dev"
FUNCTION_URN = (
    "urn:pulumi:dev::pipeline-infra-processing::pipeline-infra:processing:Processing$"
    "pipeline-infra:shared:PipelineFunction$aws:lambda/function:Function::processing-validator-function"
)


def recorded(name: str) -> list[auto.EngineEvent]:
    lines = (RECORDED / name).read_text(encoding="utf-8").splitlines()
    return [auto.EngineEvent.from_json(json.loads(line)) for line in lines if line.strip()]


class RefreshingStack(FakeStack):
    """The fake stack, with the engine's refresh: replays the recorded events, then returns or raises."""

    def __init__(self, log: list[tuple[Any, ...]]) -> None:
        super().__init__(log, {}, {})
        self.refreshes: list[bool] = []  # preview_only of each refresh the engine ran

    def refresh(self, *, on_event: Any = None) -> auto.RefreshResult:
        self.refreshes.append(False)
        self._operate("refresh", on_event)
        return auto.RefreshResult("", "", self._summary())

    def preview_refresh(self, *, on_event: Any = None) -> auto.PreviewResult:
        self.refreshes.append(True)
        self._operate("refresh", on_event)
        return auto.PreviewResult("", "", {})


@pytest.fixture
def root(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "projects", tmp_path / "projects", ignore=shutil.ignore_patterns("venv", "__pycache__"))
    shutil.copytree(ROOT / "shared_config", tmp_path / "shared_config")
    return tmp_path


@pytest.fixture
def settings(root: Path) -> Settings:
    return load_settings(root / "shared_config")


@pytest.fixture
def engine() -> FakeAutomation:
    engine = FakeAutomation()
    engine.next = RefreshingStack(engine.log)
    return engine


@pytest.fixture
def stack(engine: FakeAutomation) -> RefreshingStack:
    assert isinstance(engine.next, RefreshingStack)
    return engine.next


def deployed(root: Path, engine: FakeAutomation, *stack_names: str) -> None:
    """As a deploy leaves things: the file backend's directory exists and holds the stacks."""
    (root / ".pipeline" / "pulumi-state").mkdir(parents=True, exist_ok=True)
    engine.created.update(stack_names)


# -- mapping the recorded events ----------------------------------------------------------------------------------


def test_changed_function_and_policy_become_rows_property_by_property(
    root: Path, settings: Settings, engine: FakeAutomation, stack: RefreshingStack
) -> None:
    # GIVEN a deployed processing stack whose function and role policy were changed in the console
    deployed(root, engine, PROCESSING_STACK)
    stack.events = recorded("processing-dev.jsonl")
    # WHEN it is refreshed, preview only
    result = make_target(root, settings, engine).refresh(
        "processing", "dev", preview_only=True, progress=lambda _: None
    )
    # THEN exactly the two changed resources are rows, each naming the cloud's id and every changed property path
    assert (result.layer, result.env, result.clean) == ("processing", "dev", False)
    assert [(row.name, row.status, row.physical) for row in result.resources] == [
        ("processing-validator-function", "changed", "lambda-validator-dev-pl01"),
        ("processing-validator-policy", "changed", "iam-validator-dev-pl01:lambda-validator-dev-pl01-policy"),
    ]
    function, policy = result.resources
    assert (function.urn, function.type) == (FUNCTION_URN, "aws:lambda/function:Function")
    assert {(row.layer, row.env) for row in result.resources} == {("processing", "dev")}
    assert function.changes == (
        PropertyChange("environment.variables.LOG_SAMPLE_RATE", None, "1.0", absent=("recorded",)),
        PropertyChange("memorySize", 512, 768),
        PropertyChange("tags.team", "ingest", "analytics"),
        PropertyChange("tagsAll.team", "ingest", "analytics"),  # an output only: read from the outputs
    )
    [document] = policy.changes
    assert document.path == "policy"
    assert json.loads(document.recorded)["Statement"][1]["Action"] == ["s3:GetObject", "s3:GetObjectVersion"]
    assert json.loads(document.live)["Statement"][1]["Action"] == ["s3:*"]
    assert function.attached == () and result.unread == {}
    # The result is the same JSON shape every target prints.
    assert json.loads(json.dumps(result.to_json()))["resources"][0]["changes"][1] == {
        "path": "memorySize",
        "recorded": 512,
        "live": 768,
        "absent": [],
    }


def test_unchanged_resources_are_read_but_not_rows(
    root: Path, settings: Settings, engine: FakeAutomation, stack: RefreshingStack
) -> None:
    deployed(root, engine, PROCESSING_STACK)
    stack.events = recorded("processing-dev.jsonl")
    result = make_target(root, settings, engine).refresh(
        "processing", "dev", preview_only=True, progress=lambda _: None
    )
    # The log group, function and policy were read from AWS; the stack and its components are not cloud resources.
    assert result.read == 3
    assert "processing-validator-logs" not in [row.name for row in result.resources]


def test_a_bucket_deleted_outside_the_stack_is_gone(
    root: Path, settings: Settings, engine: FakeAutomation, stack: RefreshingStack
) -> None:
    deployed(root, engine, STORAGE_STACK)
    stack.events = recorded("storage-dev.jsonl")
    result = make_target(root, settings, engine).refresh("storage", "dev", preview_only=True, progress=lambda _: None)
    [bucket] = result.resources
    assert (bucket.name, bucket.type, bucket.status) == ("data-bucket", "aws:s3/bucket:Bucket", "gone")
    assert bucket.physical == "company-data-dev-us-east-1-pl01", "a gone resource is named by its recorded id"
    assert bucket.changes == ()
    assert result.read == 2, "the bucket and the config table"


def test_a_step_reported_changed_twice_is_one_row_and_one_message(
    root: Path, settings: Settings, engine: FakeAutomation, stack: RefreshingStack
) -> None:
    # GIVEN an engine that already names the result op when it announces the step, then reports it again
    events = recorded("processing-dev.jsonl")
    announced = [e for e in events if e.resource_pre_event and e.resource_pre_event.metadata.urn == FUNCTION_URN]
    [function_pre] = announced
    assert function_pre.resource_pre_event is not None
    function_pre.resource_pre_event.metadata.op = auto.OpType.UPDATE
    deployed(root, engine, PROCESSING_STACK)
    stack.events = events
    progress: list[ProgressEvent] = []
    # WHEN refreshed
    result = make_target(root, settings, engine).refresh(
        "processing", "dev", preview_only=True, progress=progress.append
    )
    # THEN the function is one row, with the changes of the finished step, and one line of progress
    assert [row.name for row in result.resources].count("processing-validator-function") == 1
    assert len(result.resources[0].changes) == 4
    assert [e.resource_name for e in progress if e.kind == "resource"].count("processing-validator-function") == 1


def test_events_are_mapped_in_sequence_whatever_order_they_arrive_in() -> None:
    events = recorded("processing-dev.jsonl")
    forward = refresh_result("processing", "dev", events, applied=False)
    backward = refresh_result("processing", "dev", list(reversed(events)), applied=False)
    assert forward == backward
    assert forward.resources[0].changes[1] == PropertyChange("memorySize", 512, 768)


# -- the engine call ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("preview_only", [True, False])
def test_preview_only_goes_to_the_engine_and_applied_follows_it(
    root: Path, settings: Settings, engine: FakeAutomation, stack: RefreshingStack, preview_only: bool
) -> None:
    deployed(root, engine, STORAGE_STACK)
    stack.events = recorded("storage-dev.jsonl")
    result = make_target(root, settings, engine).refresh(
        "storage", "dev", preview_only=preview_only, progress=lambda _: None
    )
    assert stack.refreshes == [preview_only]
    assert result.applied is (not preview_only)
    # The stack was opened, not created, and given the same config a deploy gives it.
    assert engine.log == [
        ("existing", STORAGE_STACK),
        ("set_all_config", {"aws:region": "us-east-1", "pipeline-infra-storage:environment": "dev"}),
        ("refresh",),
    ]


def test_engine_failure_names_the_stack_and_the_engine_message(
    root: Path, settings: Settings, engine: FakeAutomation, stack: RefreshingStack
) -> None:
    deployed(root, engine, PROCESSING_STACK)
    stack.error = engine_error(
        stderr="error: refreshing urn:...::processing-validator-function: operation error Lambda: GetFunction, "
        "AccessDeniedException: not authorized to perform: lambda:GetFunction"
    )
    progress: list[ProgressEvent] = []
    with pytest.raises(DeployError) as caught:
        make_target(root, settings, engine).refresh("processing", "dev", preview_only=True, progress=progress.append)
    message = str(caught.value)
    assert "refresh of layer processing in env dev failed" in message
    assert PROCESSING_STACK in message
    assert "AccessDeniedException: not authorized to perform: lambda:GetFunction" in message
    assert "layer-finished" not in [e.kind for e in progress]


def test_engine_error_diagnostics_are_the_failure_message(
    root: Path, settings: Settings, engine: FakeAutomation, stack: RefreshingStack
) -> None:
    deployed(root, engine, PROCESSING_STACK)
    diagnostic = auto.DiagnosticEvent("failed to decrypt: incorrect passphrase", "never", "error")
    stack.events = [auto.EngineEvent(1, 0, diagnostic_event=diagnostic)]
    stack.error = engine_error(stderr="error: refresh failed")
    with pytest.raises(DeployError, match=r"pipeline-infra-processing/dev\):\nfailed to decrypt: incorrect passphrase"):
        make_target(root, settings, engine).refresh("processing", "dev", preview_only=False, progress=lambda _: None)


def test_a_locked_stack_says_how_to_unlock(
    root: Path, settings: Settings, engine: FakeAutomation, stack: RefreshingStack
) -> None:
    deployed(root, engine, STORAGE_STACK)
    stack.error = engine_error(auto.ConcurrentUpdateError, "the stack is currently locked by 1 lock(s)")
    with pytest.raises(DeployError, match=r"refresh of layer storage in env dev: stack .* is locked.*pulumi cancel"):
        make_target(root, settings, engine).refresh("storage", "dev", preview_only=True, progress=lambda _: None)


def test_a_never_deployed_stack_says_to_deploy_first(root: Path, settings: Settings, engine: FakeAutomation) -> None:
    target = make_target(root, settings, engine)
    expected = (
        rf"refresh of layer storage in env dev: stack {STORAGE_STACK} has never been deployed .*"
        r"deploy it first: pipeline-infra deploy --env dev --layer storage --target aws"
    )
    # No state directory at all: the engine is not even asked.
    with pytest.raises(DeployError, match=expected):
        target.refresh("storage", "dev", preview_only=True, progress=lambda _: None)
    assert engine.log == []
    # A backend that holds other stacks but not this one.
    deployed(root, engine, PROCESSING_STACK)
    with pytest.raises(DeployError, match=expected):
        target.refresh("storage", "dev", preview_only=True, progress=lambda _: None)
    assert engine.log == [("existing", STORAGE_STACK)]


def test_a_never_deployed_stack_on_a_remote_backend(root: Path, settings: Settings, engine: FakeAutomation) -> None:
    environ = {"PULUMI_CONFIG_PASSPHRASE": "x", "PULUMI_BACKEND_URL": "s3://state-bucket/pipeline"}
    target = make_target(root, settings, engine, environ=environ)
    with pytest.raises(DeployError, match=r"has never been deployed \(none on s3://state-bucket/pipeline\)"):
        target.refresh("processing", "dev", preview_only=True, progress=lambda _: None)
    assert engine.log == [("existing", PROCESSING_STACK)], "a remote backend is asked, whatever the local disk holds"


def test_refresh_without_the_cli_says_how_to_install(root: Path, settings: Settings, engine: FakeAutomation) -> None:
    deployed(root, engine, PROCESSING_STACK)
    with pytest.raises(DeployError, match="Pulumi CLI is not on PATH"):
        make_target(root, settings, engine, which=None).refresh(
            "processing", "dev", preview_only=True, progress=lambda _: None
        )
    assert engine.log == []


# -- progress -------------------------------------------------------------------------------------------------------


def test_progress_has_one_line_per_changed_resource(
    root: Path, settings: Settings, engine: FakeAutomation, stack: RefreshingStack
) -> None:
    deployed(root, engine, PROCESSING_STACK)
    stack.events = recorded("processing-dev.jsonl")
    progress: list[ProgressEvent] = []
    make_target(root, settings, engine).refresh("processing", "dev", preview_only=True, progress=progress.append)
    assert [(e.kind, e.message) for e in progress] == [
        ("layer-started", f"refresh {PROCESSING_STACK} on aws (preview only)"),
        ("resource", "changed aws:iam/rolePolicy:RolePolicy processing-validator-policy: policy"),
        (
            "resource",
            "changed aws:lambda/function:Function processing-validator-function: "
            "environment.variables.LOG_SAMPLE_RATE, memorySize, tags.team, tagsAll.team",
        ),
        ("layer-finished", f"refresh {PROCESSING_STACK}: 3 read, 2 changed, 0 gone"),
    ]
    resources = [e for e in progress if e.kind == "resource"]
    assert [(e.resource_type, e.resource_name) for e in resources] == [
        ("aws:iam/rolePolicy:RolePolicy", "processing-validator-policy"),
        ("aws:lambda/function:Function", "processing-validator-function"),
    ]
    assert {(e.layer, e.env) for e in progress} == {("processing", "dev")}


def test_progress_names_a_gone_resource_and_relays_the_engine_warning(
    root: Path, settings: Settings, engine: FakeAutomation, stack: RefreshingStack
) -> None:
    deployed(root, engine, STORAGE_STACK)
    stack.events = recorded("storage-dev.jsonl")
    progress: list[ProgressEvent] = []
    make_target(root, settings, engine).refresh("storage", "dev", preview_only=False, progress=progress.append)
    assert [(e.kind, e.message) for e in progress if e.kind != "message"] == [
        ("layer-started", f"refresh {STORAGE_STACK} on aws (adopting the cloud's state)"),
        ("resource", "gone aws:s3/bucket:Bucket data-bucket: deleted outside the stack"),
        ("layer-finished", f"refresh {STORAGE_STACK}: 2 read, 0 changed, 1 gone"),
    ]
    warnings = [e.message for e in progress if e.kind == "message"]
    assert len(warnings) == 1 and "not found, removing from state" in warnings[0], warnings


# -- property paths -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "segments"),
    [
        ("memorySize", ["memorySize"]),
        ("environment.variables.FOO", ["environment", "variables", "FOO"]),
        ('tags["aws:cloudformation:stack-name"]', ["tags", "aws:cloudformation:stack-name"]),
        ('tags["a.b"].c', ["tags", "a.b", "c"]),
        ("rules[1].filter.prefix", ["rules", 1, "filter", "prefix"]),
        ('tags["unterminated', None),
    ],
)
def test_property_paths_parse_as_the_engine_writes_them(path: str, segments: list[str | int] | None) -> None:
    assert parse_path(path) == segments


def test_values_are_found_at_nested_paths_and_missing_ones_are_told_apart_from_null() -> None:
    values = {"environment": {"variables": {"FOO": "1"}}, "rules": [{"id": "a"}, {"id": "b"}], "kmsKeyId": None}
    assert value_at(values, "environment.variables.FOO") == "1"
    assert value_at(values, "rules[1].id") == "b"
    assert value_at(values, "kmsKeyId") is None
    missing = value_at(values, "rules[2].id")
    assert missing is not None and missing == value_at(values, "environment.variables.BAR")
    assert value_at(None, "memorySize") is missing


def test_physical_is_the_id_the_cloud_now_gives() -> None:
    # The engine takes a new id from the provider's read (a resource recreated under the same name, say).
    events = recorded("processing-dev.jsonl")
    [finished] = [e for e in events if e.res_outputs_event and e.res_outputs_event.metadata.urn == FUNCTION_URN]
    assert finished.res_outputs_event is not None and finished.res_outputs_event.metadata.new is not None
    finished.res_outputs_event.metadata.new.id = "lambda-validator-dev-pl01-restored"
    result = refresh_result("processing", "dev", events, applied=False)
    assert result.resources[0].physical == "lambda-validator-dev-pl01-restored"


# -- drift --live --target aws ------------------------------------------------------------------------------------


def test_live_drift_through_the_engine_gives_one_row_per_change_and_says_what_it_did_not_compare(
    root: Path, settings: Settings, engine: FakeAutomation, stack: RefreshingStack
) -> None:
    from pipeline_infra_tools.drift.models import Category, Kind, Status
    from pipeline_infra_tools.drift.runner import engine_live_differences

    # GIVEN processing/dev deployed (it exports its outputs) and changed in the console; storage/dev never deployed
    deployed(root, engine, PROCESSING_STACK)
    stack.saved_outputs = {"validator_function_name": auto.OutputValue("lambda-validator-dev-pl01", False)}
    stack.events = recorded("processing-dev.jsonl")
    # WHEN live drift is read through the engine
    rows, read = engine_live_differences(
        make_target(root, settings, engine), [("storage", "dev"), ("processing", "dev")]
    )
    # THEN each changed property is a drift row naming the resource, its AWS name, both values and the repair
    memory = [row for row in rows if row.path == "memorySize"]
    assert len(memory) == 1
    [row] = memory
    assert (row.category, row.kind, row.status) == (Category.LIVE, Kind.VALUE, Status.DRIFT)
    assert (row.resource, row.physical, row.values) == (
        "processing-validator-function",
        "lambda-validator-dev-pl01",
        {"code": 512, "dev": 768},
    )
    assert row.repair == "pipeline-infra deploy --env dev --layer processing"
    assert read > 0
    # AND what was not compared is an unchecked row, not a silent gap
    unchecked = [row for row in rows if row.kind is Kind.UNCHECKED]
    assert any(row.layer == "storage" and "not deployed" in (row.note or "") for row in unchecked)
    assert any(row.layer is None and "preview --env dev --target aws" in (row.note or "") for row in unchecked)
