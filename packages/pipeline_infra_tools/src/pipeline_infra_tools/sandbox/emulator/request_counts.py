"""Counts of the API calls the emulator answers, by service and action, split into reads and writes.

`GET {endpoint}/sandbox-api/requests` returns the counts since the emulator started (or since the last
`DELETE`); `DELETE` resets them. A deploy that changes nothing should make no write: the benchmark and the
tests check it here, where every client's calls arrive, rather than trusting the client's own account.
Calls are counted by caller: `role` (signed with an assumed role's key: the functions at work), `runtime` (the
local runtime playing AWS's own machinery: deliveries, EMF metrics, Pipes; marked in its user agent) and
`administrator` (deploys and operators, including a deploy through an account's deployment role), so a
deploy's writes are not confused with replication's.
"""

from __future__ import annotations

import json
import threading
import urllib.request
from collections import Counter
from typing import TYPE_CHECKING, Any

from pipeline_infra_tools.sandbox.clients import RUNTIME_USER_AGENT

if TYPE_CHECKING:
    from collections.abc import Callable

    from pipeline_infra_tools.sandbox.faults import RequestInfo

CONTROL_PATH = "/sandbox-api/requests"
# Query- and JSON-protocol actions that change nothing; any other action is a write. Taking a role's session
# changes nothing in the account either.
_READ_PREFIXES = (
    "Get",
    "List",
    "Describe",
    "Receive",
    "Query",
    "Scan",
    "BatchGet",
    "Head",
    "Lookup",
    "Search",
    "AssumeRole",
)
_READ_METHODS = ("GET", "HEAD")


def action_of(environ: dict[str, Any], form_action: str) -> tuple[str, bool]:
    """(action, is_write) of one request: the query or JSON protocol's action name, else the REST method."""
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    action = target.rsplit(".", 1)[-1] if target else form_action
    if action:
        return action, not action.startswith(_READ_PREFIXES)
    method = str(environ.get("REQUEST_METHOD", "GET"))
    return method, method not in _READ_METHODS


_DEPLOYMENT_SESSIONS: dict[str, bool] = {}


def caller_of(environ: dict[str, Any], assumed_role: bool) -> str:
    """A deployment role's session is the administrator deploying into another account, not a function."""
    if assumed_role and not _deployment_session(environ):
        return "role"
    return "runtime" if RUNTIME_USER_AGENT in environ.get("HTTP_USER_AGENT", "") else "administrator"


def _deployment_session(environ: dict[str, Any]) -> bool:
    authorization = environ.get("HTTP_AUTHORIZATION", "")
    if "Credential=" not in authorization:
        return False
    key = authorization.split("Credential=", 1)[1].split("/", 1)[0].strip()
    if key not in _DEPLOYMENT_SESSIONS:
        from pipeline_infra_tools.sandbox.emulator.accounts import is_deployment_session

        _DEPLOYMENT_SESSIONS[key] = is_deployment_session(key)
    return _DEPLOYMENT_SESSIONS[key]


class RequestCounts:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[tuple[str, str, str, bool]] = Counter()

    def add(self, caller: str, service: str, action: str, write: bool) -> None:
        with self._lock:
            self._counts[(caller, service, action, write)] += 1

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()

    def to_json(self) -> dict[str, Any]:
        with self._lock:
            counts = dict(self._counts)
        summary: dict[str, dict[str, int]] = {}
        for (caller, _service, _action, write), number in counts.items():
            side = summary.setdefault(caller, {"reads": 0, "writes": 0})
            side["writes" if write else "reads"] += number
        calls = [
            {"caller": caller, "service": service, "action": action, "write": write, "count": number}
            for (caller, service, action, write), number in sorted(counts.items())
        ]
        return {"summary": summary, "calls": calls}


COUNTS = RequestCounts()


def answer(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    if environ.get("REQUEST_METHOD") == "DELETE":
        COUNTS.reset()
        body = b"{}"
    else:
        body = json.dumps(COUNTS.to_json()).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


def count_every_request(describe: Callable[[dict[str, Any]], RequestInfo]) -> None:
    """Count each request before moto (and the fault rules) see it. `describe(environ)` gives the signing
    service, whether the key is an assumed role's, and the query protocol's action (reading a form body once)."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    original = DomainDispatcherApplication.__call__

    def dispatch(self: DomainDispatcherApplication, environ: dict[str, Any], start_response: Any) -> Any:
        path = environ.get("PATH_INFO", "")
        if path == CONTROL_PATH:
            return answer(environ, start_response)
        if not path.startswith(("/sandbox-api", "/moto-api")):
            request = describe(environ)
            action, write = action_of(environ, request.action)
            COUNTS.add(caller_of(environ, request.assumed_role), request.service or "unknown", action, write)
        return original(self, environ, start_response)

    DomainDispatcherApplication.__call__ = dispatch  # type: ignore[method-assign]


# -- The client, for benchmarks and tests ---------------------------------------------------------------------------


def request_counts(endpoint: str) -> dict[str, Any]:
    with urllib.request.urlopen(endpoint + CONTROL_PATH, timeout=10) as response:
        return dict(json.loads(response.read()))


def reset_request_counts(endpoint: str) -> None:
    request = urllib.request.Request(endpoint + CONTROL_PATH, method="DELETE")
    with urllib.request.urlopen(request, timeout=10) as response:
        response.read()


def administrator_writes(counts: dict[str, Any]) -> list[dict[str, Any]]:
    """The write calls made with the administrator's key, each with its count."""
    return [call for call in counts["calls"] if call["caller"] == "administrator" and call["write"]]


__all__ = ["administrator_writes", "count_every_request", "request_counts", "reset_request_counts"]
