"""Unmanaged resources: what is judged the project's and whose, what no record holds, and what is approved.

The cloud is moto in-process (`mock_aws`); records are built by hand in the local target's saved shape.
"""

from __future__ import annotations

import json
import shutil
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from moto import mock_aws

from pipeline_infra.exceptions import SettingsError
from pipeline_infra.settings import UnmanagedApproval, load_settings
from pipeline_infra_tools.drift import (
    Category,
    DriftReport,
    FailOn,
    Kind,
    Status,
    find_unmanaged,
    render_report,
    to_json,
)
from pipeline_infra_tools.drift.unmanaged import environment_names
from tests.conftest import ROOT

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from pipeline_infra.settings import Settings
    from pipeline_infra_tools.drift import Difference

REGION = "us-east-1"
BUCKET = "aws:s3/bucket:Bucket"
QUEUE = "aws:sqs/queue:Queue"
ROLE = "aws:iam/role:Role"
RULE = "aws:cloudwatch/eventRule:EventRule"
LAMBDA_TRUST = {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
TRUST = json.dumps({"Version": "2012-10-17", "Statement": [LAMBDA_TRUST]})
POLICY = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]})


@pytest.fixture(scope="module")
def settings() -> Settings:
    return load_settings(ROOT / "shared_config")


@pytest.fixture
def cloud(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """moto in-process, with one client per service; `client_for` ignores the region (one region here)."""
    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        yield {}


def client_for(service: str, region: str) -> Any:
    return boto3.client(service, region_name=region)  # type: ignore[call-overload]


def record(layer: str, env: str, *resources: dict[str, Any], outputs: dict[str, Any] | None = None) -> dict[str, Any]:
    """A saved stack record in the local target's shape."""
    return {"project": f"pipeline-infra-{layer}", "stack": env, "outputs": outputs or {}, "resources": list(resources)}


def resource(type_: str, name: str, id_: str, inputs: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"type": type_, "name": name, "id": id_, "inputs": inputs or {}, "outputs": {}}


def unmanaged(differences: list[Difference]) -> list[tuple[str, str, str]]:
    return sorted(
        (d.environment, d.type or "", d.resource or "") for d in differences if d.category is Category.UNMANAGED
    )


def with_approvals(settings: Settings, *entries: dict[str, str]) -> Settings:
    approved = settings.approved.model_copy(update={"unmanaged": [UnmanagedApproval(**e) for e in entries]})
    return settings.model_copy(update={"approved": approved})


def test_a_resource_named_like_an_environment_is_that_environments_and_a_recorded_one_is_not(
    cloud: dict[str, Any], settings: Settings
) -> None:
    # GIVEN dev's recorded bucket, a bucket named like dev's resources that no record holds, and strangers
    s3 = client_for("s3", REGION)
    for name in ("company-data-dev-us-east-1-pl01", "scratch-dev-pl01", "scratch-dev-pl01x", "someone-elses"):
        s3.create_bucket(Bucket=name)
    records = [record("storage", "dev", resource(BUCKET, "storage-bucket", "company-data-dev-us-east-1-pl01"))]
    # WHEN dev is searched
    differences, looked_at = find_unmanaged(settings, ["dev"], records, client_for)
    # THEN only the look-alike is reported, as dev's, with why and how to repair it
    assert unmanaged(differences) == [("dev", BUCKET, "scratch-dev-pl01")]
    [found] = differences
    assert (found.kind, found.baseline, found.path, found.status) == (Kind.EXTRA, "code", "(resource)", Status.DRIFT)
    assert found.physical == "scratch-dev-pl01"
    assert found.note is not None and "named like the project's dev resources" in found.note
    assert "approved_differences.yaml under unmanaged" in found.repair
    assert looked_at == 4


def test_tags_say_whose_a_resource_is_before_its_name(cloud: dict[str, Any], settings: Settings) -> None:
    sqs = client_for("sqs", REGION)
    # Tagged staging although named like dev: the tag wins. Tagged with another project: not ours.
    sqs.create_queue(QueueName="sqs-odd-dev-pl01", tags={"Project": "pipeline-infra", "Environment": "staging"})
    sqs.create_queue(QueueName="reports-queue", tags={"Project": "pipeline-infra", "Environment": "dev", "Layer": "x"})
    sqs.create_queue(QueueName="other-queue", tags={"Project": "another-project", "Environment": "dev"})
    differences, _ = find_unmanaged(settings, ["dev", "staging"], [], client_for)
    assert unmanaged(differences) == [("dev", QUEUE, "reports-queue"), ("staging", QUEUE, "sqs-odd-dev-pl01")]
    tagged = next(d for d in differences if d.resource == "reports-queue")
    assert tagged.note is not None and tagged.note.startswith("carries tag Project=pipeline-infra, Environment=dev")
    assert tagged.layer == "x"
    assert tagged.physical is not None and tagged.physical.endswith("/reports-queue")


def test_other_environments_resources_are_theirs_not_the_compared_ones(
    cloud: dict[str, Any], settings: Settings
) -> None:
    # GIVEN prod's and staging's look-alikes in the account and region dev shares with them
    sqs = client_for("sqs", REGION)
    for name in ("sqs-extra-dev-pl01", "sqs-extra-staging-pl01", "sqs-extra-prod-pl01"):
        sqs.create_queue(QueueName=name)
    # WHEN only dev is compared, THEN only dev's is reported; comparing all reports each once under its own
    assert unmanaged(find_unmanaged(settings, ["dev"], [], client_for)[0]) == [("dev", QUEUE, "sqs-extra-dev-pl01")]
    everything = find_unmanaged(settings, ["dev", "staging", "prod"], [], client_for)[0]
    assert unmanaged(everything) == [
        ("dev", QUEUE, "sqs-extra-dev-pl01"),
        ("prod", QUEUE, "sqs-extra-prod-pl01"),
        ("staging", QUEUE, "sqs-extra-staging-pl01"),
    ]


def test_a_suffix_override_and_the_targets_own_resources(cloud: dict[str, Any], settings: Settings) -> None:
    sqs = client_for("sqs", REGION)
    sqs.create_queue(QueueName="sqs-extra-dev-alt1")
    sqs.create_queue(QueueName="sandbox-tap-rule-raw-uploads-dev-pl01")
    # The override is known from a storage stack's exported suffix; the sandbox's own queue is left out.
    storage = record("storage", "dev", outputs={"name_suffix": "alt1"})
    differences, _ = find_unmanaged(settings, ["dev"], [storage], client_for, ignore_prefixes=("sandbox-tap-",))
    assert unmanaged(differences) == [("dev", QUEUE, "sqs-extra-dev-alt1")]
    assert unmanaged(find_unmanaged(settings, ["dev"], [], client_for)[0]) == [
        ("dev", QUEUE, "sandbox-tap-rule-raw-uploads-dev-pl01")
    ]


def test_name_tokens_need_a_boundary(settings: Settings) -> None:
    [dev] = [names for names in environment_names(settings, {}) if names.env == "dev"]
    assert dev.matches("rule-x-dev-pl01") == "-dev-pl01"
    assert dev.matches("rule-x-dev-pl01-copy") == "-dev-pl01"
    assert dev.matches("company-data-dev-us-east-1-pl01") == "-dev-us-east-1-pl01"
    assert dev.matches("rule-x-dev-pl01x") is None
    assert dev.matches("rule-x-devx-pl01") is None


def test_rules_are_read_on_the_default_bus_and_the_projects_buses(cloud: dict[str, Any], settings: Settings) -> None:
    events = client_for("events", REGION)
    events.create_event_bus(Name="bus-replication-prod-pl01")
    events.create_event_bus(Name="someone-elses-bus")
    events.put_rule(Name="rule-extra-prod-pl01", ScheduleExpression="rate(1 day)")
    events.put_rule(Name="rule-recorded-prod-pl01", EventBusName="bus-replication-prod-pl01", EventPattern="{}")
    events.put_rule(Name="rule-stray-prod-pl01", EventBusName="bus-replication-prod-pl01", EventPattern="{}")
    events.put_rule(Name="rule-hidden-prod-pl01", EventBusName="someone-elses-bus", EventPattern="{}")
    replication = record(
        "replication",
        "prod",
        resource("aws:cloudwatch/eventBus:EventBus", "bus", "bus-replication-prod-pl01"),
        resource(RULE, "recorded", "bus-replication-prod-pl01/rule-recorded-prod-pl01"),
    )
    differences, _ = find_unmanaged(settings, ["prod"], [replication], client_for)
    assert unmanaged(differences) == [
        ("prod", RULE, "bus-replication-prod-pl01/rule-stray-prod-pl01"),
        ("prod", RULE, "rule-extra-prod-pl01"),
    ]


def test_a_policy_no_record_holds_on_a_managed_role_is_live_drift_of_that_role(
    cloud: dict[str, Any], settings: Settings
) -> None:
    # GIVEN dev's recorded role with its recorded policy, and a second inline policy added by hand
    iam = client_for("iam", REGION)
    iam.create_role(RoleName="iam-validator-dev-pl01", AssumeRolePolicyDocument=TRUST)
    iam.put_role_policy(RoleName="iam-validator-dev-pl01", PolicyName="recorded", PolicyDocument=POLICY)
    iam.put_role_policy(RoleName="iam-validator-dev-pl01", PolicyName="by-hand", PolicyDocument=POLICY)
    processing = record(
        "processing",
        "dev",
        resource(ROLE, "processing-validator-role", "iam-validator-dev-pl01"),
        resource("aws:iam/rolePolicy:RolePolicy", "processing-validator-policy", "iam-validator-dev-pl01:recorded"),
    )
    # WHEN dev is searched
    differences, _ = find_unmanaged(settings, ["dev"], [processing], client_for)
    # THEN the role is not unmanaged; the hand-made policy is a change to it, named by the role's logical name
    assert unmanaged(differences) == []
    [attached] = differences
    assert (attached.category, attached.kind, attached.path) == (Category.LIVE, Kind.EXTRA, "(attached)")
    assert (attached.environment, attached.layer, attached.resource) == (
        "dev",
        "processing",
        "processing-validator-role",
    )
    assert attached.type == "aws:iam/rolePolicy:RolePolicy"
    assert attached.physical == "iam-validator-dev-pl01/by-hand"
    assert attached.note is not None and '"s3:*"' in attached.note


def test_an_approved_resource_is_approved_and_an_other_type_is_not(cloud: dict[str, Any], settings: Settings) -> None:
    s3, sqs = client_for("s3", REGION), client_for("sqs", REGION)
    s3.create_bucket(Bucket="scratch-dev-pl01")
    sqs.create_queue(QueueName="scratch-dev-pl01")
    approving = with_approvals(settings, {"type": BUCKET, "name": "scratch-*-pl01", "reason": "analysts' scratch"})
    differences, _ = find_unmanaged(approving, ["dev"], [], client_for)
    by_type = {d.type: d for d in differences}
    assert by_type[BUCKET].status is Status.APPROVED
    assert by_type[BUCKET].approval is not None
    assert by_type[BUCKET].approval.reason == "analysts' scratch"
    assert by_type[BUCKET].repair == ""
    assert by_type[QUEUE].status is Status.DRIFT and by_type[QUEUE].approval is None
    # '*' approves any type; a glob may name the ARN or URL instead of the name
    everything = with_approvals(settings, {"type": "*", "name": "*/123456789012/scratch-*", "reason": "queue by URL"})
    judged = {d.type: d.status for d in find_unmanaged(everything, ["dev"], [], client_for)[0]}
    assert judged == {BUCKET: Status.DRIFT, QUEUE: Status.APPROVED}


def test_the_reports_show_unmanaged_rows(cloud: dict[str, Any], settings: Settings) -> None:
    client_for("s3", REGION).create_bucket(Bucket="scratch-dev-pl01")
    differences, looked_at = find_unmanaged(settings, ["dev"], [], client_for)
    report = DriftReport(("dev",), "prod", True, tuple(differences), {"unmanaged": looked_at})
    document = to_json(report)
    assert document["summary"]["by_category"]["unmanaged"] == {"approved": 0, "drift": 1}
    assert document["differences"][0]["physical"] == "scratch-dev-pl01"
    assert report.exit_code(FailOn.DRIFT) == 1
    assert "unmanaged" in render_report(report, "table") and "scratch-dev-pl01" in render_report(report, "table")
    assert "| code/dev | unmanaged |" in render_report(report, "markdown")


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ("{type: 'aws:s3/bucket', name: x, reason: r}", "unmanaged.0.type"),
        ("{type: '*', name: x}", "unmanaged.0.reason"),
        ("{type: '*', name: x, reason: r, env: dev}", "unmanaged.0.env"),
    ],
)
def test_a_wrong_unmanaged_entry_names_file_and_key(tmp_path: Path, entry: str, expected: str) -> None:
    config = tmp_path / "shared_config"
    shutil.copytree(ROOT / "shared_config", config)
    approved = config / "approved_differences.yaml"
    approved.write_text(approved.read_text(encoding="utf-8") + f"unmanaged:\n  - {entry}\n", encoding="utf-8")
    with pytest.raises(SettingsError) as raised:
        load_settings(config)
    assert str(approved) in str(raised.value) and expected in str(raised.value)


def test_a_managed_resource_gone_from_the_cloud_has_nothing_attached(cloud: dict[str, Any], settings: Settings) -> None:
    # Its absence is the live comparison's to report; looking for what hangs on it must not fail.
    processing = record("processing", "dev", resource(ROLE, "processing-validator-role", "iam-validator-dev-pl01"))
    assert find_unmanaged(settings, ["dev"], [processing], client_for) == ([], 0)
