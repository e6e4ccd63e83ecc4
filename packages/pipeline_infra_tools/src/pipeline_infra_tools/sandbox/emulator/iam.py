"""Emulator patches to IAM: what moto decides differently from AWS when it checks a request."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import unquote, urlparse


def unknown_conditions_do_not_deny() -> None:
    """Emulator gap: moto evaluates a policy statement as if its Condition held whenever the request carries no
    value for the condition's keys (it has no request context for bucket policies).

    The data bucket's TLS-only statement (Deny s3:* when aws:SecureTransport is false) therefore denies every
    object request, so nothing could be written to a deployed bucket. In AWS a condition on a key the request
    does not carry is false, and the sandbox's loopback HTTP endpoint stands in for AWS's TLS one. The stored
    policy stays exactly as declared; only evaluation changes: a Deny statement with a condition on keys the
    request does not carry does not apply. Allow statements keep moto's behaviour.
    """
    from moto.iam.access_control import IAMPolicyStatement, PermissionResult

    original = IAMPolicyStatement.is_action_permitted

    def is_action_permitted(
        self: IAMPolicyStatement,
        action: str,
        resource: str = "*",
        principal: str | None = None,
        incoming_condition_values: dict[str, str] | None = None,
    ) -> Any:
        statement = self._statement
        conditions = statement.get("Condition") or {}
        if statement.get("Effect") == "Deny" and conditions:
            known = incoming_condition_values or {}
            keys = [key for values in conditions.values() for key in values]
            if any(key not in known for key in keys):
                return PermissionResult.NEUTRAL
        return original(self, action, resource, principal, incoming_condition_values)

    IAMPolicyStatement.is_action_permitted = is_action_permitted  # type: ignore[method-assign]


ADMIN_USER_ARN_SUFFIX = ":user/sandbox-admin"


def get_requests_sign_no_body() -> None:
    """Emulator gap: with IAM enforcement on, every GET to a REST-JSON service (Lambda, Pipes, Scheduler) fails
    with SignatureDoesNotMatch: moto re-signs the request with the parsed query as its body, while the client
    signed an empty body. Re-sign GET/HEAD/DELETE requests that carry no body with an empty one, as AWS does.
    """
    from moto.iam.access_control import IAMRequestBase

    original = IAMRequestBase._create_aws_request

    def create_aws_request(self: IAMRequestBase) -> Any:
        request = original(self)
        if self._method in ("GET", "HEAD", "DELETE") and not self._body:
            request.data = b""
        return request

    IAMRequestBase._create_aws_request = create_aws_request  # type: ignore[method-assign]


def role_sessions_match_their_role() -> None:
    """Emulator gaps in trust policies, for `sts:AssumeRole` with IAM enforcement on.

    - A trust policy naming a role (`arn:aws:iam::A:role/R`) admits that role's sessions
      (`arn:aws:sts::A:assumed-role/R/S`) in AWS; moto compares the session ARN with the role ARN and denies.
      This is how prod's replicator assumes the writer roles of dev and staging.
    - A role in another account than the caller's was assumed without its trust policy being read (moto
      looks for the role in the caller's account); it is found in its own account and its trust decides.
    - AWS services assume execution roles through service principals (`lambda.amazonaws.com`,
      `pipes.amazonaws.com`); in the sandbox the local runtime plays those services with the sandbox
      administrator's key and names the service it plays as the session name. The administrator is admitted
      only where the role trusts that very service, so a role that trusts `pipes.amazonaws.com` cannot be
      taken on as a Lambda function's role, as in AWS.
    """
    from moto.iam.access_control import (
        REQUIRE_RESOURCE_ACCESS_POLICIES_CHECK,
        IAMPolicy,
        IAMRequestBase,
        PermissionResult,
    )
    from moto.iam.exceptions import NotFoundException
    from moto.iam.models import iam_backends

    def check_role_trust_relationship(self: IAMRequestBase, role_arn: str) -> bool:
        caller = self._access_key.arn
        # The role is in its own account, which may not be the caller's (moto looks in the caller's).
        role = iam_backends[role_arn.split(":")[4]]["aws"].get_role_by_arn(role_arn)
        trusted = [
            statement
            for statement in json.loads(role.assume_role_policy_document)["Statement"]
            if trust_conditions_hold(statement, caller, self._data)
        ]
        if caller.endswith(ADMIN_USER_ARN_SUFFIX):
            played = _request_value(self._data, "RoleSessionName")
            services = {
                service
                for s in trusted
                if s.get("Effect") == "Allow" and isinstance(s.get("Principal"), dict)
                for service in _as_list(s["Principal"].get("Service"))
            }
            if played in services:
                return True
        # moto compares principals only in statements that name AWS principals (a Service-only one crashes it).
        aws_statements = [s for s in trusted if isinstance(s.get("Principal"), dict) and "AWS" in s["Principal"]]
        if not aws_statements:
            return False
        trust = IAMPolicy(json.dumps({"Version": "2012-10-17", "Statement": aws_statements}))
        candidates = [caller]
        if ":assumed-role/" in caller:
            candidates.append(f"arn:aws:iam::{caller.split(':')[4]}:role/{caller.split('/')[1]}")
        return any(
            trust.is_action_permitted(self._action, role_arn, principal) == PermissionResult.PERMITTED
            for principal in candidates
        )

    def is_assuming_role_operation(self: IAMRequestBase, resource_arn: str) -> bool:
        # moto looks for the role in the caller's account only, so a role in another account was assumed without
        # its trust policy being read at all: look in the role's own account.
        if ":role" not in resource_arn.lower():
            return False
        try:
            iam_backends[resource_arn.split(":")[4]]["aws"].get_role_by_arn(resource_arn)
        except (NotFoundException, IndexError):
            return False
        return self._action in REQUIRE_RESOURCE_ACCESS_POLICIES_CHECK

    IAMRequestBase._check_role_trust_relationship = check_role_trust_relationship  # type: ignore[method-assign]
    IAMRequestBase._is_assuming_role_operation = is_assuming_role_operation  # type: ignore[method-assign]


# The trust-policy conditions the sandbox decides (moto decides none: a condition never holds there).
TRUST_CONDITION_KEYS = {"aws:PrincipalOrgID", "sts:ExternalId"}


def trust_conditions_hold(statement: dict[str, Any], caller_arn: str, request: Any) -> bool:
    """Whether a trust statement's conditions hold for this AssumeRole request; without conditions it applies
    as written. `aws:PrincipalOrgID` is the caller's account's organization (as the sandbox set it up) and
    `sts:ExternalId` the request's; any other condition does not hold, so the sandbox refuses rather than
    admits what it cannot decide. The statement comes back without its Condition when it applies."""
    conditions = statement.get("Condition")
    if not conditions:
        return True
    from pipeline_infra_tools.sandbox.emulator.accounts import organization_of

    given = {
        "aws:PrincipalOrgID": organization_of(caller_arn.split(":")[4]),
        "sts:ExternalId": _request_value(request, "ExternalId"),
    }
    for operator, values in conditions.items():
        if operator != "StringEquals" or not set(values) <= TRUST_CONDITION_KEYS:
            return False
        for key, expected in values.items():
            if given[key] is None or given[key] not in _as_list(expected):
                return False
    statement.pop("Condition")
    return True


def unknown_resources_are_checked_by_action() -> None:
    """Emulator gap: for DynamoDB, SNS, EventBridge, Pipes, CloudWatch and Logs moto checks a request against the
    resource `*` instead of the resource it names, so any Allow scoped to an ARN is denied and every role
    with least-privilege statements fails. Where the emulator does not know the resource, an Allow whose
    actions match is honoured: these services are checked by action in the sandbox, and each role's
    resource scoping is proven by evaluating its rendered policy per resource (tests/unit/test_iam_static.py).
    S3, SQS, IAM and STS requests carry their real resource and are unaffected, and so are the requests
    `requests_name_their_resource` names (tables, streams, topics, rules, Pipes).
    """
    from moto.iam.access_control import IAMPolicyStatement, PermissionResult

    original = IAMPolicyStatement.is_action_permitted

    def is_action_permitted(
        self: IAMPolicyStatement,
        action: str,
        resource: str = "*",
        principal: str | None = None,
        incoming_condition_values: dict[str, str] | None = None,
    ) -> Any:
        result = original(self, action, resource, principal, incoming_condition_values)
        statement = self._statement
        unknown_resource = resource == "*" and principal is None
        if result == PermissionResult.NEUTRAL and unknown_resource and statement.get("Effect") == "Allow":
            return original(self, action, _any_resource_of(statement), principal, incoming_condition_values)
        return result

    IAMPolicyStatement.is_action_permitted = is_action_permitted  # type: ignore[method-assign]


def requests_name_their_resource() -> None:
    """Emulator gap: DynamoDB, DynamoDB Streams and SNS requests are checked against the resource `*`, so a role
    allowed an action on one table or topic could use it on every other. Each request here names the resource
    AWS checks: the table (or its index) from `TableName` (and `IndexName`), the stream from `StreamArn` (or the
    shard iterator), the topic from `TopicArn`; EventBridge's rules and Pipes are named by
    `rules_and_pipes_name_their_resource`. Requests that name no single resource (ListTables, ListStreams,
    batch calls across tables) stay checked by action.
    """
    from moto.dynamodb.responses import DynamoHandler
    from moto.dynamodbstreams.responses import DynamoDBStreamsHandler
    from moto.sns.responses import SNSResponse

    def table_resource(self: DynamoHandler) -> str:
        body = self.body if isinstance(self.body, dict) else getattr(self, "params", {}) or {}
        table = body.get("TableName")
        if not isinstance(table, str) or not table:
            return "*"
        if table.startswith("arn:"):
            arn = table
        else:
            arn = f"arn:aws:dynamodb:{self.region}:{self.current_account}:table/{table}"
        index = body.get("IndexName")
        return f"{arn}/index/{index}" if isinstance(index, str) and index else arn

    def stream_resource(self: DynamoDBStreamsHandler) -> str:
        arn = self._get_param("StreamArn")
        if not arn:
            # The emulator's shard iterators begin with their stream's ARN.
            iterator = self._get_param("ShardIterator")
            arn = iterator.split("|", 1)[0] if isinstance(iterator, str) and "|" in iterator else None
        return arn if isinstance(arn, str) and arn else "*"

    def topic_resource(self: SNSResponse) -> str:
        arn = self._get_param("TopicArn")
        return arn if isinstance(arn, str) and arn else "*"

    DynamoHandler._determine_resource = table_resource  # type: ignore[attr-defined]
    DynamoDBStreamsHandler._determine_resource = stream_resource  # type: ignore[attr-defined]
    SNSResponse._determine_resource = topic_resource  # type: ignore[attr-defined]
    rules_and_pipes_name_their_resource()


# EventBridge actions on one rule, and the parameter that names it; every other EventBridge request (PutEvents,
# the List* calls) names no single rule and stays checked by action.
RULE_ACTIONS = {
    "DescribeRule": "Name",
    "EnableRule": "Name",
    "DisableRule": "Name",
    "DeleteRule": "Name",
    "PutRule": "Name",
    "ListTargetsByRule": "Rule",
    "PutTargets": "Rule",
    "RemoveTargets": "Rule",
}
_PIPE_PATH = re.compile(r"^/v1/pipes/(?P<name>[^/]+)(?:/(?:start|stop))?$")
_DEFAULT_BUS = "default"


def rules_and_pipes_name_their_resource() -> None:
    """Emulator gap: EventBridge and Pipes requests are checked against the resource `*`, so a role allowed to
    describe one rule or Pipe could describe (or switch off) every other. A request on one rule names the rule's
    ARN (`rule/<name>` on the default bus, `rule/<bus>/<name>` on another, as AWS writes it) and a request on
    one Pipe the Pipe's ARN (from its path `/v1/pipes/<name>`), so the drift checker's read-back of the
    replication paths is allowed on those and denied elsewhere, as in AWS.
    """
    from moto.events.responses import EventsHandler
    from moto.pipes.responses import EventBridgePipesResponse

    def rule_resource(self: EventsHandler) -> str:
        parameter = RULE_ACTIONS.get(self._get_action())
        name = self._get_param(parameter) if parameter else None
        if not isinstance(name, str) or not name:
            return "*"
        bus = self._get_param("EventBusName")
        bus_name = bus.rsplit("/", 1)[-1] if isinstance(bus, str) and bus else _DEFAULT_BUS
        on_bus = "" if bus_name == _DEFAULT_BUS else f"{bus_name}/"
        return f"arn:aws:events:{self.region}:{self.current_account}:rule/{on_bus}{name}"

    def pipe_resource(self: EventBridgePipesResponse) -> str:
        path = urlparse(self.uri).path
        if path.startswith("/tags/"):
            return unquote(path.removeprefix("/tags/"))
        found = _PIPE_PATH.match(path)
        if found is None:
            return "*"
        return f"arn:aws:pipes:{self.region}:{self.current_account}:pipe/{unquote(found['name'])}"

    EventsHandler._determine_resource = rule_resource  # type: ignore[attr-defined]
    EventBridgePipesResponse._determine_resource = pipe_resource  # type: ignore[attr-defined]


def _request_value(data: Any, name: str) -> str | None:
    value = (data or {}).get(name)
    if isinstance(value, list):
        value = value[0] if value else None
    return value if isinstance(value, str) else None


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _any_resource_of(statement: dict[str, Any]) -> str:
    resources = statement.get("Resource", "*")
    first = resources[0] if isinstance(resources, list) and resources else resources
    return str(first).replace("*", "x")
