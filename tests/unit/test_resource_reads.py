"""The pure side of reading resources back: the normaliser, property paths, the recorded state and the dispatch.

Reads against the emulator are in tests/integration/test_resource_reads.py.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest
from botocore.exceptions import ClientError

from pipeline_infra_tools.exceptions import UnsupportedResourceError
from pipeline_infra_tools.sandbox.exceptions import EmulatorRequestError
from pipeline_infra_tools.sandbox.resources import HANDLERS, reads
from pipeline_infra_tools.sandbox.resources.documents import (
    Difference,
    canonical_policy,
    differences,
    normalise_values,
    parse_document,
    plain_numbers,
)
from pipeline_infra_tools.sandbox.resources.reading import (
    Extra,
    Owned,
    ReadSpec,
    function_name,
    pascal_to_camel,
    tag_state,
)

if TYPE_CHECKING:
    from pipeline_infra_tools.sandbox.resources.base import ResourceContext

FAKE = "test:index/thing:Thing"


def test_a_policy_has_one_spelling_per_meaning() -> None:
    written = {
        "Version": "2012-10-17",
        "Statement": {
            "Effect": "Allow",
            "Principal": {"AWS": ["arn:aws:iam::1:role/b", "arn:aws:iam::1:role/a"]},
            "Action": "s3:GetObject",
            "Resource": ["arn:aws:s3:::x/*", "arn:aws:s3:::x"],
            "Condition": {"StringLike": {"s3:prefix": "config/*"}},
        },
    }
    stored = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": ["arn:aws:iam::1:role/a", "arn:aws:iam::1:role/b"]},
                "Action": ["s3:GetObject"],
                "Resource": ["arn:aws:s3:::x", "arn:aws:s3:::x/*"],
                "Condition": {"StringLike": {"s3:prefix": ["config/*"]}},
            }
        ],
    }
    assert canonical_policy(written) == canonical_policy(stored)
    # A different action is still a difference.
    stored["Statement"][0]["Action"] = ["s3:GetObject", "s3:PutObject"]
    assert canonical_policy(written) != canonical_policy(stored)


def test_documents_are_parsed_and_only_policies_made_canonical() -> None:
    assert parse_document('{"Statement": {"Action": "a"}}', "policy") == {"Statement": [{"Action": ["a"]}]}
    assert parse_document('{"source": ["aws.s3"]}', "json") == {"source": ["aws.s3"]}
    assert parse_document({"Statement": []}, "policy") == {"Statement": []}
    # Text that is not JSON is kept, so it is still compared.
    assert parse_document("not json", "json") == "not json"


def test_numbers_are_plain_and_booleans_stay_booleans() -> None:
    assert plain_numbers({"a": 30.0, "b": [1.5, 2.0], "c": True, "d": {"e": 0.0}}) == {
        "a": 30,
        "b": [1.5, 2],
        "c": True,
        "d": {"e": 0},
    }


def test_normalise_values_parses_documents_and_sorts_sets() -> None:
    values = {
        "policy": '{"Statement": [{"Action": ["b", "a"]}]}',
        "attributes": [{"name": "sk", "type": "S"}, {"name": "pk", "type": "S"}],
        "types": ["b", "a"],
        "timeout": 3.0,
    }
    normalised = normalise_values(values, {"policy": "policy"}, {"attributes": "name", "types": ""})
    assert normalised == {
        "policy": {"Statement": [{"Action": ["a", "b"]}]},
        "attributes": [{"name": "pk", "type": "S"}, {"name": "sk", "type": "S"}],
        "types": ["a", "b"],
        "timeout": 3,
    }


def test_differences_name_each_changed_property_path() -> None:
    recorded = {
        "rules": [{"id": "a", "expiration": {"days": 30}}, {"id": "b"}],
        "tagsAll": {"Layer": "storage", "Project": "p"},
        "memorySize": 512,
        "enabled": True,
    }
    live = {
        "rules": [{"id": "a", "expiration": {"days": 99}}, {"id": "b"}],
        "tagsAll": {"Project": "p"},
        "memorySize": 640,
        "enabled": 1,
    }
    assert differences(recorded, live) == [
        Difference("enabled", True, 1),
        Difference("memorySize", 512, 640),
        Difference("rules[0].expiration.days", 30, 99),
        Difference("tagsAll.Layer", "storage", None),
    ]
    # A list that grew or shrank is one difference at its path.
    assert differences({"a": [1, 2]}, {"a": [1]}) == [Difference("a", [1, 2], [1])]
    assert differences(recorded, recorded) == []


def test_aws_shapes_read_back_as_input_shapes() -> None:
    api = {"DynamoDBStreamParameters": {"BatchSize": 1, "DeadLetterConfig": {"Arn": "arn"}}}
    renames = {"DynamoDBStreamParameters": "dynamodbStreamParameters"}
    assert pascal_to_camel(api, renames) == {
        "dynamodbStreamParameters": {"batchSize": 1, "deadLetterConfig": {"arn": "arn"}}
    }
    assert function_name("arn:aws:lambda:us-east-1:1:function:fn:$LATEST") == "fn"
    assert function_name("fn") == "fn"


def test_tags_split_as_the_provider_splits_them() -> None:
    live = {"Environment": "dev", "Owner": "me", "Team": "data"}
    outputs = {"tagsAll": {"Environment": "dev", "Owner": "me"}}
    assert tag_state(live, {}, outputs) == {"tagsAll": live}
    # With tags of its own, `tags` is everything but what came only from the provider's default tags.
    assert tag_state(live, {"tags": {"Owner": "me"}}, outputs) == {
        "tagsAll": live,
        "tags": {"Owner": "me", "Team": "data"},
    }


def test_the_recorded_state_adds_defaults_and_tags() -> None:
    rule = {"name": "r", "eventPattern": '{"source": ["aws.s3"]}'}
    state = reads.expected_state("aws:cloudwatch/eventRule:EventRule", rule, {"tagsAll": {"Layer": "processing"}})
    assert state == {
        "state": "ENABLED",
        "name": "r",
        "eventPattern": {"source": ["aws.s3"]},
        "tagsAll": {"Layer": "processing"},
    }
    # A rule that says whether it is enabled gets no default state.
    assert "state" not in reads.expected_state("aws:cloudwatch/eventRule:EventRule", {"isEnabled": False}, {})
    queue = reads.expected_state("aws:sqs/queue:Queue", {"name": "q", "visibilityTimeoutSeconds": 360.0}, {})
    assert queue == {"visibilityTimeoutSeconds": 360, "delaySeconds": 0, "receiveWaitTimeSeconds": 0, "name": "q"}


def test_every_deployable_type_can_be_read_and_every_unreadable_input_says_why() -> None:
    assert set(reads.READERS) == set(HANDLERS)
    unreadable = reads.unreadable_properties()
    assert set(unreadable) == {"aws:s3/bucket:Bucket", "aws:lambda/function:Function", "aws:kms/key:Key"}
    assert all(reason for reasons in unreadable.values() for reason in reasons.values())
    with pytest.raises(UnsupportedResourceError, match="cannot be read back"):
        reads.reader("aws:ec2/instance:Instance")


def _record(type_: str, id_: str, inputs: dict[str, Any], name: str = "thing") -> dict[str, Any]:
    return {"type": type_, "name": name, "id": id_, "inputs": inputs, "outputs": {**inputs, "id": id_}}


def test_owned_children_are_keyed_as_their_owners_look_them_up() -> None:
    records = [
        _record("aws:iam/rolePolicy:RolePolicy", "role-a:policy-a", {"role": "role-a", "name": "policy-a"}),
        _record("aws:cloudwatch/eventTarget:EventTarget", "r-t", {"rule": "r", "targetId": "t", "arn": "x"}),
        _record(
            "aws:sns/topicSubscription:TopicSubscription",
            "arn:sub",
            {"topic": "arn:topic", "protocol": "email", "endpoint": "a@example.com"},
        ),
        _record("aws:lambda/permission:Permission", "sid", {"function": "arn:aws:lambda:r:1:function:fn"}),
        _record("aws:s3/bucket:Bucket", "bucket", {"bucket": "bucket"}),
    ]
    assert reads.owned_children(records) == Owned(
        frozenset(
            {
                ("inline-policy", "role-a", "policy-a"),
                ("rule-target", "default", "r", "t"),
                ("subscription", "arn:topic", "email", "a@example.com"),
                ("permission", "fn", "sid"),
            }
        )
    )


def _stub_read(
    id_: str, inputs: dict[str, Any], outputs: dict[str, Any], ctx: ResourceContext
) -> dict[str, Any] | None:
    if id_ == "gone":
        return None
    if id_ == "refused":
        raise ClientError({"Error": {"Code": "403", "Message": "denied"}}, "GetThing")
    return {"name": "thing", "policy": {"Statement": {"Action": "a"}}, "size": 2, "unrecorded": "x"}


def _stub_extras(
    id_: str, inputs: dict[str, Any], outputs: dict[str, Any], ctx: ResourceContext, owned: Owned
) -> list[Extra]:
    return [Extra("inline-policy", "role/by-hand", "{}")]


@pytest.fixture
def stub_type(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = ReadSpec(_stub_read, extras=_stub_extras, documents={"policy": "policy"}, unreadable={"secret": "why"})
    monkeypatch.setitem(reads.READERS, FAKE, spec)  # type: ignore[arg-type]


@pytest.mark.usefixtures("stub_type")
def test_a_read_has_the_recorded_keys_with_unreadable_ones_standing_in() -> None:
    inputs = {"name": "thing", "policy": json.dumps({"Statement": [{"Action": ["a"]}]}), "size": 1.0, "secret": "s"}
    record = _record(FAKE, "here", inputs, name="logical")
    result = reads.read_resource(record, None, Owned())  # type: ignore[arg-type]
    # THEN the keys are the recorded ones (what the read has beyond them is left out), the policy compared by
    # meaning, the unreadable input is the recorded value, named in `unread`, and extras carry their owner
    assert result.inputs == {"name": "thing", "policy": {"Statement": [{"Action": ["a"]}]}, "size": 2, "secret": "s"}
    assert result.unread == ("secret",)
    assert result.extras == (Extra("inline-policy", "role/by-hand", "{}", owner="logical"),)
    assert [d.path for d in reads.read_differences(record, result)] == ["size"]
    assert result.to_json()["extras"] == [
        {"kind": "inline-policy", "owner": "logical", "aws_name": "role/by-hand", "detail": "{}"}
    ]


@pytest.mark.usefixtures("stub_type")
def test_a_gone_resource_reads_as_none_and_a_refused_read_names_the_resource() -> None:
    gone = reads.read_resource(_record(FAKE, "gone", {"name": "thing"}), None, Owned())  # type: ignore[arg-type]
    assert gone.gone and gone.extras == ()
    assert reads.read_differences(_record(FAKE, "gone", {"name": "thing"}), gone) == [
        Difference("", {"name": "thing"}, None)
    ]
    with pytest.raises(EmulatorRequestError, match=r"test:index/thing:Thing 'thing' \(refused\)"):
        reads.read_resource(_record(FAKE, "refused", {"name": "thing"}), None, Owned())  # type: ignore[arg-type]
