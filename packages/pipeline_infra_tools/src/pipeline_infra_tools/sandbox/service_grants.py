"""Whether a resource policy lets an AWS service deliver to a resource, decided as AWS decides it.

The emulator has no notion of service principals: its own deliveries (EventBridge to SQS, SNS to SQS) are never
checked, and its policy evaluation ignores conditions such as `aws:SourceArn`. The sandbox plays those services,
so each delivery it makes or lets through is checked here first, against the resource policy AWS would check.

Written by hand because no maintained library evaluates resource policies offline with their conditions:
moto's evaluator ignores every condition operator but StringEquals, parliament and policy_sentry lint policies
without evaluating them. The subset here is what service deliveries need: Allow and Deny statements, `Principal`
as `*`, `{"AWS": "*"}` or `{"Service": ...}`, `Action`/`NotAction`, `Resource`/`NotResource` with wildcards, and
the String/Arn/Bool condition operators (with `IfExists`) on the keys a service request carries. A Deny with
anything else (an operator or key it cannot decide) refuses the delivery, and such an Allow grants nothing, so an
unknown policy never lets a delivery through that AWS might refuse.
"""

from __future__ import annotations

import fnmatch
import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ServiceRequest:
    """One delivery a service makes: who (the service principal), what, to which resource, on whose behalf."""

    service: str
    action: str
    resource: str
    source_arn: str
    source_account: str

    def context(self) -> dict[str, str]:
        # Services call over TLS, so a TLS-only statement never stops them.
        return {
            "aws:sourcearn": self.source_arn,
            "aws:sourceaccount": self.source_account,
            "aws:securetransport": "true",
        }


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str


class UndecidableStatement(Exception):
    """A statement uses a condition the evaluator cannot decide."""


def queue_policy_admitting(queue_arn: str, service: str, source_arn: str) -> dict[str, Any]:
    """The queue policy AWS requires before `service` sends to the queue on behalf of `source_arn` (a rule, a
    topic): the grant the sandbox's own queues (rule taps, the demo's inbox) carry, like any deployed queue."""
    statement = {
        "Sid": f"{service.split('.', maxsplit=1)[0]}-sends",
        "Effect": "Allow",
        "Principal": {"Service": service},
        "Action": "sqs:SendMessage",
        "Resource": queue_arn,
        "Condition": {"ArnEquals": {"aws:SourceArn": source_arn}},
    }
    return {"Version": "2012-10-17", "Statement": [statement]}


def decide(policy: str | dict[str, Any] | None, request: ServiceRequest) -> Decision:
    """Allowed only when some statement allows the request and none denies it (AWS's explicit-deny rule)."""
    if not policy:
        reason = f"{request.resource} has no resource policy, so {request.service} may not {request.action}"
        return Decision(False, reason)
    document = json.loads(policy) if isinstance(policy, str) else policy
    statements = document.get("Statement", [])
    allowed_by: str | None = None
    undecided: str | None = None
    for index, statement in enumerate(statements if isinstance(statements, list) else [statements]):
        label = str(statement.get("Sid") or f"statement {index}")
        try:
            applies = _applies(statement, request)
        except UndecidableStatement as err:
            if statement.get("Effect") == "Deny":
                return Decision(False, f"{label} cannot be evaluated ({err}); refused rather than guessed")
            # An Allow it cannot decide grants nothing here: another statement may still allow (the failure
            # topic's key lets the account's principals in on a KMS condition key no service request carries).
            undecided = undecided or f"{label} cannot be evaluated ({err}); refused rather than guessed"
            continue
        if applies and statement.get("Effect") == "Deny":
            return Decision(False, f"{label} denies {request.action} to {request.service}")
        if applies and statement.get("Effect") == "Allow":
            allowed_by = label
    if allowed_by is None and undecided is not None:
        return Decision(False, undecided)
    if allowed_by is None:
        return Decision(
            False,
            f"no statement of {request.resource}'s policy allows {request.service} to {request.action} "
            f"for {request.source_arn}",
        )
    return Decision(True, f"allowed by {allowed_by}")


def _applies(statement: dict[str, Any], request: ServiceRequest) -> bool:
    return (
        _principal_matches(statement, request.service)
        and _element_matches(statement, "Action", request.action, case_sensitive=False)
        and _element_matches(statement, "Resource", request.resource, case_sensitive=True)
        and _conditions_hold(statement.get("Condition") or {}, request.context())
    )


def _principal_matches(statement: dict[str, Any], service: str) -> bool:
    if "NotPrincipal" in statement:
        raise UndecidableStatement("NotPrincipal")
    principal = statement.get("Principal")
    if principal == "*":
        return True
    if not isinstance(principal, dict):
        return False
    if principal.get("AWS") == "*":
        return True
    return service in _as_list(principal.get("Service"))


def _element_matches(statement: dict[str, Any], name: str, value: str, *, case_sensitive: bool) -> bool:
    if name in statement:
        return any(_wildcard(pattern, value, case_sensitive) for pattern in _as_list(statement[name]))
    negated = "Not" + name
    if negated in statement:
        return not any(_wildcard(pattern, value, case_sensitive) for pattern in _as_list(statement[negated]))
    return False


def _wildcard(pattern: str, value: str, case_sensitive: bool) -> bool:
    if case_sensitive:
        return fnmatch.fnmatchcase(value, pattern)
    return fnmatch.fnmatchcase(value.lower(), pattern.lower())


POSITIVE_OPERATORS = {
    "StringEquals": lambda expected, actual: actual == expected,
    "StringEqualsIgnoreCase": lambda expected, actual: actual.lower() == expected.lower(),
    "StringLike": lambda expected, actual: fnmatch.fnmatchcase(actual, expected),
    "ArnEquals": lambda expected, actual: actual == expected,
    "ArnLike": lambda expected, actual: fnmatch.fnmatchcase(actual, expected),
    "Bool": lambda expected, actual: actual.lower() == str(expected).lower(),
}
NEGATED_OPERATORS = {
    "StringNotEquals": "StringEquals",
    "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
    "StringNotLike": "StringLike",
    "ArnNotEquals": "ArnEquals",
    "ArnNotLike": "ArnLike",
}


def _conditions_hold(conditions: dict[str, Any], context: dict[str, str]) -> bool:
    """Every operator's every key must hold; any of a key's values may match (AWS's OR within a key)."""
    for operator, keys in conditions.items():
        base, if_exists = (operator[: -len("IfExists")], True) if operator.endswith("IfExists") else (operator, False)
        for key, expected in keys.items():
            actual = context.get(key.lower())
            if actual is None and not key.lower().startswith("aws:"):
                raise UndecidableStatement(f"condition key {key}")
            if not _condition_holds(base, if_exists, [str(v) for v in _as_list(expected)], actual):
                return False
    return True


def _condition_holds(operator: str, if_exists: bool, expected: list[str], actual: str | None) -> bool:
    if operator in POSITIVE_OPERATORS:
        if actual is None:
            return if_exists
        return any(POSITIVE_OPERATORS[operator](value, actual) for value in expected)
    if operator in NEGATED_OPERATORS:
        if actual is None:
            # A negated operator holds when the key is absent: the value cannot equal what it must not be.
            return True
        return not any(POSITIVE_OPERATORS[NEGATED_OPERATORS[operator]](value, actual) for value in expected)
    if operator == "Null":
        return any((actual is None) == (value.lower() == "true") for value in expected)
    raise UndecidableStatement(f"condition operator {operator}")


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]
