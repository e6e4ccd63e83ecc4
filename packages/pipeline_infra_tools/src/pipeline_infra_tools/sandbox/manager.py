"""The sandbox's lifecycle: `up` (start or reuse the emulator), `down` and `status`."""

from __future__ import annotations

import json
import shutil
import time
import urllib.request
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pipeline_infra_tools.sandbox.clients import emulator_client, emulator_session
from pipeline_infra_tools.sandbox.deliveries import refusal_counts
from pipeline_infra_tools.sandbox.emulator.accounts import set_up_account
from pipeline_infra_tools.sandbox.exceptions import SandboxError
from pipeline_infra_tools.sandbox.lambda_runtime import process as runtime
from pipeline_infra_tools.sandbox.server import answers, is_server_process, start_server, stop_server
from pipeline_infra_tools.sandbox.state import SandboxState, SandboxStateFile
from pipeline_infra_tools.workspace import command_prefix

if TYPE_CHECKING:
    from pathlib import Path

    from pipeline_infra.settings import Settings

DEFAULT_REGION = "us-east-1"
ADMIN_USER = "sandbox-admin"
ADMIN_POLICY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
# Any key pair works while the emulator does not enforce IAM; these bootstrap the administrator user.
BOOTSTRAP_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


@dataclass(frozen=True)
class SandboxStatus:
    running: bool
    state: SandboxState | None
    state_path: Path

    def to_json(self) -> dict[str, Any]:
        if self.state is None or not self.running:
            return {"running": False, "state_file": str(self.state_path)}
        state = self.state
        return {
            "running": True,
            "endpoint": state.endpoint,
            "pid": state.pid,
            "port": state.port,
            "region": state.region,
            "access_key_id": state.access_key_id,
            "secret_access_key": state.secret_access_key,
            "accounts": self.accounts(),
            "stacks": state.stacks,
            "state_file": str(self.state_path),
            "logs": [str(path) for path in self.log_paths],
            "refused_deliveries": refusal_counts(self.log_paths, since=state.started_at),
        }

    def accounts(self) -> list[dict[str, Any]]:
        """Every account in use, with its administrator's keys: the administrator's own first, then each account
        an environment was set up in, with its environments, regions and deployment role."""
        assert self.state is not None
        state = self.state
        own = {"account_id": state.admin_account, "administrator": True, **state.credentials()}
        others = [
            {"account_id": account, "administrator": False, **details}
            for account, details in sorted(state.accounts.items())
            if account != state.admin_account
        ]
        return [own, *others]

    @property
    def log_paths(self) -> list[Path]:
        """The emulator's log and the runtime's: where every refused delivery is written."""
        state_dir = self.state_path.parent
        return [SandboxStateFile(state_dir).log_path, state_dir / runtime.LOG_FILE]


class Sandbox:
    """One emulator per workspace, recorded under `<root>/.pipeline/`."""

    def __init__(self, state_dir: Path, region: str = DEFAULT_REGION) -> None:
        self.files = SandboxStateFile(state_dir)
        self.region = region

    def status(self) -> SandboxStatus:
        state = self.files.load()
        running = state is not None and is_server_process(state.pid) and answers(state.endpoint)
        return SandboxStatus(running=running, state=state, state_path=self.files.path)

    def up(self) -> tuple[SandboxState, bool]:
        """The running sandbox, started first if needed; the flag says whether it was started now."""
        current = self.status()
        if current.running and current.state is not None:
            runtime.start(self.files.state_dir)  # no-op when it is running; restarts one that died
            return current.state, False
        if current.state is not None:
            # The recorded emulator is gone; its resources died with it (moto keeps state in memory).
            self._forget(current.state)
        server = start_server(self.files.log_path)
        try:
            access_key_id, secret_access_key = _create_admin(server.endpoint, self.region)
            _enforce_iam(server.endpoint)
        except Exception:
            stop_server(server.pid)
            raise
        state = SandboxState(
            endpoint=server.endpoint,
            pid=server.pid,
            port=server.port,
            region=self.region,
            access_key_id=access_key_id,
            secret_access_key=secret_access_key,
            started_at=time.time(),
        )
        self.files.save(state)
        runtime.start(self.files.state_dir)
        return state, True

    def set_up_accounts(self, settings: Settings) -> SandboxState:
        """Set up, in the running emulator, every account the settings' environments live in: its administrator
        and the deployment role settings name (what an organization's account setup does before any deploy)."""
        state = self.files.load()
        if state is None:
            raise SandboxError(f"the sandbox is not running; start it with `{command_prefix()} sandbox up`")
        wanted: dict[str, dict[str, Any]] = {}
        for name in settings.project.environments:
            env = settings.env(name)
            entry = wanted.setdefault(env.account_id, {"environments": [], "regions": [], "deployment_role_arn": None})
            entry["environments"].append(name)
            if env.region not in entry["regions"]:
                entry["regions"].append(env.region)
            if env.deployment is not None:
                entry["deployment_role_arn"] = env.deployment.role_arn
        changed = False
        for account, entry in wanted.items():
            recorded = state.accounts.get(account)
            if recorded is not None and all(recorded.get(k) == v for k, v in entry.items()):
                continue
            if account == state.admin_account and entry["deployment_role_arn"] is None:
                continue
            role = entry["deployment_role_arn"]
            made = set_up_account(
                state.endpoint,
                account,
                role.split(":role/", 1)[1].rsplit("/", 1)[-1] if role else None,
                settings.project.organization_id,
            )
            state.accounts[account] = {
                "access_key_id": made["access_key_id"],
                "secret_access_key": made["secret_access_key"],
                **entry,
            }
            changed = True
        if changed:
            self.files.save(state)
        return state

    def down(self) -> bool:
        """Stop the emulator and forget what was deployed to it; False when none was running."""
        runtime.stop(self.files.state_dir)
        state = self.files.load()
        if state is None:
            return False
        stopped = stop_server(state.pid)
        self._forget(state)
        return stopped

    def _forget(self, state: SandboxState) -> None:
        # Saved stacks describe resources in the stopped emulator; keeping them would let StackReferences
        # and preconditions believe stacks exist that do not.
        shutil.rmtree(self.files.stacks_dir, ignore_errors=True)
        # So is what the runtime was delivering from it, and where its Pipes had got to.
        for name in runtime.RUNTIME_STATE_FILES:
            (self.files.state_dir / name).unlink(missing_ok=True)
        self.files.clear()


def _enforce_iam(endpoint: str) -> None:
    """From here on every request is checked against IAM: handlers run with their roles' permissions only.

    The emulator takes the number of requests to let through unchecked; 0 enforces at once. It must be sent
    as text/plain (a form-encoded body makes the emulator fail).
    """
    request = urllib.request.Request(
        f"{endpoint}/moto-api/reset-auth", data=b"0", method="POST", headers={"Content-Type": "text/plain"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        response.read()


def _create_admin(endpoint: str, region: str) -> tuple[str, str]:
    """An IAM user allowed everything, so its key keeps working if IAM enforcement is turned on later."""
    session = emulator_session(
        BOOTSTRAP_CREDENTIALS["aws_access_key_id"], BOOTSTRAP_CREDENTIALS["aws_secret_access_key"], region
    )
    iam = emulator_client(session, "iam", endpoint)
    iam.create_user(UserName=ADMIN_USER)
    iam.put_user_policy(UserName=ADMIN_USER, PolicyName="administrator", PolicyDocument=json.dumps(ADMIN_POLICY))
    key = iam.create_access_key(UserName=ADMIN_USER)["AccessKey"]
    return key["AccessKeyId"], key["SecretAccessKey"]
