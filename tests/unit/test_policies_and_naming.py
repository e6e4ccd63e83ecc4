"""Pure policy builders and name rules, without Pulumi."""

from __future__ import annotations

import pytest

from pipeline_infra.components.replicator import targets_document
from pipeline_infra.exceptions import NamingError
from pipeline_infra.naming import Names
from pipeline_infra.policies import documents
from pipeline_infra.settings import EnvironmentSettings, ProjectSettings

BUCKET = "arn:aws:s3:::company-data-dev-us-east-1-pl01"
SOURCE = "arn:aws:s3:::company-data-prod-us-east-1-pl01"
TABLE = "arn:aws:dynamodb:us-east-1:123456789012:table/ddb-config-dev-pl01"


def names(env: str = "dev", suffix: str = "pl01", region: str = "us-east-1") -> Names:
    return Names(
        ProjectSettings(), EnvironmentSettings(name=env, suffix=suffix, region=region, account_id="123456789012")
    )


def test_replica_writer_writes_only_replicated_prefixes_and_its_table() -> None:
    policy = documents.replica_writer(BUCKET, TABLE, ["config/", "schemas/"], SOURCE)
    writes = {
        r
        for s in policy["Statement"]
        for r in s["Resource"]
        if "s3:PutObject" in s["Action"] or "dynamodb:PutItem" in s["Action"]
    }
    assert writes == {f"{BUCKET}/config/*", f"{BUCKET}/schemas/*", TABLE}
    reads = [s for s in policy["Statement"] if s["Sid"] == "ReadSourceObjects"]
    assert reads[0]["Action"] == ["s3:GetObject", "s3:GetObjectVersion"], "the source is read-only"


def test_listing_is_limited_to_replicated_prefixes() -> None:
    policy = documents.replica_writer(BUCKET, TABLE, ["config/"], SOURCE)
    [listing] = [s for s in policy["Statement"] if s["Action"] == ["s3:ListBucket"]]
    assert listing["Condition"] == {"StringLike": {"s3:prefix": ["config/*"]}}


def test_tracing_is_the_only_wildcard_grant() -> None:
    [statement] = documents.tracing()
    assert statement["Resource"] == ["*"]
    assert set(statement["Action"]) == {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}


def test_dead_letter_queue_accepts_only_our_rules() -> None:
    policy = documents.dead_letter_queue("arn:aws:sqs:us-east-1:1:q", ["arn:aws:events:us-east-1:1:rule/r"])
    [statement] = policy["Statement"]
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    assert statement["Condition"] == {"ArnEquals": {"aws:SourceArn": ["arn:aws:events:us-east-1:1:rule/r"]}}


RULE = "arn:aws:events:us-east-1:123456789012:rule/evr-s3-changes-prod-pl01"
PIPE = "arn:aws:pipes:us-east-1:123456789012:pipe/pipe-config-stream-prod-pl01"


def drift_checker_statements(**paths: list[str]) -> dict[str, dict]:
    statements = documents.drift_checker(
        SOURCE, TABLE, ["arn:aws:iam::1:role/w"], ["arn:aws:sns:us-east-1:1:t"], ["config/"], "arn:aws:sqs:::q", **paths
    )
    return {s["Sid"]: s for s in statements}


def test_drift_checker_reads_back_only_the_rules_and_pipe_it_is_given() -> None:
    statements = drift_checker_statements(rule_arns=[RULE], pipe_arns=[PIPE])
    assert statements["ReadReplicationRules"]["Action"] == ["events:DescribeRule", "events:ListTargetsByRule"]
    assert statements["ReadReplicationRules"]["Resource"] == [RULE]
    assert statements["ReadReplicationPipe"]["Action"] == ["pipes:DescribePipe"]
    assert statements["ReadReplicationPipe"]["Resource"] == [PIPE]


def test_drift_checker_without_paths_gets_no_eventbridge_or_pipes_statement() -> None:
    # An empty Resource list is not a valid statement, and `*` would grant every rule: no statement at all.
    statements = drift_checker_statements()
    assert not {"ReadReplicationRules", "ReadReplicationPipe"} & set(statements)
    assert not [a for s in statements.values() for a in s["Action"] if a.startswith(("events:", "pipes:"))]


def test_names_follow_the_pattern() -> None:
    n = names()
    assert n.bucket == "company-data-dev-us-east-1-pl01"
    assert n.function("validator") == "lambda-validator-dev-pl01"
    assert n.role_arn("replicator") == "arn:aws:iam::123456789012:role/iam-replicator-dev-pl01"
    assert n.log_group("validator") == "/aws/lambda/lambda-validator-dev-pl01"


def test_suffix_override_changes_every_name() -> None:
    n = Names(ProjectSettings(), names().env, suffix_override="pr42")
    assert n.bucket.endswith("-pr42") and n.config_table == "ddb-config-dev-pr42"


def test_bucket_name_over_63_characters_is_refused() -> None:
    long = Names(
        ProjectSettings(company="analytics-company-incorporated"),
        names(env="staging", region="ap-southeast-2", suffix="abcdefgh").env,
    )
    with pytest.raises(NamingError, match="S3 allows at most 63"):
        _ = long.bucket


def test_targets_document_orders_replacements_longest_first_and_adds_account_and_region_when_they_differ() -> None:
    target = {
        "environment": "dev",
        "bucket": "company-data-dev-us-west-1-pl01",
        "config_table": "ddb-config-dev-pl01",
        "writer_role_arn": "arn:aws:iam::222222222222:role/w",
        "region": "us-west-1",
        "account_id": "222222222222",
        "name_token": "-dev-pl01",
        "overlay": {"a": 1},
    }
    import json

    [described] = json.loads(
        targets_document("company-data-prod-us-east-1-pl01", "-prod-pl01", "111111111111", "us-east-1", [target])
    )
    pairs = [tuple(p) for p in described["replacements"]]
    assert pairs[0] == ("company-data-prod-us-east-1-pl01", "company-data-dev-us-west-1-pl01")
    assert ("111111111111", "222222222222") in pairs and ("us-east-1", "us-west-1") in pairs
    assert [len(a) for a, _ in pairs] == sorted((len(a) for a, _ in pairs), reverse=True)
    assert described["overlay"] == {"a": 1}
