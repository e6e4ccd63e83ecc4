"""Replicas keep what S3 Replication keeps: content headers, user metadata and tags, on every write path."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest

from .conftest import bucket_name, s3_event
from .test_replicator_objects import make_replicator, outcomes

if TYPE_CHECKING:
    from .conftest import Aws

pytestmark = pytest.mark.filterwarnings("ignore:Couldn't determine the remaining time:UserWarning")
MIB = 1024 * 1024
HEADERS = {
    "ContentType": "application/json; charset=utf-8",
    "ContentEncoding": "identity",
    "ContentDisposition": 'attachment; filename="pipeline.json"',
    "ContentLanguage": "en-GB",
    "CacheControl": "max-age=300",
    "Expires": datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC),
}


def put_with_everything(aws: Aws, key: str, body: bytes, tags: str) -> None:
    aws.put(key, body, Metadata={"owner": "data-platform"}, Tagging=tags, **HEADERS)


def replica(aws: Aws, key: str, env: str) -> tuple[dict[str, Any], dict[str, str]]:
    head = aws.s3.head_object(Bucket=bucket_name(env), Key=key)
    tags = aws.s3.get_object_tagging(Bucket=bucket_name(env), Key=key)["TagSet"]
    return head, {tag["Key"]: tag["Value"] for tag in tags}


def assert_kept(head: dict[str, Any]) -> None:
    for name, value in HEADERS.items():
        assert head.get(name) == value, (name, head.get(name))
    assert head["Metadata"]["owner"] == "data-platform"


@pytest.mark.parametrize(
    ("key", "body", "overrides", "rewritten"),
    [
        ("config/model.bin", b"\x00\x01binary", {}, False),
        ("config/pipeline.json", json.dumps({"bucket": bucket_name("prod")}).encode(), {}, True),
        # Streamed: above the in-memory limit the document is rewritten as a stream into a PutObject/multipart.
        (
            "config/big.json",
            json.dumps({"bucket": bucket_name("prod")}).encode(),
            {"REWRITE_IN_MEMORY_BYTES": "8"},
            True,
        ),
        ("config/app.properties", f"bucket={bucket_name('prod')}\n".encode(), {}, True),
    ],
)
def test_every_write_path_keeps_headers_metadata_and_tags(
    aws: Aws, key: str, body: bytes, overrides: dict[str, str], rewritten: bool
) -> None:
    put_with_everything(aws, key, body, f"team=data&source={bucket_name('prod')}")
    result = make_replicator(aws, **overrides).handle(s3_event(key))
    assert outcomes(result) == {"dev": "replicated", "staging": "replicated"}
    head, tags = replica(aws, key, "dev")
    assert_kept(head)
    assert head["Metadata"]["replica-rewritten"] == str(rewritten).lower()
    # Tags are kept, with prod identifiers in their values rewritten like the content.
    assert tags == {"team": "data", "source": bucket_name("dev")}
    if rewritten:
        assert bucket_name("prod").encode() not in aws.read(key, "dev")


def test_a_multipart_copy_keeps_headers_metadata_and_tags(aws: Aws) -> None:
    put_with_everything(aws, "config/large.bin", b"x" * (6 * MIB), "team=data")
    result = make_replicator(aws, MULTIPART_THRESHOLD_BYTES=str(5 * MIB)).handle(s3_event("config/large.bin"))
    assert outcomes(result) == {"dev": "replicated", "staging": "replicated"}
    head, tags = replica(aws, "config/large.bin", "staging")
    assert_kept(head)
    assert tags == {"team": "data"}
    assert head["ContentLength"] == 6 * MIB


def test_tag_changes_in_prod_reach_the_replicas(aws: Aws) -> None:
    # GIVEN a replicated object
    aws.put("config/pipeline.json", "{}", Tagging="team=data")
    replicator = make_replicator(aws)
    replicator.handle(s3_event("config/pipeline.json"))
    # WHEN a tag is added in prod
    aws.s3.put_object_tagging(
        Bucket=bucket_name("prod"),
        Key="config/pipeline.json",
        Tagging={"TagSet": [{"Key": "team", "Value": "data"}, {"Key": "tier", "Value": "gold"}]},
    )
    added = s3_event("config/pipeline.json", event_id="evt-tags-added")
    added["detail-type"] = "Object Tags Added"
    assert outcomes(replicator.handle(added)) == {"dev": "replicated", "staging": "replicated"}
    assert replica(aws, "config/pipeline.json", "dev")[1] == {"team": "data", "tier": "gold"}
    # AND when prod's tags are deleted
    aws.s3.delete_object_tagging(Bucket=bucket_name("prod"), Key="config/pipeline.json")
    deleted = s3_event("config/pipeline.json", event_id="evt-tags-deleted")
    deleted["detail-type"] = "Object Tags Deleted"
    assert outcomes(replicator.handle(deleted)) == {"dev": "replicated", "staging": "replicated"}
    assert replica(aws, "config/pipeline.json", "staging")[1] == {}
