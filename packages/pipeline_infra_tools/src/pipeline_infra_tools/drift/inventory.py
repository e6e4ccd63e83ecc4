"""What an account holds in one region, kind by kind, for the search for unmanaged resources.

Each kind lists every resource of one type (S3 buckets, DynamoDB tables, SQS queues, SNS topics, Lambda functions,
IAM roles, EventBridge buses and rules, CloudWatch log groups, EventBridge Pipes) with its name, its ARN (or name,
or URL for a queue) and a way to read its tags. Tags cost one request per resource, so they are read only for
the resources no stack records (`CloudResource.tags` is lazy). `record_name` gives the same name from a stack
record, so the two sides meet on (type, name).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Mapping

    ClientFor = Callable[[str, str], Any]  # (service, region) -> a boto3 client that can read the account

DEFAULT_BUS = "default"
BUCKET = "aws:s3/bucket:Bucket"
TABLE = "aws:dynamodb/table:Table"
QUEUE = "aws:sqs/queue:Queue"
TOPIC = "aws:sns/topic:Topic"
FUNCTION = "aws:lambda/function:Function"
ROLE = "aws:iam/role:Role"
BUS = "aws:cloudwatch/eventBus:EventBus"
RULE = "aws:cloudwatch/eventRule:EventRule"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
PIPE = "aws:pipes/pipe:Pipe"
# Roles AWS makes and keeps for its services: never the project's, whatever their names.
_SERVICE_ROLE_PATH = "/aws-service-role/"
_NO_TAGS = ("NoSuchTagSet", "NoSuchTagSetError", "ResourceNotFoundException", "NoSuchEntity", "NotFound")


@dataclass(frozen=True)
class CloudResource:
    """One resource found in the cloud: `name` as the project names it, `physical` its ARN (a queue's URL)."""

    type: str
    name: str
    physical: str
    region: str
    read_tags: Callable[[], Mapping[str, str]] = field(compare=False, repr=False)

    def tags(self) -> dict[str, str]:
        try:
            return {str(key): str(value) for key, value in self.read_tags().items()}
        except ClientError as err:
            if err.response.get("Error", {}).get("Code") in _NO_TAGS:
                return {}
            raise


def _tag_list(tags: Iterable[Mapping[str, str]] | None) -> dict[str, str]:
    return {str(tag["Key"]): str(tag["Value"]) for tag in tags or []}


def _pages(call: Callable[..., dict[str, Any]], key: str, token: str = "NextToken", **kwargs: Any) -> Iterator[Any]:
    """Every item under `key` of a list call that pages with `token` (for calls botocore has no paginator for)."""
    while True:
        page = call(**kwargs)
        yield from page.get(key, [])
        if not page.get(token):
            return
        kwargs[token] = page[token]


def _bucket_tags(s3: Any, name: str) -> dict[str, str]:
    return _tag_list(s3.get_bucket_tagging(Bucket=name)["TagSet"])


def _table_tags(dynamodb: Any, name: str) -> dict[str, str]:
    arn = dynamodb.describe_table(TableName=name)["Table"]["TableArn"]
    return _tag_list(dynamodb.list_tags_of_resource(ResourceArn=arn).get("Tags"))


def _queue_tags(sqs: Any, url: str) -> dict[str, str]:
    return dict(sqs.list_queue_tags(QueueUrl=url).get("Tags") or {})


def _topic_tags(sns: Any, arn: str) -> dict[str, str]:
    return _tag_list(sns.list_tags_for_resource(ResourceArn=arn).get("Tags"))


def _function_tags(lambda_: Any, arn: str) -> dict[str, str]:
    return dict(lambda_.list_tags(Resource=arn).get("Tags") or {})


def _role_tags(iam: Any, name: str) -> dict[str, str]:
    return _tag_list(iam.list_role_tags(RoleName=name).get("Tags"))


def _events_tags(events: Any, arn: str) -> dict[str, str]:
    return _tag_list(events.list_tags_for_resource(ResourceARN=arn).get("Tags"))


def _log_group_tags(logs: Any, name: str) -> dict[str, str]:
    return dict(logs.list_tags_log_group(logGroupName=name).get("tags") or {})


def _pipe_tags(pipes: Any, name: str) -> dict[str, str]:
    return dict(pipes.describe_pipe(Name=name).get("Tags") or {})


def buckets(client_for: ClientFor, region: str) -> Iterator[CloudResource]:
    s3 = client_for("s3", region)
    for bucket in s3.list_buckets().get("Buckets", []):
        name = str(bucket["Name"])
        yield CloudResource(BUCKET, name, name, region, partial(_bucket_tags, s3, name))


def tables(client_for: ClientFor, region: str) -> Iterator[CloudResource]:
    dynamodb = client_for("dynamodb", region)

    for page in dynamodb.get_paginator("list_tables").paginate():
        for name in page.get("TableNames", []):
            yield CloudResource(TABLE, name, name, region, partial(_table_tags, dynamodb, name))


def queues(client_for: ClientFor, region: str) -> Iterator[CloudResource]:
    sqs = client_for("sqs", region)
    for page in sqs.get_paginator("list_queues").paginate():
        for url in page.get("QueueUrls", []):
            name = url.rstrip("/").rsplit("/", 1)[-1]
            yield CloudResource(QUEUE, name, url, region, partial(_queue_tags, sqs, url))


def topics(client_for: ClientFor, region: str) -> Iterator[CloudResource]:
    sns = client_for("sns", region)
    for page in sns.get_paginator("list_topics").paginate():
        for topic in page.get("Topics", []):
            arn = str(topic["TopicArn"])
            yield CloudResource(
                TOPIC,
                arn.rsplit(":", 1)[-1],
                arn,
                region,
                partial(_topic_tags, sns, arn),
            )


def functions(client_for: ClientFor, region: str) -> Iterator[CloudResource]:
    lambda_ = client_for("lambda", region)
    for page in lambda_.get_paginator("list_functions").paginate():
        for function in page.get("Functions", []):
            arn = str(function["FunctionArn"])
            yield CloudResource(FUNCTION, function["FunctionName"], arn, region, partial(_function_tags, lambda_, arn))


def roles(client_for: ClientFor, region: str) -> Iterator[CloudResource]:
    iam = client_for("iam", region)
    for page in iam.get_paginator("list_roles").paginate():
        for role in page.get("Roles", []):
            if str(role.get("Path", "/")).startswith(_SERVICE_ROLE_PATH):
                continue
            name = str(role["RoleName"])
            yield CloudResource(ROLE, name, role["Arn"], region, partial(_role_tags, iam, name))


def event_buses(client_for: ClientFor, region: str) -> Iterator[CloudResource]:
    events = client_for("events", region)
    for bus in _pages(events.list_event_buses, "EventBuses"):
        if bus["Name"] == DEFAULT_BUS:
            continue
        arn = str(bus["Arn"])
        yield CloudResource(BUS, bus["Name"], arn, region, partial(_events_tags, events, arn))


def rule_name(bus: str, rule: str) -> str:
    """A rule's name in the report: its own on the default bus, `bus/rule` on another (as the provider's id)."""
    return rule if bus == DEFAULT_BUS else f"{bus}/{rule}"


def rules(client_for: ClientFor, region: str, buses: Iterable[str]) -> Iterator[CloudResource]:
    """The rules of the default bus and of `buses`."""
    events = client_for("events", region)
    for bus in [DEFAULT_BUS, *buses]:
        for rule in _pages(events.list_rules, "Rules", EventBusName=bus):
            arn = str(rule["Arn"])
            yield CloudResource(
                RULE,
                rule_name(bus, rule["Name"]),
                arn,
                region,
                partial(_events_tags, events, arn),
            )


def log_groups(client_for: ClientFor, region: str) -> Iterator[CloudResource]:
    logs = client_for("logs", region)
    for page in logs.get_paginator("describe_log_groups").paginate():
        for group in page.get("logGroups", []):
            name = str(group["logGroupName"])
            arn = str(group.get("arn") or name).removesuffix(":*")
            yield CloudResource(LOG_GROUP, name, arn, region, partial(_log_group_tags, logs, name))


def pipes(client_for: ClientFor, region: str) -> Iterator[CloudResource]:
    client = client_for("pipes", region)
    for pipe in _pages(client.list_pipes, "Pipes"):
        name = str(pipe["Name"])
        yield CloudResource(PIPE, name, pipe["Arn"], region, partial(_pipe_tags, client, name))


# Every kind listed without help; rules come after buses, which they need (see `rules`).
LISTERS: tuple[Callable[[ClientFor, str], Iterator[CloudResource]], ...] = (
    buckets,
    tables,
    queues,
    topics,
    functions,
    roles,
    event_buses,
    log_groups,
    pipes,
)
KINDS = (BUCKET, TABLE, QUEUE, TOPIC, FUNCTION, ROLE, BUS, RULE, LOG_GROUP, PIPE)


def record_name(record: Mapping[str, Any]) -> str:
    """The name `CloudResource.name` gives the same resource, from a stack record (its provider id)."""
    type_, id_ = str(record["type"]), str(record.get("id") or "")
    if type_ == QUEUE:
        return id_.rstrip("/").rsplit("/", 1)[-1]
    if type_ == TOPIC:
        return id_.rsplit(":", 1)[-1]
    if type_ == RULE:
        bus, _, rule = id_.rpartition("/")
        return rule_name(bus or DEFAULT_BUS, rule)
    return id_
