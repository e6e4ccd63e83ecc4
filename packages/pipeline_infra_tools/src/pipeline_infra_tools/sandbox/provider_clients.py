"""The credentials each stack's AWS provider would use, in the emulator: the deployment role it assumes, else
the keys of the account it allows.

The real provider assumes the roles in `assumeRoles` with the credentials it was given (here: the sandbox
administrator's) and refuses credentials whose account is not in `allowedAccountIds`; the local target does
the same, so resources land in the environment's own account and region and a provider pointed at the wrong
account fails as it would on AWS. Without `assumeRoles`, the credentials are the administrator's keys of the
allowed account (an operator's profile for that account).
"""

from __future__ import annotations

import dataclasses
import threading
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from pipeline_infra_tools.engine.backend import Placement
from pipeline_infra_tools.sandbox.exceptions import EmulatorRequestError
from pipeline_infra_tools.sandbox.resources.base import Clients, ResourceContext

if TYPE_CHECKING:
    from pipeline_infra_tools.sandbox.state import SandboxState

DEFAULT_SESSION_NAME = "pipeline-infra-deploy"


class ProviderClients:
    """Clients per placement (region, account, role), made once and kept; thread-safe."""

    def __init__(
        self,
        endpoint: str,
        region: str,
        admin_keys: dict[str, str],
        admin_account: str | None = None,
        accounts: dict[str, dict[str, str]] | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.region = region
        self._admin = admin_keys
        self._admin_account = admin_account
        self._accounts = dict(accounts or {})
        self._made: dict[Placement, tuple[Clients, str]] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_state(cls, state: SandboxState) -> ProviderClients:
        options = state.backend_options()
        return cls(state.endpoint, state.region, state.credentials(), options["admin_account"], options["accounts"])

    @classmethod
    def from_options(cls, options: dict[str, Any]) -> ProviderClients:
        keys = {"access_key_id": options["access_key_id"], "secret_access_key": options["secret_access_key"]}
        return cls(options["endpoint"], options["region"], keys, options.get("admin_account"), options.get("accounts"))

    def context(
        self, placement: Placement | None, tags: dict[str, str] | None = None, previous_id: str | None = None
    ) -> ResourceContext:
        where = placement or Placement()
        clients, account = self.clients(where)
        return ResourceContext(clients, where.region or self.region, account, tags or {}, previous_id)

    def clients(self, placement: Placement) -> tuple[Clients, str]:
        key = dataclasses.replace(placement, region=placement.region or self.region)
        with self._lock:
            if key not in self._made:
                self._made[key] = self._make(key)
            return self._made[key]

    def _make(self, placement: Placement) -> tuple[Clients, str]:
        region = placement.region or self.region
        admin = Clients.create(self.endpoint, region, self._admin["access_key_id"], self._admin["secret_access_key"])
        try:
            if placement.role_arn is not None:
                clients = self._assumed(admin, placement, region)
            else:
                clients = self._account_keys(admin, placement.account_id, region)
            account = str(clients.sts.get_caller_identity()["Account"])
        except (ClientError, BotoCoreError) as err:
            raise EmulatorRequestError(
                f"the AWS provider for {placement.account_id or 'the default account'} in {region} could not get "
                f"credentials{' by assuming ' + placement.role_arn if placement.role_arn else ''}: {err}"
            ) from err
        if placement.account_id is not None and account != placement.account_id:
            raise EmulatorRequestError(
                f"the AWS provider's credentials are for account {account}, but it allows only "
                f"{placement.account_id} (allowedAccountIds): check the environment's account_id and deployment "
                "role in the settings"
            )
        return clients, account

    def _assumed(self, admin: Clients, placement: Placement, region: str) -> Clients:
        assert placement.role_arn is not None
        request: dict[str, Any] = {
            "RoleArn": placement.role_arn,
            "RoleSessionName": placement.session_name or DEFAULT_SESSION_NAME,
        }
        if placement.external_id is not None:
            request["ExternalId"] = placement.external_id
        credentials = admin.sts.assume_role(**request)["Credentials"]
        return Clients.create(
            self.endpoint,
            region,
            credentials["AccessKeyId"],
            credentials["SecretAccessKey"],
            credentials["SessionToken"],
        )

    def _account_keys(self, admin: Clients, account_id: str | None, region: str) -> Clients:
        if account_id is None or account_id == self._admin_account or account_id not in self._accounts:
            return admin  # the allowed-account check names the mismatch when the account is another one
        keys = self._accounts[account_id]
        return Clients.create(self.endpoint, region, keys["access_key_id"], keys["secret_access_key"])

    def close(self) -> None:
        with self._lock:
            for clients, _ in self._made.values():
                for client in clients.by_service.values():
                    client.close()
            self._made.clear()


__all__ = ["ProviderClients"]
