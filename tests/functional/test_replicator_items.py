"""Replicator, DynamoDB side: config items reach dev and staging rewritten, in order, within DynamoDB's limits."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pytest

from pipeline_functions.replicator.items import SEQUENCE_ATTR, ItemReplicator, to_python

from .conftest import bucket_name, emf_metrics, item_event, table_name
from .test_replicator_objects import make_replicator, outcomes

if TYPE_CHECKING:
    from .conftest import Aws

pytestmark = pytest.mark.filterwarnings("ignore:Couldn't determine the remaining time:UserWarning")
PK, SK = "pipeline#ingest", "settings"


def put_prod_item(aws: Aws, **attributes: Any) -> None:
    item = {"pk": {"S": PK}, "sk": {"S": SK}, **attributes}
    aws.dynamodb.put_item(TableName=table_name("config", "prod"), Item=item)


def replica(aws: Aws, env: str, pk: str = PK) -> dict[str, Any] | None:
    item = aws.dynamodb.get_item(
        TableName=table_name("config", env), Key={"pk": {"S": pk}, "sk": {"S": SK}}, ConsistentRead=True
    ).get("Item")
    return to_python(item) if item else None


def test_item_is_rewritten_with_overlay_on_existing_attributes_only(aws: Aws) -> None:
    put_prod_item(
        aws,
        output_bucket={"S": bucket_name("prod")},
        topic={"S": "arn:aws:sns:us-east-1:123456789012:sns-success-prod-pl01"},
        tables={"L": [{"S": "ddb-metadata-prod-pl01"}, {"S": "ddb-config-prod-pl01"}]},
        logging={"M": {"level": {"S": "INFO"}, "sampling": {"N": "0.1"}}},
        batch_size={"N": "100"},
    )
    result = make_replicator(aws).handle(item_event(PK, SK, 200))
    assert outcomes(result) == {"dev": "replicated", "staging": "replicated"}
    dev = replica(aws, "dev")
    assert dev is not None
    assert dev["output_bucket"] == bucket_name("dev")
    assert dev["topic"].endswith(":sns-success-dev-pl01")
    assert dev["tables"] == ["ddb-metadata-dev-pl01", "ddb-config-dev-pl01"]
    assert dev["logging"] == {"level": "DEBUG", "sampling": Decimal("0.1")}
    assert dev["batch_size"] == 100
    assert dev[SEQUENCE_ATTR] == 200
    staging = replica(aws, "staging")
    assert staging is not None
    assert staging["logging"]["level"] == "INFO"
    assert "prod" not in repr({k: v for k, v in staging.items() if not k.startswith("_")})


def test_overlay_does_not_add_attributes_the_item_lacks(aws: Aws) -> None:
    put_prod_item(aws, name={"S": "x"})
    make_replicator(aws).handle(item_event(PK, SK, 10))
    dev = replica(aws, "dev")
    assert dev is not None
    assert "logging" not in dev


def test_the_current_item_is_replicated_not_the_stream_image(aws: Aws) -> None:
    put_prod_item(aws, value={"S": "current"})
    event = item_event(PK, SK, 300)
    event["detail"]["dynamodb"]["NewImage"] = {"pk": {"S": PK}, "sk": {"S": SK}, "value": {"S": "stale"}}
    make_replicator(aws).handle(event)
    assert replica(aws, "dev")["value"] == "current"  # type: ignore[index]


def test_an_older_stream_record_after_a_newer_one_is_skipped(aws: Aws) -> None:
    replicator = make_replicator(aws)
    put_prod_item(aws, value={"S": "v2"})
    replicator.handle(item_event(PK, SK, 500))
    aws.dynamodb.put_item(
        TableName=table_name("config", "dev"),
        Item={"pk": {"S": PK}, "sk": {"S": SK}, "value": {"S": "v2"}, SEQUENCE_ATTR: {"N": "500"}},
    )
    put_prod_item(aws, value={"S": "v3-not-yet-announced"})
    late = replicator.handle(item_event(PK, SK, 400))
    assert outcomes(late) == {"dev": "skipped", "staging": "skipped"}
    assert "go backwards" in late["results"][0]["targets"][0]["reason"]
    assert replica(aws, "dev")["value"] == "v2"  # type: ignore[index]


def test_duplicate_stream_record_writes_once(aws: Aws) -> None:
    put_prod_item(aws, value={"S": "v1"})
    replicator = make_replicator(aws)
    event = item_event(PK, SK, 700)
    replicator.handle(event)
    again = replicator.handle(event)
    assert again["results"][0]["duplicate"] is True
    assert len(aws.notifications("success")) == 2


@pytest.mark.parametrize("propagate", [True, False])
def test_removed_items_are_deleted_in_targets_when_switched_on(aws: Aws, propagate: bool) -> None:
    replicator = make_replicator(aws, PROPAGATE_DELETES=str(propagate).lower())
    put_prod_item(aws, value={"S": "v1"})
    replicator.handle(item_event(PK, SK, 100, "INSERT"))
    aws.dynamodb.delete_item(TableName=table_name("config", "prod"), Key={"pk": {"S": PK}, "sk": {"S": SK}})
    result = replicator.handle(item_event(PK, SK, 101, "REMOVE"))
    assert outcomes(result)["dev"] == ("deleted" if propagate else "skipped")
    assert (replica(aws, "dev") is None) is propagate


def test_an_item_over_400_kb_after_rewriting_fails_loudly(aws: Aws, capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN a prod item just under 400 KB that grows for staging ("-prod-pl01" -> "-staging-pl01")
    names = ",".join(["ddb-config-prod-pl01"] * 19_000)
    put_prod_item(aws, tables={"S": names})
    # WHEN it is replicated
    result = make_replicator(aws).handle(item_event(PK, SK, 900))
    # THEN dev (which shrinks) is written, staging is refused at once: retrying cannot make it fit
    assert outcomes(result) == {"dev": "replicated", "staging": "refused"}
    assert "409600" in result["dead_lettered"][0]["reason"]
    assert replica(aws, "dev") is not None
    assert replica(aws, "staging") is None
    failures = aws.notifications("failure")
    assert [n["attributes"]["environment"] for n in failures] == ["staging"]
    assert "DynamoDB accepts at most 409600" in failures[0]["body"]["reason"]
    assert any(m["name"] == "ReplicationFailed" for m in emf_metrics(capsys.readouterr().out))


def test_a_record_from_another_table_is_rejected(aws: Aws) -> None:
    event = item_event(PK, SK, 1)
    event["detail"]["eventSourceARN"] = "arn:aws:dynamodb:us-east-1:123456789012:table/ddb-config-dev-pl01/stream/x"
    result = make_replicator(aws).handle(event)
    assert "expected 'ddb-config-prod-pl01'" in result["dead_lettered"][0]["reason"]
    assert [n["attributes"]["outcome"] for n in aws.notifications("failure")] == ["rejected"]


def test_writes_use_the_targets_writer_role(aws: Aws) -> None:
    # The provider is asked once per target and its credentials are reused while valid.
    calls: list[str] = []

    class CountingSts:
        def assume_role(self, **kwargs: Any) -> dict[str, Any]:
            calls.append(kwargs["RoleArn"])
            return dict(aws.sts.assume_role(**kwargs))

    from pipeline_functions.replicator import Replicator, ReplicatorSettings
    from pipeline_functions.shared.targets import AssumeRoleCredentialsProvider

    settings = ReplicatorSettings.from_env(aws.environ())
    replicator = Replicator(
        settings,
        s3_client=aws.s3,
        dynamodb_client=aws.dynamodb,
        sns_client=aws.sns,
        credentials_provider=AssumeRoleCredentialsProvider(CountingSts()),
    )
    put_prod_item(aws, value={"S": "v1"})
    replicator.handle(item_event(PK, SK, 1))
    replicator.handle(item_event(PK, SK, 2))
    assert sorted(calls) == [
        "arn:aws:iam::123456789012:role/iam-replica-writer-dev-pl01",
        "arn:aws:iam::123456789012:role/iam-replica-writer-staging-pl01",
    ]


def resync_request(keys: dict[str, Any], target: str = "dev") -> dict[str, Any]:
    return {
        "version": "0",
        "id": f"resync-{target}",
        "source": "pipeline-infra.resync",
        "detail-type": "Resync Item",
        "time": "2024-05-14T09:30:00Z",
        "detail": {"table": table_name("config", "prod"), "keys": keys, "targets": [target]},
    }


def test_a_resync_keeps_the_replicas_sequence_so_a_later_real_change_still_applies(aws: Aws) -> None:
    # GIVEN a replica written by stream record 5, then changed by hand in dev
    put_prod_item(aws, value={"S": "v1"})
    replicator = make_replicator(aws)
    replicator.handle(item_event(PK, SK, 5))
    aws.dynamodb.update_item(
        TableName=table_name("config", "dev"),
        Key={"pk": {"S": PK}, "sk": {"S": SK}},
        UpdateExpression="SET #v = :v",
        ExpressionAttributeNames={"#v": "value"},
        ExpressionAttributeValues={":v": {"S": "edited in dev"}},
    )
    # WHEN a resync repairs dev, only dev
    result = replicator.handle(resync_request({"pk": {"S": PK}, "sk": {"S": SK}}))
    assert outcomes(result) == {"dev": "replicated"}
    dev = replica(aws, "dev")
    assert dev is not None and dev["value"] == "v1"
    # THEN it made up no stream position: the replica still records 5
    assert dev[SEQUENCE_ATTR] == 5
    # AND the next real change, stream record 6, is applied (a resync that wrote 5 + 1 would have hidden it)
    put_prod_item(aws, value={"S": "v2"})
    assert outcomes(replicator.handle(item_event(PK, SK, 6))) == {"dev": "replicated", "staging": "replicated"}
    dev = replica(aws, "dev")
    assert dev is not None and dev["value"] == "v2"


def test_a_resync_of_a_missing_replica_records_no_sequence(aws: Aws) -> None:
    put_prod_item(aws, value={"S": "v1"})
    replicator = make_replicator(aws)
    assert outcomes(replicator.handle(resync_request({"pk": {"S": PK}, "sk": {"S": SK}}, "staging"))) == {
        "staging": "replicated"
    }
    staging = replica(aws, "staging")
    assert staging is not None and SEQUENCE_ATTR not in staging
    put_prod_item(aws, value={"S": "v2"})
    replicator.handle(item_event(PK, SK, 1))
    staging = replica(aws, "staging")
    assert staging is not None and staging["value"] == "v2"


def test_a_resync_naming_an_unknown_environment_is_rejected(aws: Aws) -> None:
    result = make_replicator(aws).handle(resync_request({"pk": {"S": PK}, "sk": {"S": SK}}, "qa"))
    assert "not replication targets" in result["dead_lettered"][0]["reason"]


def test_a_removal_handled_while_an_earlier_write_is_in_flight_leaves_no_replica(
    aws: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN an insert's replication that has read prod's item and is about to write the replicas
    put_prod_item(aws, value={"S": "v1"})
    writer, remover = make_replicator(aws), make_replicator(aws)
    original = ItemReplicator.replicate
    interleaved: list[dict[str, Any]] = []
    removal_handled = False

    def replicate_after_the_removal_was_handled(self: ItemReplicator, *args: Any, **kwargs: Any) -> Any:
        nonlocal removal_handled
        if not removal_handled:
            removal_handled = True
            # WHEN prod removes the item and its record is handled (delivered out of order) before the write lands
            aws.dynamodb.delete_item(TableName=table_name("config", "prod"), Key={"pk": {"S": PK}, "sk": {"S": SK}})
            interleaved.append(remover.handle(item_event(PK, SK, 101, "REMOVE")))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(ItemReplicator, "replicate", replicate_after_the_removal_was_handled)
    result = writer.handle(item_event(PK, SK, 100, "INSERT"))
    # THEN the removal found no replica yet, and the insert's own check of prod after writing removes what it
    # wrote: no target keeps an item prod no longer has, and the outcome says why
    assert outcomes(interleaved[0]) == {"dev": "skipped", "staging": "skipped"}
    assert replica(aws, "dev") is None
    assert replica(aws, "staging") is None
    assert outcomes(result) == {"dev": "deleted", "staging": "deleted"}
    assert all("changed while" in t["reason"] for t in result["results"][0]["targets"])


def test_a_retried_record_removes_the_replica_its_earlier_attempt_wrote_once_prod_is_gone(aws: Aws) -> None:
    # GIVEN a replica written by a record whose attempt could not confirm it (prod's item gone since)
    put_prod_item(aws, value={"S": "v1"})
    replicator = make_replicator(aws)
    event = item_event(PK, SK, 100, "INSERT")
    replicator.handle(event)
    aws.dynamodb.delete_item(TableName=table_name("config", "prod"), Key={"pk": {"S": PK}, "sk": {"S": SK}})
    # WHEN the same record is delivered again (a redriven dead letter replays it)
    redriven = {"requestPayload": event, "requestContext": {"approximateInvokeCount": 1}, "responsePayload": {}}
    result = make_replicator(aws).handle(redriven)
    # THEN the replica with that record's own sequence goes: prod no longer has the item
    assert outcomes(result) == {"dev": "deleted", "staging": "deleted"}
    assert replica(aws, "dev") is None
