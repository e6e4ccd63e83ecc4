"""Fault injection at the emulator, for reliability tests: throttling, 5xx errors, duplicate and late deliveries.

AWS throttles (S3 `SlowDown`, DynamoDB `ProvisionedThroughputExceededException`, `ThrottlingException`
elsewhere), fails with 5xx now and then, and SQS delivers at least once and in no guaranteed order; moto does
none of this. `install()`, run in the emulator process, puts rules in front of moto, set through a control API:
`POST/GET/DELETE {endpoint}/sandbox-api/faults[/ID]` (README, "Reliability suite"). An error rule answers a
share of the requests it selects (by the service in the credential scope, a substring of the request, and
whether the key is an assumed role's) with the error, in the protocol the client speaks; a delivery rule
enqueues SQS messages twice or holds them back. The control API and `/moto-api/` are never faulted; with no
rule set a request costs one lookup.
"""

from __future__ import annotations

import inspect
import io
import json
import math
import random
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pipeline_infra_tools.sandbox.exceptions import SandboxError

if TYPE_CHECKING:
    from collections.abc import Callable

CONTROL_PATH = "/sandbox-api/faults"
KINDS = ("error", "duplicate", "reorder")
PRINCIPALS = ("any", "roles-only", "users-only")
# The status AWS answers each error with; botocore's retry modes decide by the code and the status.
ERRORS = {
    "SlowDown": 503,
    "ProvisionedThroughputExceededException": 400,
    "ThrottlingException": 400,
    "Throttling": 400,
    "RequestLimitExceeded": 400,
    "InternalError": 500,
    "InternalServerError": 500,
    "ServiceUnavailable": 503,
}
FIELDS = {"kind", "service", "error", "rate", "match", "principal", "seconds", "queue_prefix", "max_delay_seconds"}
# How the emulator's signing names differ from the services they stand for (moto's own aliases).
SIGNING_ALIASES = {"eventbridge": "events"}
MAX_DELAY_SECONDS = 900.0  # SQS's own limit on a message's delay
DYNAMODB_ERROR_PREFIX = "com.amazonaws.dynamodb.v20120810#"


class FaultRuleError(SandboxError):
    """A fault rule the control API cannot take; the message names the field and what was expected."""


@dataclass
class FaultRule:
    kind: str
    rate: float
    service: str | None = None
    error: str | None = None
    match: str | None = None
    principal: str = "any"
    seconds: float | None = None
    queue_prefix: str = ""
    max_delay_seconds: float = 2.0
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    created: float = field(default_factory=time.monotonic)
    injected: int = 0

    @classmethod
    def from_json(cls, data: Any) -> FaultRule:
        if not isinstance(data, dict):
            raise FaultRuleError(f"a fault rule is a JSON object, got {data!r}")
        unknown = sorted(set(data) - FIELDS)
        if unknown:
            raise FaultRuleError(f"unknown field(s) {unknown}; a rule has {sorted(FIELDS)}")
        kind = data.get("kind", "error")
        if kind not in KINDS:
            raise FaultRuleError(f"kind: {kind!r} is not one of {list(KINDS)}")
        rate = data.get("rate", 1.0)
        if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0.0 <= rate <= 1.0:
            raise FaultRuleError(f"rate: expected a number from 0.0 to 1.0, got {rate!r}")
        error = data.get("error")
        if kind == "error" and error not in ERRORS:
            raise FaultRuleError(f"error: {error!r} is not one of {sorted(ERRORS)}")
        principal = data.get("principal", "any")
        if principal not in PRINCIPALS:
            raise FaultRuleError(f"principal: {principal!r} is not one of {list(PRINCIPALS)}")
        seconds = _positive(data, "seconds", None)
        delay = _positive(data, "max_delay_seconds", 2.0)
        if delay is not None and delay > MAX_DELAY_SECONDS:
            raise FaultRuleError(f"max_delay_seconds: at most {MAX_DELAY_SECONDS:.0f} (SQS's limit), got {delay}")
        for name in ("service", "match", "queue_prefix"):
            if data.get(name) is not None and not isinstance(data[name], str):
                raise FaultRuleError(f"{name}: expected a string, got {data[name]!r}")
        service = data.get("service")
        return cls(
            kind=kind,
            rate=float(rate),
            service=service.lower() if service and service != "*" else None,
            error=error if kind == "error" else None,
            match=data.get("match") or None,
            principal=principal,
            seconds=seconds,
            queue_prefix=data.get("queue_prefix") or "",
            max_delay_seconds=delay or 2.0,
        )

    def expired(self, now: float) -> bool:
        return self.seconds is not None and now >= self.created + self.seconds

    def matches_request(self, request: RequestInfo) -> bool:
        if self.kind != "error" or (self.service is not None and self.service != request.service):
            return False
        if self.principal != "any" and (self.principal == "roles-only") != request.assumed_role:
            return False
        return self.match is None or self.match in request.description

    def matches_queue(self, queue_name: str) -> bool:
        return self.kind != "error" and not queue_name.endswith(".fifo") and queue_name.startswith(self.queue_prefix)

    def to_json(self, now: float) -> dict[str, Any]:
        shown: dict[str, Any] = {"id": self.id, "kind": self.kind, "rate": self.rate, "principal": self.principal}
        if self.kind == "error":
            shown.update(service=self.service or "*", error=self.error, match=self.match)
        else:
            shown["queue_prefix"] = self.queue_prefix
        if self.kind == "reorder":
            shown["max_delay_seconds"] = self.max_delay_seconds
        remaining = None if self.seconds is None else max(0.0, self.created + self.seconds - now)
        shown.update(seconds=self.seconds, remaining_seconds=remaining, active=not self.expired(now))
        shown["injected"] = self.injected
        return shown


def _positive(data: dict[str, Any], name: str, default: float | None) -> float | None:
    value = data.get(name, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise FaultRuleError(f"{name}: expected a number above 0, got {value!r}")
    return float(value)


@dataclass(frozen=True)
class RequestInfo:
    """What a rule can select a request by."""

    service: str | None
    assumed_role: bool
    description: str
    action: str = ""  # the query protocol's Action (JSON and REST protocols name theirs elsewhere)


class FaultTable:
    """The rules in force; every decision draws from one random generator under one lock."""

    def __init__(self, seed: int | None = None) -> None:
        self._rules: list[FaultRule] = []
        self._lock = threading.Lock()
        self._random = random.Random(seed)

    def add(self, rules: list[FaultRule]) -> None:
        with self._lock:
            self._rules.extend(rules)

    def remove(self, rule_id: str | None = None) -> int:
        with self._lock:
            kept = [r for r in self._rules if rule_id is not None and r.id != rule_id]
            removed, self._rules = len(self._rules) - len(kept), kept
            return removed

    def listing(self) -> list[dict[str, Any]]:
        now = time.monotonic()
        with self._lock:
            return [rule.to_json(now) for rule in self._rules]

    def has_error_rules(self) -> bool:
        # Read without the lock: a rule added a moment ago applies from the next request on.
        now = time.monotonic()
        return any(rule.kind == "error" and not rule.expired(now) for rule in self._rules)

    def error_for(self, request: RequestInfo) -> FaultRule | None:
        """The first rule that matches the request and fires for it (its count goes up), if any."""
        return self._fire(lambda rule: rule.matches_request(request))

    def deliveries_for(self, queue_name: str) -> list[FaultRule]:
        """Every delivery rule for the queue that fires for this message."""
        fired = [self._fire(_of_kind(kind, queue_name)) for kind in ("duplicate", "reorder")]
        return [rule for rule in fired if rule is not None]

    def delay_seconds(self, rule: FaultRule) -> float:
        with self._lock:
            return self._random.uniform(rule.max_delay_seconds / 10, rule.max_delay_seconds)

    def _fire(self, selects: Callable[[FaultRule], bool]) -> FaultRule | None:
        if not self._rules:
            return None
        now = time.monotonic()
        with self._lock:
            for rule in self._rules:
                if rule.expired(now) or not selects(rule):
                    continue
                if rule.rate >= 1.0 or self._random.random() < rule.rate:
                    rule.injected += 1
                    return rule
        return None


def _of_kind(kind: str, queue_name: str) -> Callable[[FaultRule], bool]:
    return lambda rule: rule.kind == kind and rule.matches_queue(queue_name)


FAULTS = FaultTable()


def describe_request(environ: dict[str, Any]) -> RequestInfo:
    """The service from the credential scope (`Credential=AKID/DATE/REGION/SERVICE/aws4_request`), whether the key
    is an assumed role's, and the text `match` is searched in. A form body is read and put back for moto."""
    query = environ.get("QUERY_STRING", "")
    authorization = environ.get("HTTP_AUTHORIZATION", "")
    if "Credential=" in authorization:
        scope = authorization.split("Credential=", 1)[1].split(",", 1)[0].strip()
    else:  # a presigned URL carries its scope in the query
        scope = urllib.parse.parse_qs(query).get("X-Amz-Credential", [""])[0]
    parts = scope.split("/")
    service = SIGNING_ALIASES.get(parts[3].lower(), parts[3].lower()) if len(parts) == 5 else None
    action = urllib.parse.parse_qs(query).get("Action", [""])[0]
    if not action and environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
        body = _read_body(environ)
        environ["wsgi.input"] = io.BytesIO(body)
        action = urllib.parse.parse_qs(body.decode("utf-8", errors="replace")).get("Action", [""])[0]
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    path = environ.get("PATH_INFO", "")
    description = f"{environ.get('REQUEST_METHOD', '')} {path}?{query} {target} Action={action}"
    return RequestInfo(service, parts[0].startswith("ASIA"), description, action)


def _read_body(environ: dict[str, Any]) -> bytes:
    stream = environ.get("wsgi.input")
    if stream is None:
        return b""
    if environ.get("wsgi.input_terminated"):  # chunked: read to its end
        return bytes(stream.read())
    length = int(environ.get("CONTENT_LENGTH") or 0)
    return bytes(stream.read(length)) if length else b""


def error_response(
    rule: FaultRule, request: RequestInfo, environ: dict[str, Any]
) -> tuple[int, list[tuple[str, str]], bytes]:
    """The error as the service's protocol carries it: S3's REST-XML `<Error>`, the JSON protocols' `__type`
    (DynamoDB's namespaced), the query protocol's `<ErrorResponse>`, REST-JSON's `x-amzn-ErrorType` header."""
    code = str(rule.error)
    status = ERRORS[code]
    message = f"sandbox fault injection ({rule.id}): {code}"
    request_id = uuid.uuid4().hex
    headers = [("x-amzn-RequestId", request_id), ("x-amz-request-id", request_id)]
    if request.service == "s3":
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{code}</Code><Message>{message}</Message><RequestId>{request_id}</RequestId></Error>"
        ).encode()
        headers.append(("Content-Type", "application/xml"))
    elif environ.get("HTTP_X_AMZ_TARGET"):
        typed = DYNAMODB_ERROR_PREFIX + code if request.service == "dynamodb" else code
        body = json.dumps({"__type": typed, "message": message}).encode()
        headers.append(("Content-Type", environ.get("CONTENT_TYPE") or "application/x-amz-json-1.0"))
    elif environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
        party = "Receiver" if status >= 500 else "Sender"
        body = (
            f"<ErrorResponse><Error><Type>{party}</Type><Code>{code}</Code><Message>{message}</Message></Error>"
            f"<RequestId>{request_id}</RequestId></ErrorResponse>"
        ).encode()
        headers.append(("Content-Type", "text/xml"))
    else:
        body = json.dumps({"__type": code, "message": message}).encode()
        headers += [("Content-Type", "application/json"), ("x-amzn-ErrorType", code)]
    if environ.get("REQUEST_METHOD") == "HEAD":
        body = b""
    return status, [*headers, ("Content-Length", str(len(body)))], body


def _status_line(status: int) -> str:
    from http import HTTPStatus

    return f"{status} {HTTPStatus(status).phrase}"


def _control(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    method = environ.get("REQUEST_METHOD", "GET")
    rule_id = environ.get("PATH_INFO", "")[len(CONTROL_PATH) :].strip("/") or None
    status, answer = 200, dict[str, Any]()
    try:
        if method == "POST":
            data = json.loads(_read_body(environ) or b"[]")
            listed = data.get("rules") if isinstance(data, dict) and "rules" in data else data
            rules = [FaultRule.from_json(d) for d in (listed if isinstance(listed, list) else [listed])]
            FAULTS.add(rules)
            now = time.monotonic()
            answer = {"rules": [rule.to_json(now) for rule in rules]}
        elif method == "DELETE":
            answer = {"removed": FAULTS.remove(rule_id)}
        elif method == "GET":
            answer = {"rules": FAULTS.listing()}
        else:
            status, answer = 405, {"error": f"{method} is not supported; use GET, POST or DELETE"}
    except (FaultRuleError, ValueError) as error:
        status, answer = 400, {"error": str(error)}
    body = json.dumps(answer).encode()
    start_response(_status_line(status), [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


def _faulted_dispatch() -> None:
    """Every request passes the rules before moto sees it: the control API is answered here, an injected error
    is answered here (the request body drained, so a kept-alive connection stays in step), the rest go on."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    original = DomainDispatcherApplication.__call__

    def dispatch(self: DomainDispatcherApplication, environ: dict[str, Any], start_response: Any) -> Any:
        path = environ.get("PATH_INFO", "")
        if path == CONTROL_PATH or path.startswith(CONTROL_PATH + "/"):
            return _control(environ, start_response)
        if FAULTS.has_error_rules() and not path.startswith("/moto-api"):
            request = describe_request(environ)
            rule = FAULTS.error_for(request)
            if rule is not None:
                _read_body(environ)
                status, headers, body = error_response(rule, request, environ)
                start_response(_status_line(status), headers)
                return [body]
        return original(self, environ, start_response)

    DomainDispatcherApplication.__call__ = dispatch  # type: ignore[method-assign]


def _faulted_deliveries() -> None:
    """Every message SQS enqueues, whoever sends it, passes the delivery rules: a duplicate is enqueued again, a
    reordered one is held back (delayed as DelaySeconds would, to the millisecond) so later messages overtake it."""
    from moto.core.utils import unix_time_millis
    from moto.sqs.models import SQSBackend

    original = SQSBackend.send_message
    signature = inspect.signature(original)

    def send_message(self: SQSBackend, queue_name: str, *args: Any, **kwargs: Any) -> Any:
        fired = FAULTS.deliveries_for(queue_name)
        held = next((FAULTS.delay_seconds(r) for r in fired if r.kind == "reorder"), None)
        call = signature.bind(self, queue_name, *args, **kwargs)
        if held is not None and not call.arguments.get("delay_seconds"):  # a sender's own delay is kept as is
            # Enqueued already delayed (whole seconds), so no receiver can take it in between; then shortened.
            delayed = signature.bind(self, queue_name, *args, **kwargs)
            delayed.arguments["delay_seconds"] = math.ceil(held)
            message = original(*delayed.args, **delayed.kwargs)
            message.delayed_until = unix_time_millis() + held * 1000
        else:
            message = original(*call.args, **call.kwargs)
        if any(r.kind == "duplicate" for r in fired):
            original(*call.args, **call.kwargs)
        return message

    SQSBackend.send_message = send_message  # type: ignore[method-assign]


def install() -> None:
    """Put the control API and the fault rules in front of moto (the emulator process calls this once)."""
    _faulted_dispatch()
    _faulted_deliveries()


# -- The control API's client, for tests and harnesses -------------------------------------------------------------


def set_faults(endpoint: str, *rules: dict[str, Any]) -> list[dict[str, Any]]:
    """Add rules; returns them as the emulator holds them (with their ids)."""
    answer = _call(endpoint, "POST", {"rules": list(rules)})
    return list(answer["rules"])


def fault_rules(endpoint: str) -> list[dict[str, Any]]:
    """Every rule with how often it fired; expired rules stay listed, inactive."""
    return list(_call(endpoint, "GET")["rules"])


def clear_faults(endpoint: str, rule_id: str | None = None) -> int:
    return int(_call(endpoint, "DELETE", path=f"/{rule_id}" if rule_id else "")["removed"])


def _call(endpoint: str, method: str, payload: Any = None, path: str = "") -> dict[str, Any]:
    data = None if payload is None else json.dumps(payload).encode()
    request = urllib.request.Request(
        endpoint + CONTROL_PATH + path, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            answer: dict[str, Any] = json.loads(response.read())
            return answer
    except urllib.error.HTTPError as error:
        raise FaultRuleError(f"{method} {CONTROL_PATH}{path}: {error.read().decode(errors='replace')}") from error


__all__ = [
    "CONTROL_PATH",
    "ERRORS",
    "FAULTS",
    "FaultRule",
    "FaultRuleError",
    "FaultTable",
    "RequestInfo",
    "clear_faults",
    "describe_request",
    "error_response",
    "fault_rules",
    "install",
    "set_faults",
]
