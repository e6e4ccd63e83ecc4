"""The drift checker's read-back of the replication paths, against stubbed EventBridge, Pipes and SNS clients.

Every AWS answer is given by botocore's Stubber, which also checks each request's parameters against the service
model and against what the test expects: a rule on the replication bus must be asked for on that bus.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.stub import Stubber

from pipeline_functions import constants as c
from pipeline_functions.drift_checker import DriftChecker, DriftCheckerSettings, ReplicationPath, check_paths
from pipeline_functions.drift_checker.paths import parse_paths
from pipeline_functions.exceptions import ConfigurationError
from pipeline_functions.shared.targets import own_credentials

if TYPE_CHECKING:
    from collections.abc import Iterator

ACCOUNT, REGION = "123456789012", "us-east-1"
REPLICATOR = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:fn-replicator-prod-pl01"
BUS = f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/bus-replication-prod-pl01"
OBJECT_RULE = ReplicationPath(
    kind="rule",
    name="evr-s3-changes-prod-pl01",
    arn=f"arn:aws:events:{REGION}:{ACCOUNT}:rule/evr-s3-changes-prod-pl01",
    target_arns=(REPLICATOR,),
)
CONFIG_RULE = ReplicationPath(
    kind="rule",
    name="evr-config-changes-prod-pl01",
    arn=f"arn:aws:events:{REGION}:{ACCOUNT}:rule/bus-replication-prod-pl01/evr-config-changes-prod-pl01",
    target_arns=(REPLICATOR,),
)
PIPE = ReplicationPath(
    kind="pipe",
    name="pipe-config-stream-prod-pl01",
    arn=f"arn:aws:pipes:{REGION}:{ACCOUNT}:pipe/pipe-config-stream-prod-pl01",
    target_arns=(BUS,),
)
PATHS = (OBJECT_RULE, CONFIG_RULE, PIPE)
FAILURE_TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT}:sns-failure-prod-pl01"


def stubbed(service: str) -> tuple[Any, Stubber]:
    aws = boto3.client(  # type: ignore[call-overload]
        service, region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    return aws, Stubber(aws)


@pytest.fixture
def events() -> Iterator[tuple[Any, Stubber]]:
    aws, stub = stubbed("events")
    with stub:
        yield aws, stub
    stub.assert_no_pending_responses()


@pytest.fixture
def pipes() -> Iterator[tuple[Any, Stubber]]:
    aws, stub = stubbed("pipes")
    with stub:
        yield aws, stub
    stub.assert_no_pending_responses()


def on_bus(path: ReplicationPath) -> dict[str, str]:
    return {"EventBusName": "bus-replication-prod-pl01"} if path is CONFIG_RULE else {}


def rule_answers(
    stub: Stubber, path: ReplicationPath, state: str = "ENABLED", targets: tuple[str, ...] | None = None
) -> None:
    stub.add_response(
        "describe_rule", {"Name": path.name, "Arn": path.arn, "State": state}, {"Name": path.name, **on_bus(path)}
    )
    listed = [{"Id": f"t{i}", "Arn": arn} for i, arn in enumerate(path.target_arns if targets is None else targets)]
    # A rule left with no target is answered without the list (the model allows no empty one).
    answer = {"Targets": listed} if listed else {}
    stub.add_response("list_targets_by_rule", answer, {"Rule": path.name, **on_bus(path)})


def pipe_answer(stub: Stubber, desired: str = "RUNNING", current: str = "RUNNING", target: str = BUS) -> None:
    answer = {"Name": PIPE.name, "Arn": PIPE.arn, "DesiredState": desired, "CurrentState": current, "Target": target}
    stub.add_response("describe_pipe", answer, {"Name": PIPE.name})


def problems(checks: tuple[Any, ...]) -> dict[str, list[str]]:
    return {check.path.name: list(check.problems) for check in checks}


def test_every_path_enabled_with_its_targets_is_ok(events: tuple[Any, Stubber], pipes: tuple[Any, Stubber]) -> None:
    rule_answers(events[1], OBJECT_RULE)
    rule_answers(events[1], CONFIG_RULE)
    pipe_answer(pipes[1])
    checks = check_paths(PATHS, events[0], pipes[0])
    assert [check.ok for check in checks] == [True, True, True]
    assert checks[0].to_dict() == {
        "kind": "rule",
        "name": OBJECT_RULE.name,
        "arn": OBJECT_RULE.arn,
        "ok": True,
        "problems": [],
        "observed": {"state": "ENABLED", "target_arns": [REPLICATOR]},
    }
    assert checks[2].observed == {"desired_state": "RUNNING", "current_state": "RUNNING", "target_arns": [BUS]}


def test_a_disabled_rule_is_named(events: tuple[Any, Stubber], pipes: tuple[Any, Stubber]) -> None:
    rule_answers(events[1], OBJECT_RULE, state="DISABLED")
    rule_answers(events[1], CONFIG_RULE)
    pipe_answer(pipes[1])
    checks = check_paths(PATHS, events[0], pipes[0])
    assert problems(checks) == {OBJECT_RULE.name: ["rule disabled"], CONFIG_RULE.name: [], PIPE.name: []}
    assert checks[0].observed["state"] == "DISABLED"


def test_a_rule_that_lost_its_target_names_the_missing_arn(
    events: tuple[Any, Stubber], pipes: tuple[Any, Stubber]
) -> None:
    rule_answers(events[1], OBJECT_RULE)
    # GIVEN the config rule still enabled, but delivering somewhere else than the replicator
    rule_answers(events[1], CONFIG_RULE, targets=(REPLICATOR.replace("replicator", "other"),))
    pipe_answer(pipes[1])
    checks = check_paths(PATHS, events[0], pipes[0])
    assert problems(checks)[CONFIG_RULE.name] == [f"target missing: {REPLICATOR}"]
    assert [check.ok for check in checks] == [True, False, True]


def test_a_rule_with_no_target_left_is_broken(events: tuple[Any, Stubber], pipes: tuple[Any, Stubber]) -> None:
    rule_answers(events[1], OBJECT_RULE, targets=())
    checks = check_paths([OBJECT_RULE], events[0], pipes[0])
    assert problems(checks) == {OBJECT_RULE.name: [f"target missing: {REPLICATOR}"]}


@pytest.mark.parametrize(
    ("desired", "current"), [("STOPPED", "STOPPED"), ("STOPPED", "STOPPING"), ("RUNNING", "STOPPED")]
)
def test_a_stopped_pipe_is_named(
    events: tuple[Any, Stubber], pipes: tuple[Any, Stubber], desired: str, current: str
) -> None:
    pipe_answer(pipes[1], desired=desired, current=current)
    [check] = check_paths([PIPE], events[0], pipes[0])
    assert check.problems == ("pipe stopped",)
    assert check.observed["desired_state"] == desired and check.observed["current_state"] == current


def test_a_pipe_delivering_elsewhere_names_the_missing_bus(
    events: tuple[Any, Stubber], pipes: tuple[Any, Stubber]
) -> None:
    pipe_answer(pipes[1], target=BUS.replace("replication", "other"))
    [check] = check_paths([PIPE], events[0], pipes[0])
    assert check.problems == (f"target missing: {BUS}",)


def test_a_denied_describe_is_a_problem_with_its_error_never_a_pass(
    events: tuple[Any, Stubber], pipes: tuple[Any, Stubber]
) -> None:
    # GIVEN the role may not read the object rule (nor list its targets) nor the Pipe
    denied = "User: arn:aws:sts::123456789012:assumed-role/drift/x is not authorized to perform: events:DescribeRule"
    events[1].add_client_error("describe_rule", "AccessDeniedException", denied, 400)
    events[1].add_client_error("list_targets_by_rule", "AccessDeniedException", "not authorized", 400)
    pipes[1].add_client_error("describe_pipe", "AccessDeniedException", "not authorized to DescribePipe", 403)
    checks = check_paths([OBJECT_RULE, PIPE], events[0], pipes[0])
    assert problems(checks) == {
        OBJECT_RULE.name: [
            f"DescribeRule failed: AccessDeniedException: {denied}",
            "ListTargetsByRule failed: AccessDeniedException: not authorized",
        ],
        PIPE.name: ["DescribePipe failed: AccessDeniedException: not authorized to DescribePipe"],
    }
    assert not any(check.ok for check in checks)


# --- the service: one failure notification per broken path, and the run's result says what was checked --------


def checker_settings(paths: tuple[ReplicationPath, ...]) -> DriftCheckerSettings:
    return DriftCheckerSettings(
        environment="prod",
        source_bucket="company-data-prod-us-east-1-pl01",
        source_table="ddb-config-prod-pl01",
        targets=(),
        prefixes=("config/",),
        failure_topic_arn=FAILURE_TOPIC,
        success_topic_arn=FAILURE_TOPIC.replace("failure", "success"),
        paths=paths,
    )


def run_checker(events: tuple[Any, Stubber], pipes: tuple[Any, Stubber], sns: tuple[Any, Stubber]) -> dict[str, Any]:
    """A run with nothing to compare (no targets, an empty prod), so the paths are all there is to report."""
    s3, s3_stub = stubbed("s3")
    dynamodb, dynamodb_stub = stubbed("dynamodb")
    s3_stub.add_response(
        "list_objects_v2", {"KeyCount": 0}, {"Bucket": "company-data-prod-us-east-1-pl01", "Prefix": "config/"}
    )
    dynamodb_stub.add_response("scan", {"Items": []}, {"TableName": "ddb-config-prod-pl01", "ConsistentRead": True})
    checker = DriftChecker(
        checker_settings((OBJECT_RULE, PIPE)),
        s3_client=s3,
        dynamodb_client=dynamodb,
        sns_client=sns[0],
        events_client=events[0],
        pipes_client=pipes[0],
        credentials_provider=own_credentials,
    )
    with s3_stub, dynamodb_stub:
        result = checker.handle({"id": "evt-wiring"})
    s3_stub.assert_no_pending_responses()
    dynamodb_stub.assert_no_pending_responses()
    return result


@pytest.fixture
def sns() -> Iterator[tuple[Any, Stubber]]:
    aws, stub = stubbed("sns")
    with stub:
        yield aws, stub
    stub.assert_no_pending_responses()


def test_a_disabled_rule_sends_one_structured_failure_naming_it(
    events: tuple[Any, Stubber], pipes: tuple[Any, Stubber], sns: tuple[Any, Stubber]
) -> None:
    rule_answers(events[1], OBJECT_RULE, state="DISABLED")
    pipe_answer(pipes[1])
    sent: list[dict[str, Any]] = []
    sns[1].add_response("publish", {"MessageId": "m-1"})
    sns[0].meta.events.register("before-parameter-build.sns.Publish", lambda params, **_: sent.append(params))
    result = run_checker(events, pipes, sns)
    # THEN one message on the failure topic names the environment, the rule by name and ARN, and what is wrong
    [message] = sent
    assert message["TopicArn"] == FAILURE_TOPIC
    body = json.loads(message["Message"])
    assert body["environment"] == "prod" and body["outcome"] == "failed" and body["source"] == "drift-checker"
    assert body["resource"] == OBJECT_RULE.arn
    assert OBJECT_RULE.name in body["reason"] and "rule disabled" in body["reason"]
    details = body["details"]
    assert (details["check"], details["kind"], details["name"], details["arn"]) == (
        "replication-path",
        "rule",
        OBJECT_RULE.name,
        OBJECT_RULE.arn,
    )
    assert details["problems"] == ["rule disabled"]
    assert body["correlation_id"] == "evt-wiring"
    # AND the run's result says so, listing the Pipe as checked and fine
    assert result["replication_paths_ok"] is False
    assert [(p["name"], p["ok"]) for p in result["replication_paths"]] == [(OBJECT_RULE.name, False), (PIPE.name, True)]


def test_paths_all_fine_are_listed_as_checked_and_nothing_is_sent(
    events: tuple[Any, Stubber], pipes: tuple[Any, Stubber], sns: tuple[Any, Stubber]
) -> None:
    rule_answers(events[1], OBJECT_RULE)
    pipe_answer(pipes[1])
    result = run_checker(events, pipes, sns)  # the SNS stub has no response queued: a publish would fail the test
    assert result["replication_paths_ok"] is True
    assert [(p["kind"], p["arn"], p["ok"]) for p in result["replication_paths"]] == [
        ("rule", OBJECT_RULE.arn, True),
        ("pipe", PIPE.arn, True),
    ]


def test_no_path_configured_is_not_reported_as_fine() -> None:
    from pipeline_functions.drift_checker import DriftReport

    assert DriftReport("prod", ()).to_dict()["replication_paths_ok"] is None


# --- REPLICATION_PATHS, read and checked at cold start -------------------------------------------------------------


def environ(paths: Any) -> dict[str, str]:
    return {
        c.ENVIRONMENT_ENV: "prod",
        c.DATA_BUCKET_ENV: "company-data-prod-us-east-1-pl01",
        c.CONFIG_TABLE_ENV: "ddb-config-prod-pl01",
        c.REPLICATION_PATHS_ENV: paths if isinstance(paths, str) else json.dumps(paths),
    }


def as_json(path: ReplicationPath) -> dict[str, Any]:
    return {"kind": path.kind, "name": path.name, "arn": path.arn, "target_arns": list(path.target_arns)}


def test_paths_are_read_from_the_environment() -> None:
    settings = DriftCheckerSettings.from_env(environ([as_json(p) for p in PATHS]))
    assert settings.paths == PATHS
    assert [p.event_bus for p in settings.paths] == [None, "bus-replication-prod-pl01", None]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("[{", r"REPLICATION_PATHS is not valid JSON"),
        ({"kind": "rule"}, r"REPLICATION_PATHS must be a JSON list"),
        ([{**as_json(PIPE), "kind": "queue"}], r"REPLICATION_PATHS\[0\]\.kind is 'queue'"),
        ([as_json(PIPE), {**as_json(OBJECT_RULE), "arn": ""}], r"REPLICATION_PATHS\[1\] is missing arn"),
        ([{**as_json(OBJECT_RULE), "arn": PIPE.arn}], r"REPLICATION_PATHS\[0\]\.arn .* expected an arn:aws:events"),
        ([{**as_json(PIPE), "target_arns": []}], r"REPLICATION_PATHS\[0\]\.target_arns must be a non-empty"),
        ([{**as_json(PIPE), "bus": "x"}], r"REPLICATION_PATHS\[0\] has unknown keys \['bus'\]"),
        ([as_json(PIPE), as_json(PIPE)], r"REPLICATION_PATHS names a resource twice"),
    ],
)
def test_a_bad_paths_document_is_refused_naming_the_variable(value: Any, expected: str) -> None:
    with pytest.raises(ConfigurationError, match=expected):
        DriftCheckerSettings.from_env(environ(value))


def test_without_the_variable_nothing_is_checked() -> None:
    settings = DriftCheckerSettings.from_env({k: v for k, v in environ([]).items() if k != c.REPLICATION_PATHS_ENV})
    assert settings.paths == () == parse_paths([])
