"""The administrator's clients in every account and region the sandbox serves.

The emulator keys each request to the account of its credentials, so reading or changing something in dev's
account takes dev's administrator keys, in dev's region. Everything that acts as the administrator across
environments (the local runtime playing AWS's machinery, refresh, drift, status, destroy) asks here.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from pipeline_infra_tools.sandbox.clients import emulator_client, emulator_session

if TYPE_CHECKING:
    from botocore.config import Config

    from pipeline_infra_tools.sandbox.state import SandboxState


def arn_place(arn: str) -> tuple[str | None, str | None]:
    """(account, region) an ARN names; None where it names none (S3 buckets, IAM is global)."""
    parts = arn.split(":")
    if len(parts) < 6:
        return None, None
    return parts[4] or None, parts[3] or None


class AdminClients:
    """One client per (account, region, service), made on first use; thread-safe."""

    def __init__(self, state: SandboxState, config: Config | None = None) -> None:
        self.state = state
        self._config = config
        self._clients: dict[tuple[str, str, str], Any] = {}
        self._lock = threading.Lock()

    def client(self, service: str, account_id: str | None = None, region: str | None = None) -> Any:
        account = account_id or self.state.admin_account
        place = region or self.state.region
        key = (account, place, service)
        with self._lock:
            if key not in self._clients:
                keys = self.state.account_credentials(account)
                session = emulator_session(keys["access_key_id"], keys["secret_access_key"], place)
                self._clients[key] = emulator_client(session, service, self.state.endpoint, self._config)
            return self._clients[key]

    def for_arn(self, service: str, arn: str) -> Any:
        """The client of the account and region an ARN names (the administrator's own where it names none)."""
        account, region = arn_place(arn)
        return self.client(service, account, region)

    def close(self) -> None:
        with self._lock:
            for client in self._clients.values():
                client.close()
            self._clients.clear()


__all__ = ["AdminClients", "arn_place"]
