"""Drift checker: prod's config objects and items vs each target after rewriting; notify only on drift."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from pipeline_functions.drift_checker import DriftChecker, DriftCheckerSettings, DriftKind, handler
from pipeline_functions.drift_checker.exceptions import DriftCheckError
from pipeline_functions.shared.targets import own_credentials

from .conftest import bucket_name, emf_metrics, item_event, load_event, s3_event, table_name
from .test_replicator_objects import PROD_CONFIG, make_replicator

if TYPE_CHECKING:
    from collections.abc import Iterator

    from .conftest import Aws, LambdaContext

pytestmark = pytest.mark.filterwarnings("ignore:Couldn't determine the remaining time:UserWarning")


@pytest.fixture
def replicated(aws: Aws) -> Aws:
    """Prod holds two objects and an item, all replicated to dev and staging."""
    replicator = make_replicator(aws)
    aws.put("config/pipeline.json", json.dumps(PROD_CONFIG))
    aws.put("schemas/orders.json", json.dumps({"type": "object"}))
    aws.put("schemas/blob.bin", bytes(range(256)))
    aws.dynamodb.put_item(
        TableName=table_name("config", "prod"),
        Item={"pk": {"S": "p"}, "sk": {"S": "s"}, "bucket": {"S": bucket_name("prod")}, "logging": {"M": {}}},
    )
    for key in ("config/pipeline.json", "schemas/orders.json", "schemas/blob.bin"):
        replicator.handle(s3_event(key))
    replicator.handle(item_event("p", "s", 5))
    aws.notifications("success")
    return aws


@pytest.fixture
def checker(aws: Aws) -> Iterator[DriftChecker]:
    settings = DriftCheckerSettings.from_env(aws.environ())
    checker = DriftChecker(
        settings,
        s3_client=aws.s3,
        dynamodb_client=aws.dynamodb,
        sns_client=aws.sns,
        credentials_provider=own_credentials,
    )
    handler.service.override(checker)
    yield checker
    handler.service.reset()


def test_replicated_environments_show_no_drift_and_send_nothing(
    replicated: Aws, checker: DriftChecker, context: LambdaContext, capsys: pytest.CaptureFixture[str]
) -> None:
    report = handler.lambda_handler(load_event("scheduled_drift_check.json"), context)
    assert report["has_drift"] is False
    assert [(e["environment"], e["objects_compared"], e["items_compared"]) for e in report["environments"]] == [
        ("dev", 3, 1),
        ("staging", 3, 1),
    ]
    assert replicated.notifications("failure") == []
    counts = [m for m in emf_metrics(capsys.readouterr().out) if m["name"] == "DriftCount"]
    assert sorted((m["dimensions"]["TargetEnvironment"], m["value"]) for m in counts) == [("dev", 0), ("staging", 0)]


def test_missing_extra_and_different_are_reported_per_environment(
    replicated: Aws, checker: DriftChecker, context: LambdaContext, capsys: pytest.CaptureFixture[str]
) -> None:
    aws = replicated
    # GIVEN dev edited by hand, an extra dev object, staging missing an item and holding a stale binary
    edited = json.loads(aws.read("config/pipeline.json", "dev"))
    edited["input"] = "s3://company-data-prod-us-east-1-pl01/raw/"
    aws.put("config/pipeline.json", json.dumps(edited), env="dev")
    aws.put("config/only-in-dev.yaml", "a: 1", env="dev")
    aws.dynamodb.delete_item(TableName=table_name("config", "staging"), Key={"pk": {"S": "p"}, "sk": {"S": "s"}})
    aws.put("schemas/blob.bin", b"stale", env="staging")
    # WHEN the checker runs
    report = checker.run("evt-1")
    # THEN every difference is named with its kind
    found = {(d.environment, d.resource_type, d.identifier, d.kind) for e in report.environments for d in e.differences}
    assert found == {
        ("dev", "object", "config/pipeline.json", DriftKind.DIFFERENT),
        # The hand edit put prod's bucket into dev: named on its own, whatever else differs.
        ("dev", "object", "config/pipeline.json", DriftKind.NAMES_PROD),
        ("dev", "object", "config/only-in-dev.yaml", DriftKind.EXTRA),
        ("staging", "item", '{"pk": "p", "sk": "s"}', DriftKind.MISSING),
        ("staging", "object", "schemas/blob.bin", DriftKind.DIFFERENT),
    }
    dev = next(e for e in report.environments if e.environment == "dev")
    assert any("$.input" in d.detail for d in dev.differences)
    # AND one drift notification per drifting environment, and the count metric
    sent = aws.notifications("failure")
    assert sorted((n["attributes"]["outcome"], n["attributes"]["environment"]) for n in sent) == [
        ("drift", "dev"),
        ("drift", "staging"),
    ]
    counts = {
        m["dimensions"]["TargetEnvironment"]: m["value"]
        for m in emf_metrics(capsys.readouterr().out)
        if m["name"] == "DriftCount"
    }
    assert counts == {"dev": 3, "staging": 2}


def test_report_serialises_for_the_cli(replicated: Aws, checker: DriftChecker) -> None:
    replicated.s3.delete_object(Bucket=bucket_name("dev"), Key="schemas/orders.json")
    payload = json.loads(json.dumps(checker.run().to_dict()))
    dev = next(e for e in payload["environments"] if e["environment"] == "dev")
    assert dev["count"] == 1
    assert dev["differences"][0]["kind"] == "missing"


def test_a_check_that_cannot_run_alerts_and_raises(
    replicated: Aws, checker: DriftChecker, context: LambdaContext
) -> None:
    # GIVEN staging's bucket gone, so staging cannot be read
    aws = replicated
    for version in aws.s3.list_object_versions(Bucket=bucket_name("staging")).get("Versions", []):
        aws.s3.delete_object(Bucket=bucket_name("staging"), Key=version["Key"], VersionId=version["VersionId"])
    for marker in aws.s3.list_object_versions(Bucket=bucket_name("staging")).get("DeleteMarkers", []):
        aws.s3.delete_object(Bucket=bucket_name("staging"), Key=marker["Key"], VersionId=marker["VersionId"])
    aws.s3.delete_bucket(Bucket=bucket_name("staging"))
    # WHEN the scheduled check runs
    with pytest.raises(DriftCheckError, match=r"staging"):
        handler.lambda_handler(load_event("scheduled_drift_check.json"), context)
    # THEN operators get a failure notification naming the check, and the raise lets Lambda's on-failure
    # destination keep the event for a redrive
    [sent] = aws.notifications("failure")
    assert sent["attributes"] == {"outcome": "failed", "environment": "prod", "source": "drift-checker"}
    assert sent["body"]["reason"].startswith("drift check could not run:")
    assert sent["body"]["correlation_id"] == load_event("scheduled_drift_check.json")["id"]


def _checker(aws: Aws, **overrides: str) -> DriftChecker:
    settings = DriftCheckerSettings.from_env(aws.environ(**overrides))
    return DriftChecker(
        settings,
        s3_client=aws.s3,
        dynamodb_client=aws.dynamodb,
        sns_client=aws.sns,
        credentials_provider=own_credentials,
    )


def test_documents_above_the_in_memory_limit_are_compared_by_content_streamed(aws: Aws) -> None:
    # GIVEN a document compared as a stream (in-memory limit 8 bytes), replicated, then edited in staging
    streamed = {"REWRITE_IN_MEMORY_BYTES": "8"}
    aws.put("config/big.json", json.dumps({"bucket": bucket_name("prod"), "n": list(range(100))}))
    make_replicator(aws, **streamed).handle(s3_event("config/big.json"))
    assert _checker(aws, **streamed).run().has_drift is False
    edited = json.loads(aws.read("config/big.json", "staging"))
    edited["n"][42] = -1
    aws.put("config/big.json", json.dumps(edited), env="staging")
    # WHEN the checker compares, streaming both sides
    report = _checker(aws, **streamed).run()
    # THEN the changed element is named, in staging only
    [staging] = [e for e in report.environments if e.differences]
    assert staging.environment == "staging"
    [difference] = staging.differences
    assert difference.kind == DriftKind.DIFFERENT and "$.n[42]" in difference.detail


def test_a_replica_naming_prod_is_drift_even_where_etags_would_agree(aws: Aws) -> None:
    # GIVEN an old replica that is a byte copy of prod's document (as the old size limit produced), metadata included
    body = json.dumps({"bucket": bucket_name("prod")})
    put = aws.put("config/copied.json", body)
    aws.put("config/copied.json", body, env="dev", Metadata={"source-etag": put["ETag"].strip('"')})
    make_replicator(aws).handle(s3_event("config/copied.json"))  # staging gets a proper replica
    aws.s3.delete_object(Bucket=bucket_name("dev"), Key="config/copied.json")
    aws.put("config/copied.json", body, env="dev", Metadata={"source-etag": put["ETag"].strip('"')})
    # WHEN the checker runs THEN dev's copy is reported as naming prod
    report = _checker(aws).run()
    dev = next(e for e in report.environments if e.environment == "dev")
    assert {d.kind for d in dev.differences} == {DriftKind.DIFFERENT, DriftKind.NAMES_PROD}
    named = next(d for d in dev.differences if d.kind == DriftKind.NAMES_PROD)
    assert bucket_name("prod") in named.detail


def test_a_marked_verbatim_copy_is_approved_not_drift(aws: Aws) -> None:
    verbatim = {"VERBATIM_PREFIXES": '["config/vendor/"]'}
    aws.put("config/vendor/raw.json", b'{"bucket": "company-data-prod-us-east-1-pl01", ')
    make_replicator(aws, **verbatim).handle(s3_event("config/vendor/raw.json"))
    report = _checker(aws, **verbatim).run()
    assert report.has_drift is False
    assert {(e.environment, d.kind) for e in report.environments for d in e.approved} == {
        ("dev", DriftKind.VERBATIM),
        ("staging", DriftKind.VERBATIM),
    }
    # Without the setting, the same copy is drift: the checker does not trust the marker alone.
    assert _checker(aws).run().has_drift is True
