"""Prod's configuration reaching dev and staging through the live flow on the session sandbox.

Every change is made in prod with the administrator's clients, exactly as an operator would; the local Lambda
runtime delivers the events and the replicator (with its own role) writes the replicas. Each test uses keys of
its own, so the tests never see each other's data.
"""

from __future__ import annotations

import json
import os
import uuid
from typing import TYPE_CHECKING, Any

import pytest

from pipeline_infra_tools.sandbox.lambda_runtime.process import runtime_for
from tests.integration.aws_events import item_event, object_event
from tests.integration.helpers import (
    object_versions,
    overlay_level,
    read_item,
    read_object,
    subscribed,
    targets,
    unique,
    wait_for,
    wait_for_item,
    wait_for_item_gone,
    wait_for_object,
    wait_for_object_gone,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

    from pipeline_infra_tools.sandbox.lambda_runtime.functions import Invocation
    from pipeline_infra_tools.sandbox.lambda_runtime.service import LambdaRuntime
    from tests.integration.conftest import DeployedSandbox

pytestmark = pytest.mark.integration
IN_PROGRESS = "IdempotencyAlreadyInProgressError"


@pytest.fixture(scope="module")
def stacks(sandbox: DeployedSandbox) -> dict[str, dict[str, Any]]:
    """Storage and notification outputs of every environment, and prod's replication outputs."""
    found: dict[str, dict[str, Any]] = {"replication": sandbox.outputs("replication", "prod")}
    for env in ("prod", *targets(sandbox)):
        found[env] = {**sandbox.outputs("storage", env), **sandbox.outputs("notifications", env)}
    return found


@pytest.fixture(scope="module")
def runtime(sandbox: DeployedSandbox) -> Iterator[LambdaRuntime]:
    """A handle on the running sandbox's runtime, for delivering events to the replicator directly."""
    handle = runtime_for(sandbox.workspace.state_dir)
    yield handle
    handle.close()


def prod_document(stacks: dict[str, dict[str, Any]], batch: int) -> dict[str, Any]:
    """A config file as prod holds it: it names prod's bucket, tables and topic, and logs at WARN."""
    prod = stacks["prod"]
    return {
        "pipeline": "orders",
        "input": f"s3://{prod['bucket_name']}/raw/orders/",
        "config_table": prod["config_table_name"],
        "metadata_table": prod["metadata_table_name"],
        "alerts": prod["failure_topic_arn"],
        "logging": {"level": "WARN"},
        "batch": batch,
    }


def expected_document(sandbox: DeployedSandbox, stacks: dict[str, dict[str, Any]], env: str, batch: int) -> Any:
    """The same file as `env` must hold it: every prod identifier is `env`'s own, and `env`'s overlay applied."""
    target = stacks[env]
    return {
        "pipeline": "orders",
        "input": f"s3://{target['bucket_name']}/raw/orders/",
        "config_table": target["config_table_name"],
        "metadata_table": target["metadata_table_name"],
        "alerts": target["failure_topic_arn"],
        "logging": {"level": overlay_level(sandbox, env)},
        "batch": batch,
    }


def assert_no_prod_identifier(text: str, stacks: dict[str, dict[str, Any]], where: str) -> None:
    prod = stacks["prod"]
    for identifier in (prod["bucket_name"], prod["config_table_name"], prod["failure_topic_arn"], "-prod-"):
        assert identifier not in text, f"{where} still names {identifier!r}: {text}"


def put_json(s3: Any, bucket: str, key: str, document: dict[str, Any]) -> str:
    return str(s3.put_object(Bucket=bucket, Key=key, Body=json.dumps(document).encode())["VersionId"])


def test_config_object_created_updated_and_deleted_in_prod_follows_in_every_target(
    sandbox: DeployedSandbox, stacks: dict[str, dict[str, Any]]
) -> None:
    s3, prod_bucket = sandbox.client("s3"), stacks["prod"]["bucket_name"]
    key = f"config/pipelines/{unique('orders')}.json"
    with subscribed(sandbox, stacks["prod"]["success_topic_arn"]) as inbox:
        # GIVEN a config file created in prod
        version = put_json(s3, prod_bucket, key, prod_document(stacks, batch=1))
        # THEN every target holds it rewritten for itself, recording the prod version it came from
        for env in targets(sandbox):
            replica = wait_for_object(s3, stacks[env]["bucket_name"], key)
            assert replica.json() == expected_document(sandbox, stacks, env, batch=1), env
            assert_no_prod_identifier(replica.body.decode(), stacks, f"{env} replica of {key}")
            assert replica.metadata["source-version-id"] == version
            assert replica.metadata["replica-rewritten"] == "true"
        # AND a success notification per target says so
        resource = f"s3://{prod_bucket}/{key}"
        notes = inbox.wait(
            lambda n: n.body["resource"] == resource and n.attributes["outcome"] == "replicated",
            count=len(targets(sandbox)),
            what=f"replicated {resource}",
        )
        assert sorted(n.attributes["environment"] for n in notes) == sorted(targets(sandbox))

    # WHEN the file is updated in prod
    put_json(s3, prod_bucket, key, prod_document(stacks, batch=2))
    # THEN every target holds the update, rewritten
    for env in targets(sandbox):
        replica = wait_for_object(s3, stacks[env]["bucket_name"], key, lambda o: o.json()["batch"] == 2)
        assert replica.json() == expected_document(sandbox, stacks, env, batch=2), env
        assert_no_prod_identifier(replica.body.decode(), stacks, f"{env} replica of {key}")

    # WHEN the file is deleted in prod
    s3.delete_object(Bucket=prod_bucket, Key=key)
    # THEN it is gone from every target
    for env in targets(sandbox):
        wait_for_object_gone(s3, stacks[env]["bucket_name"], key)


def test_binary_object_is_copied_byte_for_byte(sandbox: DeployedSandbox, stacks: dict[str, dict[str, Any]]) -> None:
    s3, prod_bucket = sandbox.client("s3"), stacks["prod"]["bucket_name"]
    key = f"config/models/{unique('weights')}.bin"
    # GIVEN a binary file in prod that happens to contain prod's bucket name: it is data, not configuration
    payload = os.urandom(48 * 1024) + prod_bucket.encode() + bytes(range(256)) + os.urandom(16 * 1024)
    s3.put_object(Bucket=prod_bucket, Key=key, Body=payload, ContentType="application/octet-stream")
    # THEN every target holds exactly the same bytes, marked as not rewritten
    for env in targets(sandbox):
        replica = wait_for_object(s3, stacks[env]["bucket_name"], key)
        assert replica.body == payload, f"{env}: the replica's bytes differ from prod's"
        assert replica.metadata["replica-rewritten"] == "false"
        assert replica.content_type == "application/octet-stream"


def item_key(name: str) -> dict[str, Any]:
    return {"pk": {"S": f"pipeline#{name}"}, "sk": {"S": "settings"}}


def prod_item(stacks: dict[str, dict[str, Any]], name: str, retries: int) -> dict[str, Any]:
    prod = stacks["prod"]
    return {
        **item_key(name),
        "bucket": {"S": prod["bucket_name"]},
        "alerts": {"S": prod["failure_topic_arn"]},
        "logging": {"M": {"level": {"S": "WARN"}}},
        "retries": {"N": str(retries)},
    }


def test_config_item_inserted_modified_and_removed_in_prod_follows_in_every_target(
    sandbox: DeployedSandbox, stacks: dict[str, dict[str, Any]]
) -> None:
    dynamodb, name = sandbox.client("dynamodb"), unique("orders")
    key, prod_table = item_key(name), stacks["prod"]["config_table_name"]
    # GIVEN a config item inserted in prod
    dynamodb.put_item(TableName=prod_table, Item=prod_item(stacks, name, retries=3))
    # THEN every target's config table holds it rewritten, with the target's overlay
    for env in targets(sandbox):
        replica = wait_for_item(dynamodb, stacks[env]["config_table_name"], key)
        assert replica["bucket"] == stacks[env]["bucket_name"], env
        assert replica["alerts"] == stacks[env]["failure_topic_arn"], env
        assert replica["logging"] == {"level": overlay_level(sandbox, env)}, env
        assert replica["retries"] == 3
        assert_no_prod_identifier(str(replica), stacks, f"{env} replica of item {name}")

    # WHEN the item is modified in prod
    dynamodb.update_item(
        TableName=prod_table,
        Key=key,
        UpdateExpression="SET retries = :r",
        ExpressionAttributeValues={":r": {"N": "5"}},
    )
    # THEN every target holds the modification, still rewritten
    for env in targets(sandbox):
        replica = wait_for_item(dynamodb, stacks[env]["config_table_name"], key, lambda i: i["retries"] == 5)
        assert replica["bucket"] == stacks[env]["bucket_name"], env
        assert_no_prod_identifier(str(replica), stacks, f"{env} replica of item {name}")

    # WHEN the item is removed in prod
    dynamodb.delete_item(TableName=prod_table, Key=key)
    # THEN it is removed from every target
    for env in targets(sandbox):
        wait_for_item_gone(dynamodb, stacks[env]["config_table_name"], key)


def s3_event_as_delivered(stacks: dict[str, dict[str, Any]], key: str, version_id: str, etag: str) -> dict[str, Any]:
    """The "Object Created" event S3 sends for one version of a prod object (the replicator's own input)."""
    prod = stacks["prod"]
    event = object_event("Object Created", prod["bucket_name"], key, prod["account_id"], prod["region"])
    event["detail"]["object"].update({"version-id": version_id, "etag": etag})
    return event


def deliver(runtime: LambdaRuntime, function: str, event: dict[str, Any]) -> Invocation:
    """One delivery of `event`, delivered again while the same change is still being processed (as Lambda's
    async retries would): the idempotency layer refuses a change that is in progress rather than run it twice.
    """

    def attempt() -> Invocation | None:
        invocation = runtime.invoke(function, event)
        return None if invocation.error_type == IN_PROGRESS else invocation

    return wait_for(attempt, f"{function} to accept a redelivery")


def outcomes(result: Any) -> list[tuple[str, str]]:
    [change] = result["results"]
    return sorted((t["environment"], t["outcome"]) for t in change["targets"])


def test_same_object_event_delivered_twice_writes_once(
    sandbox: DeployedSandbox, stacks: dict[str, dict[str, Any]], runtime: LambdaRuntime
) -> None:
    s3, prod_bucket = sandbox.client("s3"), stacks["prod"]["bucket_name"]
    key = f"config/pipelines/{unique('dup')}.json"
    # GIVEN a prod config file the live flow has replicated once
    response = s3.put_object(Bucket=prod_bucket, Key=key, Body=b'{"batch": 1}')
    replicas = {env: wait_for_object(s3, stacks[env]["bucket_name"], key) for env in targets(sandbox)}
    event = s3_event_as_delivered(stacks, key, response["VersionId"], response["ETag"].strip('"'))
    replicator = stacks["replication"]["replicator_function_name"]
    # WHEN the same event is delivered again, twice
    results = [deliver(runtime, replicator, event) for _ in range(2)]
    # THEN both deliveries are recognised as duplicates and nothing is written
    for invocation in results:
        assert invocation.ok, invocation
        [change] = invocation.result["results"]
        assert change["duplicate"] is True, change
    for env, before in replicas.items():
        versions = object_versions(s3, stacks[env]["bucket_name"], key)
        assert [v["VersionId"] for v in versions] == [before.version_id], f"{env} was written again: {versions}"
        after = read_object(s3, stacks[env]["bucket_name"], key)
        assert after is not None and after.last_modified == before.last_modified


def test_older_object_event_after_a_newer_one_changes_nothing(
    sandbox: DeployedSandbox, stacks: dict[str, dict[str, Any]], runtime: LambdaRuntime
) -> None:
    s3, prod_bucket = sandbox.client("s3"), stacks["prod"]["bucket_name"]
    key = f"config/pipelines/{unique('order')}.json"
    # GIVEN version 1 then version 2 of a prod file, both replicated
    first = s3.put_object(Bucket=prod_bucket, Key=key, Body=b'{"batch": 1}')
    for env in targets(sandbox):
        wait_for_object(s3, stacks[env]["bucket_name"], key, lambda o: o.json()["batch"] == 1)
    s3.put_object(Bucket=prod_bucket, Key=key, Body=b'{"batch": 2}')
    replicas = {
        env: wait_for_object(s3, stacks[env]["bucket_name"], key, lambda o: o.json()["batch"] == 2)
        for env in targets(sandbox)
    }
    # WHEN version 1's event arrives late, both as S3 sent it and as a distinct late delivery of that change
    late = s3_event_as_delivered(stacks, key, first["VersionId"], first["ETag"].strip('"'))
    distinct = s3_event_as_delivered(stacks, key, first["VersionId"], first["ETag"].strip('"'))
    del distinct["detail"]["object"]["version-id"]  # not recognised as a duplicate, so it is processed
    replicator = stacks["replication"]["replicator_function_name"]
    redelivered, processed = deliver(runtime, replicator, late), deliver(runtime, replicator, distinct)
    # THEN the redelivery is a duplicate, the distinct one is skipped in every target, and no replica changes
    assert redelivered.ok and redelivered.result["results"][0]["duplicate"] is True, redelivered
    assert processed.ok, processed
    assert outcomes(processed.result) == [(env, "skipped") for env in sorted(targets(sandbox))]
    for env, before in replicas.items():
        after = read_object(s3, stacks[env]["bucket_name"], key)
        assert after is not None and after.json()["batch"] == 2, env
        assert after.version_id == before.version_id, f"{env} replica was rewritten"


def stream_event(stacks: dict[str, dict[str, Any]], name: str, key: dict[str, Any], sequence: int) -> dict[str, Any]:
    """A config table change as the Pipe puts it on the replication bus."""
    prod, replication = stacks["prod"], stacks["replication"]
    return item_event(
        name,
        key,
        sequence,
        prod["config_table_stream_arn"],
        replication["config_pipe_arn"],
        prod["account_id"],
        prod["region"],
    )


def test_same_item_event_delivered_twice_writes_once(
    sandbox: DeployedSandbox, stacks: dict[str, dict[str, Any]], runtime: LambdaRuntime
) -> None:
    dynamodb, name = sandbox.client("dynamodb"), unique("dup")
    key = item_key(name)
    # GIVEN a prod config item the live flow has replicated once
    dynamodb.put_item(TableName=stacks["prod"]["config_table_name"], Item=prod_item(stacks, name, retries=1))
    replicas = {env: wait_for_item(dynamodb, stacks[env]["config_table_name"], key) for env in targets(sandbox)}
    [sequence] = {int(replica["_replica_source_sequence"]) for replica in replicas.values()}
    replicator = stacks["replication"]["replicator_function_name"]
    # WHEN the stream record that was replicated is delivered again, twice
    results = [deliver(runtime, replicator, stream_event(stacks, "INSERT", key, sequence)) for _ in range(2)]
    # THEN both are duplicates and every replica is exactly as it was
    for invocation in results:
        assert invocation.ok, invocation
        assert invocation.result["results"][0]["duplicate"] is True, invocation.result
    for env, before in replicas.items():
        assert read_item(dynamodb, stacks[env]["config_table_name"], key) == before, env


def test_older_item_event_after_a_newer_one_changes_nothing(
    sandbox: DeployedSandbox, stacks: dict[str, dict[str, Any]], runtime: LambdaRuntime
) -> None:
    dynamodb, name = sandbox.client("dynamodb"), unique("order")
    key, prod_table = item_key(name), stacks["prod"]["config_table_name"]
    # GIVEN an item inserted and then modified in prod, both replicated
    dynamodb.put_item(TableName=prod_table, Item=prod_item(stacks, name, retries=1))
    inserted = {
        env: int(wait_for_item(dynamodb, stacks[env]["config_table_name"], key)["_replica_source_sequence"])
        for env in targets(sandbox)
    }
    dynamodb.put_item(TableName=prod_table, Item=prod_item(stacks, name, retries=2))
    replicas = {
        env: wait_for_item(dynamodb, stacks[env]["config_table_name"], key, lambda i: i["retries"] == 2)
        for env in targets(sandbox)
    }
    # WHEN a record older than the one each replica holds arrives late (an event id never seen before)
    [older] = set(inserted.values())
    assert all(int(r["_replica_source_sequence"]) > older for r in replicas.values()), replicas
    event = stream_event(stacks, "MODIFY", key, older)
    event["detail"]["eventID"] = uuid.uuid4().hex
    invocation = deliver(runtime, stacks["replication"]["replicator_function_name"], event)
    # THEN it is skipped in every target as going backwards, and no replica changes
    assert invocation.ok, invocation
    assert outcomes(invocation.result) == [(env, "skipped") for env in sorted(targets(sandbox))]
    for env, before in replicas.items():
        assert read_item(dynamodb, stacks[env]["config_table_name"], key) == before, env
