"""The multi-account profile (examples/multi-account/shared_config) end to end, on a sandbox of its own.

As a user would, with `--config`: dev (us-east-2), staging (us-west-1) and prod (us-east-1) are deployed into
three accounts, each through its deployment role; then prod's changes (a document, an object above the multipart
threshold, a config item, and their deletes) reach both targets across accounts and regions, rewritten with the
target's account and region; a write from a role of the wrong account is refused; live drift is clean; destroy
leaves every account empty.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import boto3
import pytest
import yaml
from botocore.exceptions import ClientError

from pipeline_infra_tools.sandbox.emulator.request_counts import (
    administrator_writes,
    request_counts,
    reset_request_counts,
)
from tests.conftest import ROOT
from tests.integration.conftest import copy_workspace
from tests.integration.helpers import (
    cli,
    run_repair,
    unique,
    wait_for,
    wait_for_item,
    wait_for_item_gone,
    wait_for_object,
    wait_for_object_gone,
)

if TYPE_CHECKING:
    import subprocess
    from collections.abc import Iterator
    from pathlib import Path

pytestmark = pytest.mark.integration
PROFILE = ROOT / "examples" / "multi-account" / "shared_config"
PLACES = {
    "dev": ("111111111111", "us-east-2"),
    "staging": ("222222222222", "us-west-1"),
    "prod": ("333333333333", "us-east-1"),
}
TARGETS = ("dev", "staging")
MULTIPART_THRESHOLD = 5 * 1024 * 1024  # the smallest S3 allows a part to be


@dataclass
class MultiAccount:
    root: Path
    config: Path
    status: dict[str, Any]
    deploy_seconds: dict[str, float]
    round_trips: dict[str, list[float]] = field(default_factory=dict)

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return cli(self.root, *args, "--config", str(self.config))

    def client(self, service: str, env: str) -> Any:
        account, region = PLACES[env]
        return self.account_client(service, account, region)

    def account_client(self, service: str, account: str, region: str, **credentials: str) -> Any:
        if not credentials:
            keys = next(a for a in self.status["accounts"] if a["account_id"] == account)
            credentials = {
                "aws_access_key_id": keys["access_key_id"],
                "aws_secret_access_key": keys["secret_access_key"],
            }
        return boto3.client(service, endpoint_url=self.status["endpoint"], region_name=region, **credentials)

    def outputs(self, project: str, env: str) -> dict[str, Any]:
        [path] = (self.root / ".pipeline" / "profiles").glob(f"*/stacks/{project}/{env}.json")
        return dict(json.loads(path.read_text(encoding="utf-8"))["outputs"])

    def bucket(self, env: str) -> str:
        return str(self.outputs("pipeline-infra-storage", env)["bucket_name"])

    def table(self, env: str) -> str:
        return str(self.outputs("pipeline-infra-storage", env)["config_table_name"])


@pytest.fixture(scope="module")
def multi(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MultiAccount]:
    root = tmp_path_factory.mktemp("multi-account")
    copy_workspace(root)
    config = root / "profiles" / "multi-account"
    shutil.copytree(PROFILE, config)
    # A threshold S3 can take, so an object of a few MiB is copied in parts across regions (in every
    # environment's defaults: a value only prod had would be drift).
    base = yaml.safe_load((config / "base.yaml").read_text(encoding="utf-8"))
    base["defaults"]["replication"]["multipart_threshold_bytes"] = MULTIPART_THRESHOLD
    (config / "base.yaml").write_text(yaml.safe_dump(base), encoding="utf-8")
    seconds: dict[str, float] = {}
    try:
        # GIVEN the three environments deployed as a user does it, targets first (prod reads their storage)
        for env in ("dev", "staging", "prod"):
            started = time.perf_counter()
            completed = cli(root, "deploy", "--env", env, "--config", str(config))
            seconds[env] = time.perf_counter() - started
            assert completed.returncode == 0, f"deploy {env} failed:\n{completed.stdout[-2000:]}\n{completed.stderr}"
        status = cli(root, "sandbox", "status", "--format", "json", "--config", str(config))
        assert status.returncode == 0, status.stderr
        deployed = MultiAccount(root, config, json.loads(status.stdout), seconds)
        yield deployed
        print(f"\nmulti-account deploy seconds {seconds}; round trips {deployed.round_trips}")
    finally:
        cli(root, "sandbox", "down", "--config", str(config))


def test_status_gives_administrator_credentials_for_every_account_with_its_environments(multi: MultiAccount) -> None:
    accounts = {a["account_id"]: a for a in multi.status["accounts"]}
    for env, (account, region) in PLACES.items():
        assert accounts[account]["environments"] == [env]
        assert accounts[account]["regions"] == [region]
        assert accounts[account]["deployment_role_arn"] == f"arn:aws:iam::{account}:role/pipeline-infra-deployment"
        # The keys work, and they are that account's: its bucket is seen there and nowhere else.
        assert multi.client("sts", env).get_caller_identity()["Account"] == account
    administrator = next(a for a in multi.status["accounts"] if a["administrator"])
    assert administrator["account_id"] not in {account for account, _ in PLACES.values()}


def test_each_environment_lives_in_its_own_account_and_region(multi: MultiAccount) -> None:
    for env, (account, region) in PLACES.items():
        bucket = multi.bucket(env)
        assert bucket == f"company-data-{env}-{region}-pl01"
        location = multi.client("s3", env).get_bucket_location(Bucket=bucket)["LocationConstraint"]
        assert (location or "us-east-1") == region
        function = multi.client("lambda", env).get_function(FunctionName=f"lambda-validator-{env}-pl01")
        assert function["Configuration"]["FunctionArn"].startswith(f"arn:aws:lambda:{region}:{account}:function:")
        for other in set(PLACES) - {env}:
            tables = multi.client("dynamodb", other).list_tables()["TableNames"]
            assert multi.table(env) not in tables, f"{env}'s table is visible in {other}'s account and region"


def test_writer_roles_trust_only_prods_roles_within_the_organization(multi: MultiAccount) -> None:
    for env in TARGETS:
        role = multi.client("iam", env).get_role(RoleName=f"iam-replica-writer-{env}-pl01")["Role"]
        trust = role["AssumeRolePolicyDocument"]
        trust = json.loads(trust) if isinstance(trust, str) else trust
        [statement] = trust["Statement"]
        assert sorted(statement["Principal"]["AWS"]) == [
            "arn:aws:iam::333333333333:role/iam-drift-checker-prod-pl01",
            "arn:aws:iam::333333333333:role/iam-replicator-prod-pl01",
        ]
        assert statement["Condition"] == {"StringEquals": {"aws:PrincipalOrgID": "o-pipelinedemo"}}


def test_a_prod_document_arrives_rewritten_for_each_account_and_region(multi: MultiAccount) -> None:
    key = f"config/{unique('accounts')}.json"
    prod_bucket = multi.bucket("prod")
    document = {
        "bucket": prod_bucket,
        "queue": "https://sqs.us-east-1.amazonaws.com/333333333333/sqs-tasks-prod-pl01",
        "topic": "arn:aws:sns:us-east-1:333333333333:sns-failure-prod-pl01",
    }
    started = time.perf_counter()
    # WHEN prod's document changes
    multi.client("s3", "prod").put_object(Bucket=prod_bucket, Key=key, Body=json.dumps(document).encode())
    for env in TARGETS:
        account, region = PLACES[env]
        # THEN each target has it, naming its own bucket, account and region and nothing of prod's
        replica = wait_for_object(multi.client("s3", env), multi.bucket(env), key).json()
        multi.round_trips.setdefault(env, []).append(round(time.perf_counter() - started, 2))
        assert replica["bucket"] == multi.bucket(env)
        assert replica["queue"] == f"https://sqs.{region}.amazonaws.com/{account}/sqs-tasks-{env}-pl01"
        assert replica["topic"] == f"arn:aws:sns:{region}:{account}:sns-failure-{env}-pl01"
        assert "333333333333" not in json.dumps(replica) and "us-east-1" not in json.dumps(replica)
    # AND deleting it in prod deletes both replicas
    multi.client("s3", "prod").delete_object(Bucket=prod_bucket, Key=key)
    for env in TARGETS:
        wait_for_object_gone(multi.client("s3", env), multi.bucket(env), key)


def test_an_object_above_the_multipart_threshold_is_copied_in_parts_across_regions(multi: MultiAccount) -> None:
    key = f"config/{unique('large')}.bin"
    body = os.urandom(MULTIPART_THRESHOLD + 1024 * 1024)
    started = time.perf_counter()
    multi.client("s3", "prod").put_object(Bucket=multi.bucket("prod"), Key=key, Body=body)
    for env in TARGETS:
        replica = wait_for_object(multi.client("s3", env), multi.bucket(env), key)
        multi.round_trips.setdefault(f"{env} ({len(body)} bytes)", []).append(round(time.perf_counter() - started, 2))
        assert replica.body == body
        # A multipart upload's ETag ends with its part count: the copy went in parts, not in one CopyObject.
        etag = multi.client("s3", env).head_object(Bucket=multi.bucket(env), Key=key)["ETag"].strip('"')
        assert etag.endswith("-2"), etag


def test_a_config_item_and_its_delete_reach_each_target_table(multi: MultiAccount) -> None:
    key = {"pk": {"S": unique("item")}, "sk": {"S": "settings"}}
    prod_arn = "arn:aws:sqs:us-east-1:333333333333:sqs-tasks-prod-pl01"
    started = time.perf_counter()
    multi.client("dynamodb", "prod").put_item(TableName=multi.table("prod"), Item={**key, "queue": {"S": prod_arn}})
    for env in TARGETS:
        account, region = PLACES[env]
        item = wait_for_item(multi.client("dynamodb", env), multi.table(env), key)
        multi.round_trips.setdefault(f"{env} (item)", []).append(round(time.perf_counter() - started, 2))
        assert item["queue"] == f"arn:aws:sqs:{region}:{account}:sqs-tasks-{env}-pl01"
    multi.client("dynamodb", "prod").delete_item(TableName=multi.table("prod"), Key=key)
    for env in TARGETS:
        wait_for_item_gone(multi.client("dynamodb", env), multi.table(env), key)


def _session(sts: Any, role_arn: str, session_name: str = "replicator") -> dict[str, str]:
    """boto3 keyword arguments for a session of `role_arn` taken with `sts`."""
    credentials = sts.assume_role(RoleArn=role_arn, RoleSessionName=session_name)["Credentials"]
    return {
        "aws_access_key_id": credentials["AccessKeyId"],
        "aws_secret_access_key": credentials["SecretAccessKey"],
        "aws_session_token": credentials["SessionToken"],
    }


def _as_lambda(multi: MultiAccount, role_arn: str) -> dict[str, str]:
    """A function role's session, taken as the Lambda service takes it (the sandbox plays the service with its
    administrator's key, naming the service as the session)."""
    administrator = next(a for a in multi.status["accounts"] if a["administrator"])
    sts = multi.account_client("sts", administrator["account_id"], "us-east-1")
    return _session(sts, role_arn, "lambda.amazonaws.com")


def test_a_write_from_a_role_of_the_wrong_account_is_refused(multi: MultiAccount) -> None:
    replicator = multi.outputs("pipeline-infra-replication", "prod")["replicator_role_arn"]
    as_replicator = multi.account_client("sts", "333333333333", "us-east-1", **_as_lambda(multi, replicator))
    staging_writer = _session(
        as_replicator, multi.outputs("pipeline-infra-storage", "staging")["replica_writer_role_arn"]
    )
    staging_account, staging_region = PLACES["staging"]
    dev_account, dev_region = PLACES["dev"]
    # The staging writer role writes staging's replicated prefixes (the control: the credentials work) ...
    staging_s3 = multi.account_client("s3", staging_account, staging_region, **staging_writer)
    control = f"config/{unique('control')}.txt"
    staging_s3.put_object(Bucket=multi.bucket("staging"), Key=control, Body=b"ok")
    multi.client("s3", "staging").delete_object(Bucket=multi.bucket("staging"), Key=control)  # not prod's: drift
    # ... but a role of staging's account cannot write into dev's account
    dev_s3_as_staging = multi.account_client("s3", dev_account, dev_region, **staging_writer)
    with pytest.raises(ClientError) as refused:
        dev_s3_as_staging.put_object(Bucket=multi.bucket("dev"), Key=f"config/{unique('wrong')}.txt", Body=b"no")
    assert refused.value.response["Error"]["Code"] == "AccessDenied"
    # AND a role in staging's account named like prod's replicator is not prod's replicator: dev's writer role
    # trusts the ARN in prod's account only
    iam = multi.client("iam", "staging")
    administrator = f"arn:aws:iam::{staging_account}:user/sandbox-admin"
    trust = {"Effect": "Allow", "Principal": {"AWS": administrator}, "Action": "sts:AssumeRole"}
    iam.create_role(
        RoleName="iam-replicator-prod-pl01",
        AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [trust]}),
    )
    allow_all = {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}
    iam.put_role_policy(
        RoleName="iam-replicator-prod-pl01",
        PolicyName="assume",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [allow_all]}),
    )
    impostor = _session(multi.client("sts", "staging"), f"arn:aws:iam::{staging_account}:role/iam-replicator-prod-pl01")
    as_impostor = multi.account_client("sts", staging_account, staging_region, **impostor)
    with pytest.raises(ClientError) as denied:
        _session(as_impostor, multi.outputs("pipeline-infra-storage", "dev")["replica_writer_role_arn"])
    assert denied.value.response["Error"]["Code"] == "AccessDenied"
    iam.delete_role_policy(RoleName="iam-replicator-prod-pl01", PolicyName="assume")
    iam.delete_role(RoleName="iam-replicator-prod-pl01")


def test_the_demo_shows_a_prod_change_arriving_in_both_accounts(multi: MultiAccount) -> None:
    # As the README runs it: `nox -s sandbox -- --config examples/multi-account/shared_config`
    completed = multi.cli("sandbox", "demo")
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr
    for env in TARGETS:
        account, region = PLACES[env]
        arrived = next(line for line in completed.stdout.splitlines() if line.startswith(f"  {env}: s3://"))
        replica = next(line for line in completed.stdout.splitlines()[1:] if f"sns:{region}:{account}:" in line)
        assert multi.bucket(env) in arrived and "333333333333" not in replica
    assert "PROBLEM" not in completed.stdout
    # The commands it offers name the profile: the profile has a sandbox of its own.
    assert f"--config {multi.config.relative_to(multi.root)}" in completed.stdout


def _drift_count(multi: MultiAccount, target: str) -> float | None:
    """The highest DriftCount prod's drift checker published for `target` in the last ten minutes, in prod's
    account and region (where its EMF lines become metrics)."""
    cloudwatch = multi.client("cloudwatch", "prod")
    metrics = cloudwatch.list_metrics(Namespace="PipelineInfra", MetricName="DriftCount")["Metrics"]
    found = [m for m in metrics if {"Name": "TargetEnvironment", "Value": target} in m["Dimensions"]]
    now = datetime.now(UTC)
    values = [
        point["Maximum"]
        for metric in found
        for point in cloudwatch.get_metric_statistics(
            Namespace="PipelineInfra",
            MetricName="DriftCount",
            Dimensions=metric["Dimensions"],
            StartTime=now - timedelta(minutes=10),
            EndTime=now + timedelta(minutes=1),
            Period=60,
            Statistics=["Maximum"],
        )["Datapoints"]
    ]
    return max(values) if values else None


def test_the_drift_check_reads_dev_across_accounts_and_the_printed_repair_restores_it(multi: MultiAccount) -> None:
    key = {"pk": {"S": unique("tick")}, "sk": {"S": "v1"}}
    multi.client("dynamodb", "prod").put_item(TableName=multi.table("prod"), Item={**key, "note": {"S": "x"}})
    for env in TARGETS:
        wait_for_item(multi.client("dynamodb", env), multi.table(env), key)
    # GIVEN dev's replica deleted by hand in dev's account
    multi.client("dynamodb", "dev").delete_item(TableName=multi.table("dev"), Key=key)
    replication = multi.outputs("pipeline-infra-replication", "prod")
    rule = str(replication["drift_schedule_rule_arn"]).rsplit("/", 1)[-1]
    # WHEN prod's daily drift check runs now
    completed = multi.cli("sandbox", "tick", "--rule", rule)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert replication["drift_checker_function_name"] in completed.stdout
    # THEN it read dev through dev's writer role and counted the missing item, in prod's account
    wait_for(lambda: _drift_count(multi, "dev") if (_drift_count(multi, "dev") or 0) >= 1 else None, "DriftCount")
    # AND `drift --live` names the repair with this settings directory, which works as printed
    report = json.loads(multi.cli("drift", "--live", "--env", "dev", "--format", "json").stdout)
    [row] = [d for d in report["differences"] if d["category"] == "data" and d["environment"] == "dev"]
    assert (
        row["repair"] == f"pipeline-infra --config {multi.config.relative_to(multi.root)} resync --from prod --to dev"
    )
    repaired = run_repair(multi.root, row["repair"])
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    wait_for_item(multi.client("dynamodb", "dev"), multi.table("dev"), key)
    multi.client("dynamodb", "prod").delete_item(TableName=multi.table("prod"), Key=key)
    for env in TARGETS:
        wait_for_item_gone(multi.client("dynamodb", env), multi.table(env), key)


def test_a_deploy_that_changes_nothing_writes_nothing_through_the_deployment_role(multi: MultiAccount) -> None:
    endpoint = multi.status["endpoint"]
    reset_request_counts(endpoint)
    completed = multi.cli("deploy", "--env", "dev", "--format", "json")
    assert completed.returncode == 0, completed.stderr
    counts = request_counts(endpoint)
    # The deploy read dev's account through its deployment role, counted as the administrator's (not a
    # function's), and wrote nothing.
    assert counts["summary"]["administrator"]["reads"] > 0
    assert administrator_writes(counts) == []


def test_live_drift_finds_an_unmanaged_queue_in_devs_own_account(multi: MultiAccount) -> None:
    sqs = multi.client("sqs", "dev")
    url = sqs.create_queue(QueueName="sqs-scratch-dev-pl01")["QueueUrl"]
    try:
        completed = multi.cli("drift", "--live", "--format", "json")
        assert completed.returncode == 1, completed.stdout[-3000:] + completed.stderr
        found = [
            d
            for d in json.loads(completed.stdout)["differences"]
            if d["category"] == "unmanaged" and d["status"] == "drift"
        ]
        assert [(d["environment"], d["physical"]) for d in found] == [("dev", url)]
        assert "/111111111111/" in url  # the queue is in dev's account, where the drift report looked
    finally:
        sqs.delete_queue(QueueUrl=url)


def test_live_drift_is_clean_across_accounts_and_regions(multi: MultiAccount) -> None:
    completed = multi.cli("drift", "--live", "--format", "json")
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr
    report = json.loads(completed.stdout)
    assert [d for d in report["differences"] if d["status"] == "drift"] == []


def test_destroy_leaves_every_account_empty(multi: MultiAccount) -> None:
    buckets = {env: multi.bucket(env) for env in PLACES}
    for env in ("prod", "staging", "dev"):
        completed = multi.cli("destroy", "--env", env)
        assert completed.returncode == 0, completed.stdout[-2000:] + completed.stderr
    for env in PLACES:
        assert buckets[env] not in [b["Name"] for b in multi.client("s3", env).list_buckets()["Buckets"]]
        assert multi.client("lambda", env).list_functions()["Functions"] == []
        assert multi.client("dynamodb", env).list_tables()["TableNames"] == []
