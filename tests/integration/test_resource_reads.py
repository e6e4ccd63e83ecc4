"""Every managed resource read back from the session sandbox, as a provider's Read does for `pulumi refresh`.

Three things are shown: what every stack deployed reads back exactly as recorded; one out-of-band change per
resource type (made with the administrator's clients, as a person would) is read as that property's change,
and restoring it reads clean again; what is attached to a managed resource by hand (an inline policy, a rule
target, a subscription, a function permission) is reported as an extra, then gone once removed.
The sandbox is shared by the whole session: every change is undone in a `finally`.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from botocore.exceptions import ClientError

from pipeline_infra_tools.sandbox.changes import provider_placements
from pipeline_infra_tools.sandbox.resources import HANDLERS
from pipeline_infra_tools.sandbox.resources.base import Clients, ResourceContext
from pipeline_infra_tools.sandbox.resources.reads import (
    READERS,
    owned_children,
    read_differences,
    read_resource,
    unreadable_properties,
)
from tests.integration.helpers import unique
from tests.integration.out_of_band import NETWORK_OUT_OF_BAND, OUT_OF_BAND, OutOfBand, Record

if TYPE_CHECKING:
    from collections.abc import Iterator

    from pipeline_infra_tools.sandbox.resources.reading import Owned
    from pipeline_infra_tools.sandbox.resources.reads import ReadResult
    from tests.integration.conftest import DeployedSandbox

pytestmark = pytest.mark.integration

# Properties that may legitimately read back different from the record (emulator-generated values). None: every
# id, ARN, URL and stream ARN the record holds was returned by the emulator itself when the resource was created,
# and nothing the emulator generates later (timestamps, revision ids, counters) is an input.
LEGITIMATE_DIFFERENCES: dict[str, set[str]] = {}


@dataclass
class Reader:
    """Every saved deploy record of the session sandbox, and a context per region to read it back with."""

    sandbox: DeployedSandbox
    records: list[tuple[str, Record, str]]  # (environment, record, region)
    contexts: dict[str, ResourceContext]
    owned: Owned

    def find(self, type_: str, env: str, name: str) -> Record:
        for record_env, record, _region in self.records:
            if (record["type"], record_env, record["name"]) == (type_, env, name):
                return record
        raise AssertionError(f"{env} records no {type_} named {name!r}")

    def read(self, record: Record) -> ReadResult:
        region = next(r for _e, rec, r in self.records if rec is record)
        return read_resource(record, self.contexts[region], self.owned)

    def changed_paths(self, record: Record) -> list[str]:
        return [difference.path for difference in read_differences(record, self.read(record))]


@pytest.fixture(scope="module")
def reader(sandbox: DeployedSandbox) -> Iterator[Reader]:
    state = sandbox.state
    records: list[tuple[str, Record, str]] = []
    for path in sorted(sandbox.target.store.root.glob("*/*.json")):
        saved = json.loads(path.read_text(encoding="utf-8"))
        placements = provider_placements(saved["resources"])
        for record in saved["resources"]:
            if record["type"] in HANDLERS:
                where = placements.get(record["provider"] or "")
                records.append((path.stem, record, (where.region if where else None) or state.region))
    contexts = {}
    for region in {region for _env, _record, region in records}:
        clients = Clients.create(state.endpoint, region, state.access_key_id, state.secret_access_key)
        account = str(clients.sts.get_caller_identity()["Account"])
        contexts[region] = ResourceContext(clients, region, account, {})
    yield Reader(sandbox, records, contexts, owned_children(record for _env, record, _region in records))
    for context in contexts.values():
        for client in context.clients.by_service.values():
            client.close()


def test_every_deployed_resource_reads_back_as_recorded(reader: Reader) -> None:
    # GIVEN dev, staging and prod deployed, and nothing changed since
    assert {record["type"] for _env, record, _region in reader.records} <= set(READERS)
    for env, record, _region in reader.records:
        # WHEN each managed resource is read back from the emulator
        result = reader.read(record)
        # THEN it is there, equal to its record after normalising, with nothing attached by hand
        where = f"{env} {record['type']} {record['name']} ({record['id']})"
        assert not result.gone, f"{where} reads as gone"
        allowed = LEGITIMATE_DIFFERENCES.get(record["type"], set())
        changed = [d for d in read_differences(record, result) if d.path not in allowed]
        assert changed == [], f"{where} reads back differently: {[d.to_json() for d in changed]}"
        # (the runtime's own "sandbox-tap" rule targets are not extras)
        assert result.extras == (), f"{where} has extras: {[e.to_json() for e in result.extras]}"
        unreadable = unreadable_properties().get(record["type"], {})
        assert set(result.unread) == set(unreadable) & set(result.inputs or {}), where


# -- out-of-band changes: one per resource type ----------------------------------------------------------------
def test_every_readable_type_has_an_out_of_band_case() -> None:
    # The network's cases run on the VPC profile's sandbox (test_vpc_profile.py): the shipped profile has none.
    assert sorted(case.type_ for case in OUT_OF_BAND + NETWORK_OUT_OF_BAND) == sorted(READERS)


@pytest.mark.parametrize("case", OUT_OF_BAND, ids=[case.type_.rsplit(":", 1)[1] for case in OUT_OF_BAND])
def test_an_out_of_band_change_reads_as_that_property(reader: Reader, case: OutOfBand) -> None:
    # GIVEN a managed resource that reads back as recorded
    record = reader.find(case.type_, case.env, case.name)
    assert reader.changed_paths(record) == []
    # WHEN someone changes it by hand
    with case.change(reader.sandbox, record):
        result = reader.read(record)
        # THEN the read shows exactly that change (or the resource gone)
        if case.path is None:
            assert result.gone, f"{case.name}: expected to read as gone, read {result.inputs}"
        else:
            paths = [d.path for d in read_differences(record, result)]
            assert paths == [case.path], f"{case.name}: expected only {case.path} changed, read {paths}"
    # AND once restored it reads back as recorded again (the session's sandbox is shared)
    assert reader.changed_paths(record) == []


def test_function_code_replaced_by_hand_reads_as_a_changed_code(reader: Reader) -> None:
    # GIVEN a function whose deployed zip is the recorded one
    lambda_ = reader.sandbox.client("lambda")
    record = reader.find("aws:lambda/function:Function", "dev", "processing-task-processor-function")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handler.py", "def lambda_handler(event, context):\n    return None\n")
    # WHEN someone uploads other code
    lambda_.update_function_code(FunctionName=record["id"], ZipFile=buffer.getvalue())
    try:
        # THEN `code` reads as the live zip's hash, since an archive cannot be read back
        [difference] = read_differences(record, reader.read(record))
        assert difference.path == "code"
        live = lambda_.get_function(FunctionName=record["id"])["Configuration"]["CodeSha256"]
        assert difference.live == f"sha256:{live}"
    finally:
        original = Path(record["inputs"]["code"]["path"]).read_bytes()
        lambda_.update_function_code(FunctionName=record["id"], ZipFile=original)
    assert reader.changed_paths(record) == []


# -- extras: what is attached by hand ---------------------------------------------------------------------------
def _extras(reader: Reader, type_: str, env: str, name: str) -> list[dict[str, str]]:
    return [extra.to_json() for extra in reader.read(reader.find(type_, env, name)).extras]


def test_an_inline_policy_added_by_hand_is_an_extra(reader: Reader) -> None:
    iam = reader.sandbox.client("iam")
    role, policy = "processing-validator-role", unique("by-hand")
    role_name = reader.find("aws:iam/role:Role", "dev", role)["id"]
    document = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"}],
    }
    iam.put_role_policy(RoleName=role_name, PolicyName=policy, PolicyDocument=json.dumps(document))
    try:
        [extra] = _extras(reader, "aws:iam/role:Role", "dev", role)
        assert (extra["kind"], extra["owner"], extra["aws_name"]) == ("inline-policy", role, f"{role_name}/{policy}")
        assert json.loads(extra["detail"]) == document
    finally:
        iam.delete_role_policy(RoleName=role_name, PolicyName=policy)
    assert _extras(reader, "aws:iam/role:Role", "dev", role) == []


def test_a_rule_target_added_by_hand_is_an_extra(reader: Reader) -> None:
    events, sqs = reader.sandbox.client("events"), reader.sandbox.client("sqs")
    rule = "processing-raw-uploads"
    rule_name = reader.find("aws:cloudwatch/eventRule:EventRule", "dev", rule)["id"]
    url = sqs.create_queue(QueueName=unique("read-extra-target"))["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_targets(Rule=rule_name, Targets=[{"Id": "by-hand", "Arn": arn}])
    try:
        [extra] = _extras(reader, "aws:cloudwatch/eventRule:EventRule", "dev", rule)
        assert (extra["kind"], extra["owner"], extra["aws_name"]) == (
            "rule-target",
            rule,
            f"default/{rule_name}/by-hand",
        )
        assert arn in extra["detail"]
    finally:
        events.remove_targets(Rule=rule_name, Ids=["by-hand"])
        sqs.delete_queue(QueueUrl=url)
    assert _extras(reader, "aws:cloudwatch/eventRule:EventRule", "dev", rule) == []


def test_a_subscription_added_by_hand_is_an_extra(reader: Reader) -> None:
    sns = reader.sandbox.client("sns")
    topic = "topics-failure"
    topic_arn = reader.find("aws:sns/topic:Topic", "dev", topic)["id"]
    endpoint = f"{unique('by-hand')}@example.com"
    arn = sns.subscribe(TopicArn=topic_arn, Protocol="email", Endpoint=endpoint, ReturnSubscriptionArn=True)[
        "SubscriptionArn"
    ]
    try:
        [extra] = _extras(reader, "aws:sns/topic:Topic", "dev", topic)
        assert (extra["kind"], extra["owner"], extra["aws_name"]) == ("subscription", topic, arn)
        assert endpoint in extra["detail"]
    finally:
        sns.unsubscribe(SubscriptionArn=arn)
    assert _extras(reader, "aws:sns/topic:Topic", "dev", topic) == []


def test_a_function_permission_added_by_hand_is_an_extra(reader: Reader) -> None:
    lambda_ = reader.sandbox.client("lambda")
    function = "processing-validator-function"
    name = reader.find("aws:lambda/function:Function", "dev", function)["id"]
    lambda_.add_permission(
        FunctionName=name, StatementId="by-hand", Action="lambda:InvokeFunction", Principal="s3.amazonaws.com"
    )
    try:
        # A second statement under the same id is refused, as AWS refuses it.
        with pytest.raises(ClientError, match="ResourceConflictException"):
            lambda_.add_permission(
                FunctionName=name, StatementId="by-hand", Action="lambda:InvokeFunction", Principal="s3.amazonaws.com"
            )
        [extra] = _extras(reader, "aws:lambda/function:Function", "dev", function)
        assert (extra["kind"], extra["owner"], extra["aws_name"]) == (
            "function-permission",
            function,
            f"{name}/by-hand",
        )
        assert "s3.amazonaws.com" in extra["detail"]
    finally:
        lambda_.remove_permission(FunctionName=name, StatementId="by-hand")
    assert _extras(reader, "aws:lambda/function:Function", "dev", function) == []
