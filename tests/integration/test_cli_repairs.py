"""The repair commands an operator is told to run, run as a user runs them, each checked by what it did.

`redrive` for a change the replicator refused, `sandbox tick` for the scheduled drift check and the `resync`
repair its report prints, and `resync` bringing a target in line (or saying why it could not), on the session
sandbox. Every test uses keys of its own and leaves the replication DLQ without records of its own.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

import pytest

from pipeline_functions.replicator.items import REPLICA_ATTRIBUTES, to_dynamodb
from tests.integration.helpers import (
    about,
    cli,
    cli_json,
    live_drift,
    overlay_level,
    peek_dead_letters,
    read_item,
    read_object,
    run_repair,
    subscribed,
    take_dead_letters,
    targets,
    unique,
    wait_for,
    wait_for_item,
    wait_for_item_gone,
    wait_for_object,
    wait_for_object_gone,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from tests.integration.conftest import DeployedSandbox
    from tests.integration.helpers import Notification

pytestmark = pytest.mark.integration


def storage(sandbox: DeployedSandbox, env: str) -> dict[str, Any]:
    return sandbox.outputs("storage", env)


def dlq_url(sandbox: DeployedSandbox) -> str:
    return str(sandbox.outputs("notifications", "prod")["replication_dlq_url"])


def unrewritable(prod_bucket: str) -> bytes:
    """A config document that names prod's bucket but is not JSON (cut off), so it cannot be rewritten."""
    return f'{{"input": "s3://{prod_bucket}/raw/", "batch": '.encode()


def replica_document(sandbox: DeployedSandbox, env: str) -> dict[str, Any]:
    """What `{"input": "s3://<prod bucket>/raw/"}` is in `env`: rewritten for it, with its overlay."""
    return {
        "input": f"s3://{storage(sandbox, env)['bucket_name']}/raw/",
        "logging": {"level": overlay_level(sandbox, env)},
    }


def failed_for(resource: str, attempts: int) -> Callable[[Notification], bool]:
    def match(notification: Notification) -> bool:
        return (
            notification.attributes.get("outcome") == "failed"
            and notification.body.get("resource") == resource
            and (notification.body.get("details") or {}).get("attempts") == attempts
        )

    return match


def resync_request(key: str) -> Callable[[dict[str, Any]], bool]:
    """Whether a dead letter is a `pipeline-infra resync` request for this key (not the live change)."""
    named = about(key)
    return lambda record: named(record) and record["requestPayload"].get("source") == "pipeline-infra.resync"


def delete_everywhere(sandbox: DeployedSandbox, key: str) -> None:
    """Delete prod's object and wait until the deletion has reached every target."""
    s3 = sandbox.client("s3")
    s3.delete_object(Bucket=storage(sandbox, "prod")["bucket_name"], Key=key)
    for env in targets(sandbox):
        wait_for_object_gone(s3, storage(sandbox, env)["bucket_name"], key)


def test_redrive_replays_a_refused_change_until_prod_is_fixed(sandbox: DeployedSandbox) -> None:
    s3, sqs = sandbox.client("s3"), sandbox.client("sqs")
    prod_bucket = storage(sandbox, "prod")["bucket_name"]
    queue = dlq_url(sandbox)
    key = f"config/cli/{unique('refused')}.json"
    resource = f"s3://{prod_bucket}/{key}"
    envs = targets(sandbox)
    take_dead_letters(sqs, queue)  # redrive replays the whole queue: start it empty
    try:
        with subscribed(sandbox, sandbox.outputs("notifications", "prod")["failure_topic_arn"]) as inbox:
            # GIVEN a prod config document that cannot be rewritten (invalid JSON naming prod's bucket)
            s3.put_object(Bucket=prod_bucket, Key=key, Body=unrewritable(prod_bucket))
            # THEN the replicator refuses it at once: the change as it came, the reason
            wait_for(lambda: peek_dead_letters(sqs, queue, about(key)) or None, f"DLQ record for {key}")
            # AND one `failed` notification per target, after one attempt, and no retries announced
            failed = inbox.wait(failed_for(resource, 1), count=len(envs), what=f"failed for {resource}")
            assert sorted(n.attributes["environment"] for n in failed) == sorted(envs), [n.body for n in failed]
            assert [
                n
                for n in inbox.received
                if n.body.get("resource") == resource and n.attributes.get("outcome") == "retrying"
            ] == []
            # AND one put is one change: exactly one dead letter (S3 sends one Object Created event)
            records = peek_dead_letters(sqs, queue, about(key))
            kinds = [r["requestPayload"].get("detail-type") for r in records]
            assert kinds == ["Object Created"], f"one put of {key} was dead-lettered as {kinds}"
            [record] = records
            assert record["requestContext"]["condition"] == "RefusedChange", record["requestContext"]
            assert record["requestContext"]["approximateInvokeCount"] == 1, record["requestContext"]
            assert record["requestPayload"]["detail"]["object"]["key"] == key
            assert "invalid JSON" in record["responsePayload"]["errorMessage"], record["responsePayload"]
            # AND no target has the document, unrewritten or otherwise
            for env in envs:
                assert read_object(s3, storage(sandbox, env)["bucket_name"], key) is None, env

            # WHEN the DLQ is redriven while prod's document is still broken
            completed = cli(sandbox.workspace.root, "redrive", "--env", "prod", "--format", "json")
            # THEN the replay fails again, is reported, and the change is back in the DLQ one attempt later
            assert completed.returncode == 1, completed.stdout + completed.stderr
            report = cli_json(completed)
            assert report["replayed"] == 1 and report["succeeded"] == 0, report
            [failure] = report["failed"]
            assert failure["function"] == sandbox.outputs("replication", "prod")["replicator_function_name"]
            assert "invalid JSON" in failure["reason"], failure
            [again] = peek_dead_letters(sqs, queue, about(key))
            assert again["requestContext"]["condition"] == "RefusedChange"
            assert again["requestContext"]["approximateInvokeCount"] == 2, again["requestContext"]
            assert again["requestPayload"] == record["requestPayload"]
            refailed = inbox.wait(failed_for(resource, 2), count=len(envs), what=f"second failed for {resource}")
            assert sorted(n.attributes["environment"] for n in refailed) == sorted(envs)
            for env in envs:
                assert read_object(s3, storage(sandbox, env)["bucket_name"], key) is None, env

        # WHEN prod's document is fixed (valid JSON, still naming prod) and the DLQ is redriven again
        s3.put_object(Bucket=prod_bucket, Key=key, Body=json.dumps({"input": f"s3://{prod_bucket}/raw/"}).encode())
        completed = cli(sandbox.workspace.root, "redrive", "--env", "prod", "--format", "json")
        # THEN the replay succeeds, the DLQ no longer holds the change
        assert completed.returncode == 0, completed.stdout + completed.stderr
        report = cli_json(completed)
        assert report == {"replayed": 1, "succeeded": 1, "failed": []}, report
        assert peek_dead_letters(sqs, queue, about(key)) == []
        # AND every target holds the document rewritten for it, naming none of prod's resources
        for env in envs:
            expected = replica_document(sandbox, env)
            replica = wait_for_object(
                s3, storage(sandbox, env)["bucket_name"], key, lambda o, e=expected: o.json() == e
            )
            assert prod_bucket.encode() not in replica.body, (env, replica.body)
    finally:
        delete_everywhere(sandbox, key)
        take_dead_letters(sqs, queue, about(key))


def test_sandbox_tick_runs_the_drift_check_and_its_repair_line_repairs_the_drift(sandbox: DeployedSandbox) -> None:
    dynamodb = sandbox.client("dynamodb")
    prod, dev = storage(sandbox, "prod"), storage(sandbox, "dev")
    replication = sandbox.outputs("replication", "prod")
    rule = str(replication["drift_schedule_rule_arn"]).rsplit("/", 1)[-1]
    item_key = {"pk": f"pipeline#{unique('tick')}", "sk": "v1"}
    identifier = json.dumps(item_key, sort_keys=True)  # how drift names an item
    # GIVEN a prod config item replicated to every target, then dev's replica deleted by hand: drift
    dynamodb.put_item(
        TableName=prod["config_table_name"], Item=to_dynamodb({**item_key, "bucket": prod["bucket_name"]})
    )
    for env in targets(sandbox):
        wait_for_item(dynamodb, storage(sandbox, env)["config_table_name"], to_dynamodb(item_key))
    dynamodb.delete_item(TableName=dev["config_table_name"], Key=to_dynamodb(item_key))
    try:
        with subscribed(sandbox, sandbox.outputs("notifications", "prod")["failure_topic_arn"]) as inbox:
            # WHEN the drift schedule fires now
            completed = cli(sandbox.workspace.root, "sandbox", "tick", "--rule", rule)
            # THEN it ran the drift checker
            assert completed.returncode == 0, completed.stdout + completed.stderr
            assert replication["drift_checker_function_name"] in completed.stdout, completed.stdout
            # AND operators are told about dev's drift, naming the missing replica
            missing = f"missing item {identifier}"

            def names_item(n: Notification) -> bool:
                listed = (n.body.get("details") or {}).get("differences") or []
                return (
                    n.attributes.get("outcome") == "drift"
                    and n.attributes.get("environment") == "dev"
                    and missing in listed
                )

            [alert] = inbox.wait(names_item, what=f"drift notification for dev naming {identifier}")
            assert alert.attributes["source"] == "drift-checker"

        # WHEN the repair line `drift --live` prints for that difference is run as printed
        code, report = live_drift(sandbox.workspace.root, "dev")
        assert code == 1, report["summary"]
        [difference] = [d for d in report["differences"] if d["category"] == "data" and d["resource"] == identifier]
        assert (difference["environment"], difference["kind"], difference["status"]) == ("dev", "missing", "drift")
        assert difference["repair"] == "pipeline-infra resync --from prod --to dev"
        assert difference["repair"] in report["repairs"]
        repaired = run_repair(sandbox.workspace.root, difference["repair"])
        # THEN it succeeds, dev holds the item again, rewritten for dev, and drift no longer reports it
        assert repaired.returncode == 0, repaired.stdout + repaired.stderr
        restored = read_item(dynamodb, dev["config_table_name"], to_dynamodb(item_key))
        assert restored is not None, f"{identifier} is still missing in dev"
        assert {k: v for k, v in restored.items() if k not in REPLICA_ATTRIBUTES} == {
            **item_key,
            "bucket": dev["bucket_name"],
        }
        _, after = live_drift(sandbox.workspace.root, "dev")
        assert [d for d in after["differences"] if d["resource"] == identifier] == []
    finally:
        dynamodb.delete_item(TableName=prod["config_table_name"], Key=to_dynamodb(item_key))
        for env in targets(sandbox):
            wait_for_item_gone(dynamodb, storage(sandbox, env)["config_table_name"], to_dynamodb(item_key))


def test_resync_table_brings_an_edited_replica_and_a_missing_item_back(sandbox: DeployedSandbox) -> None:
    s3, dynamodb = sandbox.client("s3"), sandbox.client("dynamodb")
    prod, dev = storage(sandbox, "prod"), storage(sandbox, "dev")
    key = f"config/cli/{unique('resync-table')}.json"
    item_key = {"pk": f"pipeline#{unique('resync-table')}", "sk": "v1"}
    item = {**item_key, "bucket": prod["bucket_name"], "table": prod["config_table_name"], "retries": 3}
    # GIVEN a prod config file and a prod config item, both replicated to dev
    s3.put_object(
        Bucket=prod["bucket_name"], Key=key, Body=json.dumps({"input": f"s3://{prod['bucket_name']}/raw/"}).encode()
    )
    dynamodb.put_item(TableName=prod["config_table_name"], Item=to_dynamodb(item))
    wait_for_item(dynamodb, dev["config_table_name"], to_dynamodb(item_key))
    try:
        # AND dev's replica edited by hand in place (its metadata kept), dev's item deleted by hand
        replica = wait_for_object(s3, dev["bucket_name"], key)
        s3.put_object(
            Bucket=dev["bucket_name"],
            Key=key,
            Body=b'{"input": "s3://somewhere-else/raw/"}',
            Metadata=replica.metadata,
            ContentType=replica.content_type,
        )
        dynamodb.delete_item(TableName=dev["config_table_name"], Key=to_dynamodb(item_key))
        # WHEN an operator runs resync with its table report
        completed = cli(sandbox.workspace.root, "resync", "--from", "prod", "--to", "dev")
        # THEN it says the resync is complete and counts both copies
        assert completed.returncode == 0, completed.stdout + completed.stderr
        assert completed.stdout.startswith("resync prod -> dev: complete"), completed.stdout
        counters = dict(re.findall(r"^  ([a-z ]+?)  +(\d+)$", completed.stdout, re.MULTILINE))
        assert int(counters["copied"]) >= 2, completed.stdout
        assert counters["failed"] == "0" and counters["still different after"] == "0", completed.stdout
        assert f"object {key}" in completed.stdout
        # AND dev's replica is prod's document rewritten for dev, and the item is back, rewritten
        replica = read_object(s3, dev["bucket_name"], key)
        assert replica is not None and replica.json() == replica_document(sandbox, "dev")
        restored = read_item(dynamodb, dev["config_table_name"], to_dynamodb(item_key))
        assert restored is not None, f"{item_key} is still missing in dev"
        assert {k: v for k, v in restored.items() if k not in REPLICA_ATTRIBUTES} == {
            **item_key,
            "bucket": dev["bucket_name"],
            "table": dev["config_table_name"],
            "retries": 3,
        }
    finally:
        dynamodb.delete_item(TableName=prod["config_table_name"], Key=to_dynamodb(item_key))
        delete_everywhere(sandbox, key)
        for env in targets(sandbox):
            wait_for_item_gone(dynamodb, storage(sandbox, env)["config_table_name"], to_dynamodb(item_key))


def test_resync_reports_a_document_it_cannot_rewrite_and_writes_nothing(sandbox: DeployedSandbox) -> None:
    s3, sqs = sandbox.client("s3"), sandbox.client("sqs")
    prod_bucket, staging_bucket = storage(sandbox, "prod")["bucket_name"], storage(sandbox, "staging")["bucket_name"]
    queue = dlq_url(sandbox)
    key = f"config/cli/{unique('unrewritable')}.json"
    # GIVEN a prod document that cannot be rewritten, refused live, so staging has no replica of it
    s3.put_object(Bucket=prod_bucket, Key=key, Body=unrewritable(prod_bucket))
    try:
        wait_for(lambda: peek_dead_letters(sqs, queue, about(key)) or None, f"live refusal of {key} dead-lettered")
        assert read_object(s3, staging_bucket, key) is None
        # WHEN an operator resyncs staging from prod
        completed = cli(sandbox.workspace.root, "resync", "--from", "prod", "--to", "staging", "--format", "json")
        # THEN the resync is incomplete and says which document failed and why
        assert completed.returncode == 1, completed.stdout + completed.stderr
        report = cli_json(completed)
        assert report["ok"] is False and report["target"] == "staging", report
        [failure] = [f for f in report["failed"] if f["change"] == f"object {key}"]
        assert "invalid JSON" in failure["reason"], failure
        assert report["remaining"] >= 1, report
        # AND nothing was written to staging
        assert read_object(s3, staging_bucket, key) is None
        # AND the refused resync request was dead-lettered by the replicator, for redrive
        [letter] = wait_for(
            lambda: peek_dead_letters(sqs, queue, resync_request(key)) or None, f"refused resync of {key} dead-lettered"
        )
        assert letter["requestContext"]["condition"] == "RefusedChange", letter["requestContext"]
        assert letter["requestPayload"]["detail"]["targets"] == ["staging"], letter["requestPayload"]
    finally:
        delete_everywhere(sandbox, key)
        take_dead_letters(sqs, queue, about(key))
