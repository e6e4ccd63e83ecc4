"""Storage layer, every environment: bucket protections, lifecycle, tables and the replica-writer role."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from pipeline_infra.naming import Names
from tests.unit.conftest import ENVIRONMENTS, RenderedStack, stack

if TYPE_CHECKING:
    from pipeline_infra.settings import Settings

pytestmark = pytest.mark.parametrize("env", ENVIRONMENTS)


@pytest.fixture
def storage(rendered: dict, env: str) -> RenderedStack:
    return stack(rendered, "storage", env)


def test_bucket_name_follows_the_pattern_and_is_destroyable(
    storage: RenderedStack, settings: Settings, env: str
) -> None:
    bucket = storage.named("data-bucket")
    e = settings.env(env)
    assert bucket.inputs["bucket"] == f"company-data-{env}-{e.region}-{e.suffix}", bucket.urn
    assert len(bucket.inputs["bucket"]) <= 63
    assert bucket.inputs["forceDestroy"] is True, bucket.urn
    assert bucket.id == bucket.inputs["bucket"]
    assert bucket.outputs["arn"] == f"arn:aws:s3:::{bucket.id}"


def test_bucket_is_versioned_encrypted_and_private(storage: RenderedStack) -> None:
    versioning = storage.named("data-versioning")
    assert versioning.inputs["versioningConfiguration"]["status"] == "Enabled", versioning.urn
    encryption = storage.named("data-encryption")
    default = encryption.inputs["rules"][0]["applyServerSideEncryptionByDefault"]
    assert default["sseAlgorithm"] in {"AES256", "aws:kms"}, encryption.urn
    block = storage.named("data-public-access")
    assert all(
        block.inputs[k] is True
        for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    )
    ownership = storage.named("data-ownership")
    assert ownership.inputs["rule"]["objectOwnership"] == "BucketOwnerEnforced"


def test_bucket_policy_denies_requests_without_tls(storage: RenderedStack, settings: Settings, env: str) -> None:
    policy = json.loads(storage.named("data-tls-only").inputs["policy"])
    bucket_arn = storage.named("data-bucket").outputs["arn"]
    deny = policy["Statement"][0]
    assert deny["Effect"] == "Deny"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert set(deny["Resource"]) == {bucket_arn, f"{bucket_arn}/*"}


def test_only_the_source_bucket_lets_writer_roles_read_replicated_prefixes(
    storage: RenderedStack, settings: Settings, env: str
) -> None:
    statements = json.loads(storage.named("data-tls-only").inputs["policy"])["Statement"]
    grants = [s for s in statements if s["Effect"] == "Allow"]
    if env != settings.project.source_environment:
        assert grants == [], storage.named("data-tls-only").urn
        return
    [grant] = grants
    expected = sorted(Names(settings.project, settings.env(t)).role_arn("replica-writer") for t in ("dev", "staging"))
    assert grant["Principal"] == {"AWS": expected}
    assert grant["Action"] == ["s3:GetObject", "s3:GetObjectVersion"]
    bucket_arn = storage.named("data-bucket").outputs["arn"]
    assert grant["Resource"] == [f"{bucket_arn}/config/*", f"{bucket_arn}/schemas/*"]


def test_lifecycle_expires_noncurrent_versions_and_raw_data_only(
    storage: RenderedStack, settings: Settings, env: str
) -> None:
    rules = {rule["id"]: rule for rule in storage.named("data-lifecycle").inputs["rules"]}
    assert rules["expire-noncurrent-versions"]["noncurrentVersionExpiration"]["noncurrentDays"] == 30
    raw = rules["expire-raw-data"]
    assert raw["filter"]["prefix"] == "raw/"
    assert raw["expiration"]["days"] == settings.env(env).storage.raw_retention_days == 30
    expiring = [r for r in rules.values() if "expiration" in r]
    assert [r["filter"]["prefix"] for r in expiring] == ["raw/"], "config/ and schemas/ must never expire"


def test_bucket_sends_events_to_eventbridge(storage: RenderedStack) -> None:
    assert storage.named("data-events").inputs["eventbridge"] is True


def test_config_table_has_stream_pitr_and_on_demand_billing(storage: RenderedStack) -> None:
    table = storage.named("config-table")
    assert (table.inputs["hashKey"], table.inputs["rangeKey"]) == ("pk", "sk"), table.urn
    assert table.inputs["billingMode"] == "PAY_PER_REQUEST"
    assert table.inputs["streamEnabled"] is True
    assert table.inputs["streamViewType"] == "NEW_AND_OLD_IMAGES"
    assert table.inputs["pointInTimeRecovery"]["enabled"] is True
    assert table.inputs["deletionProtectionEnabled"] is False
    assert table.outputs["streamArn"].startswith(table.outputs["arn"] + "/stream/")


def test_metadata_table_has_timestamp_index_and_pitr(storage: RenderedStack) -> None:
    table = storage.named("metadata-table")
    [index] = table.inputs["globalSecondaryIndexes"]
    keys = {k["keyType"]: k["attributeName"] for k in index["keySchemas"]}
    assert keys == {"HASH": "dataset", "RANGE": "timestamp"}, table.urn
    assert table.inputs["pointInTimeRecovery"]["enabled"] is True
    assert table.inputs["billingMode"] == "PAY_PER_REQUEST"
    assert table.inputs["deletionProtectionEnabled"] is False


def test_config_table_key_schema_is_identical_everywhere(rendered: dict, env: str) -> None:
    schemas = {
        e: (
            stack(rendered, "storage", e).named("config-table").inputs["hashKey"],
            stack(rendered, "storage", e).named("config-table").inputs["rangeKey"],
        )
        for e in ENVIRONMENTS
    }
    assert len(set(schemas.values())) == 1, schemas


def test_replica_writer_role_only_in_targets_and_only_for_prods_replicator_and_drift_checker(
    storage: RenderedStack, settings: Settings, env: str
) -> None:
    roles = [r for r in storage.of_type("aws:iam/role:Role") if r.name == "replica-writer-role"]
    if env not in settings.source.replication.targets:
        assert roles == [], "the source environment has no writer role"
        assert "replica_writer_role_arn" not in storage.outputs
        return
    [role] = roles
    trust = json.loads(role.inputs["assumeRolePolicy"])
    source = Names(settings.project, settings.source)
    trusted = sorted([source.role_arn("replicator"), source.role_arn("drift-checker")])
    assert trust["Statement"] == [{"Effect": "Allow", "Principal": {"AWS": trusted}, "Action": "sts:AssumeRole"}], (
        role.urn
    )
    policy = json.loads(storage.named("replica-writer-policy").inputs["policy"])
    bucket_arn = storage.named("data-bucket").outputs["arn"]
    table_arn = storage.named("config-table").outputs["arn"]
    writes = [
        s
        for s in policy["Statement"]
        if any(a in s["Action"] for a in ("s3:PutObject", "s3:DeleteObject", "dynamodb:PutItem", "dynamodb:DeleteItem"))
    ]
    for statement in writes:
        for resource in statement["Resource"]:
            assert resource in {f"{bucket_arn}/config/*", f"{bucket_arn}/schemas/*", table_arn}, statement


def test_storage_outputs_have_stable_keys(storage: RenderedStack, settings: Settings, env: str) -> None:
    expected = {
        "environment",
        "region",
        "account_id",
        "name_suffix",
        "bucket_name",
        "bucket_arn",
        "config_table_name",
        "config_table_arn",
        "config_table_stream_arn",
        "metadata_table_name",
        "metadata_table_arn",
    }
    if env in settings.source.replication.targets:
        expected |= {"replica_writer_role_arn", "replica_writer_role_name"}
    assert set(storage.outputs) == expected
