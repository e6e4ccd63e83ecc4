"""The sandbox's accounts: what an organization's account setup gives each AWS account before any deploy.

`POST {endpoint}/sandbox-api/accounts` with `{"account_id", "deployment_role_name", "organization_id"}` sets up
one account inside the emulator (idempotent): an administrator user with an access key (what `sandbox status`
hands out, for a user's own boto3 or AWS CLI), and the deployment role that settings name, trusting the
sandbox administrator of the administrator's account, as a company's CI role is trusted. It is done in the
emulator's process because IAM enforcement is on: nobody outside holds credentials in an account not yet set up.
The account's organization is remembered so trust policies that require `aws:PrincipalOrgID` can be decided.
"""

from __future__ import annotations

import json
import threading
import urllib.request
from typing import Any

CONTROL_PATH = "/sandbox-api/accounts"
ADMIN_USER = "sandbox-admin"
ADMIN_POLICY = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
# moto's default account: requests signed with keys it does not know are in it, so it is the administrator's.
ADMIN_ACCOUNT = "123456789012"
PARTITION = "aws"

_lock = threading.Lock()
ORGANIZATIONS: dict[str, str] = {}  # account id -> organization id, as set up
DEPLOYMENT_ROLE_ARNS: set[str] = set()  # sessions of these roles are the administrator deploying


def organization_of(account_id: str) -> str | None:
    return ORGANIZATIONS.get(account_id)


def is_deployment_session(access_key_id: str) -> bool:
    """Whether the key is a session of a deployment role (the administrator deploying through it)."""
    from moto.iam.models import get_account_id_from, iam_backends

    key = iam_backends[get_account_id_from(access_key_id)][PARTITION].access_keys.get(access_key_id)
    return getattr(key, "role_arn", None) in DEPLOYMENT_ROLE_ARNS


def set_up(account_id: str, deployment_role_name: str | None, organization_id: str | None) -> dict[str, Any]:
    from moto.iam.models import iam_backends

    with _lock:
        backend = iam_backends[account_id][PARTITION]
        if ADMIN_USER not in backend.users:
            backend.create_user("us-east-1", ADMIN_USER)
            backend.put_user_policy(ADMIN_USER, "administrator", ADMIN_POLICY)
            backend.create_access_key(ADMIN_USER)
        key = backend.users[ADMIN_USER].access_keys[0]
        role_arn = None
        if deployment_role_name:
            trust = {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": f"arn:aws:iam::{ADMIN_ACCOUNT}:user/{ADMIN_USER}"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
            existing = [r for r in backend.get_roles() if r.name == deployment_role_name]
            role = (
                existing[0]
                if existing
                else backend.create_role(
                    deployment_role_name, json.dumps(trust), "/", None, "pipeline-infra deployment role", [], "3600"
                )
            )
            backend.put_role_policy(deployment_role_name, "administrator", ADMIN_POLICY)
            role_arn = role.arn
            DEPLOYMENT_ROLE_ARNS.add(role.arn)
        if organization_id:
            ORGANIZATIONS[account_id] = organization_id
            ORGANIZATIONS.setdefault(ADMIN_ACCOUNT, organization_id)
        return {
            "account_id": account_id,
            "access_key_id": key.access_key_id,
            "secret_access_key": key.secret_access_key,
            "deployment_role_arn": role_arn,
        }


def answer(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        request = json.loads(environ["wsgi.input"].read(length) or b"{}")
        body = json.dumps(
            set_up(str(request["account_id"]), request.get("deployment_role_name"), request.get("organization_id"))
        ).encode()
        status = "200 OK"
    except (KeyError, ValueError, TypeError) as err:
        body, status = json.dumps({"error": f"bad account request: {err!r}"}).encode(), "400 Bad Request"
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


def serve_account_setup() -> None:
    """Answer the control path before moto sees the request."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    original = DomainDispatcherApplication.__call__

    def dispatch(self: DomainDispatcherApplication, environ: dict[str, Any], start_response: Any) -> Any:
        if environ.get("PATH_INFO", "") == CONTROL_PATH and environ.get("REQUEST_METHOD") == "POST":
            return answer(environ, start_response)
        return original(self, environ, start_response)

    DomainDispatcherApplication.__call__ = dispatch  # type: ignore[method-assign]


# -- The client ---------------------------------------------------------------------------------------------------


def set_up_account(
    endpoint: str, account_id: str, deployment_role_name: str | None, organization_id: str | None
) -> dict[str, Any]:
    """Set up one account in the emulator; returns its administrator's keys and the deployment role's ARN."""
    payload = {
        "account_id": account_id,
        "deployment_role_name": deployment_role_name,
        "organization_id": organization_id,
    }
    request = urllib.request.Request(
        endpoint + CONTROL_PATH,
        data=json.dumps(payload).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return dict(json.loads(response.read()))


__all__ = ["ADMIN_ACCOUNT", "organization_of", "serve_account_setup", "set_up_account"]
