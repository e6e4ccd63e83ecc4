"""What the sandbox remembers between commands: `<root>/.pipeline/sandbox.json`."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from pipeline_infra_tools.sandbox.exceptions import SandboxError

if TYPE_CHECKING:
    from pathlib import Path

STATE_FILE = "sandbox.json"
LOG_FILE = "sandbox.log"
STACKS_DIR = "stacks"


@dataclass
class SandboxState:
    """A running emulator: where it listens, which process it is, and the administrator's access key."""

    endpoint: str
    pid: int
    port: int
    region: str
    access_key_id: str
    secret_access_key: str
    started_at: float
    stacks: list[str] = field(default_factory=list)
    # Every other account set up in the emulator: account id -> its administrator's keys (and deployment role).
    accounts: dict[str, dict[str, Any]] = field(default_factory=dict)
    admin_account: str = "123456789012"

    def credentials(self) -> dict[str, str]:
        return {"access_key_id": self.access_key_id, "secret_access_key": self.secret_access_key}

    def account_credentials(self, account_id: str | None) -> dict[str, str]:
        """The administrator's keys in `account_id` (the administrator's own account when None)."""
        if account_id is None or account_id == self.admin_account:
            return self.credentials()
        account = self.accounts.get(account_id)
        if account is None:
            raise SandboxError(
                f"account {account_id} is not set up in the sandbox (set up: {self.admin_account}, "
                f"{', '.join(sorted(self.accounts)) or 'no other'}); deploy an environment of that account first"
            )
        return {"access_key_id": account["access_key_id"], "secret_access_key": account["secret_access_key"]}

    def backend_options(self) -> dict[str, Any]:
        """What the emulator backend needs in the program's process (see EmulatorBackend.from_options)."""
        return {
            "endpoint": self.endpoint,
            "region": self.region,
            **self.credentials(),
            "admin_account": self.admin_account,
            "accounts": {
                account: {"access_key_id": keys["access_key_id"], "secret_access_key": keys["secret_access_key"]}
                for account, keys in self.accounts.items()
            },
        }

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def stack_key(layer: str, env: str) -> str:
    return f"{layer}/{env}"


class SandboxStateFile:
    """Reads and writes sandbox.json; writes go through a temporary file so a reader never sees half of one."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir

    @property
    def path(self) -> Path:
        return self.state_dir / STATE_FILE

    @property
    def log_path(self) -> Path:
        return self.state_dir / LOG_FILE

    @property
    def stacks_dir(self) -> Path:
        """Saved stack results of the local target, read by StackReferences."""
        return self.state_dir / STACKS_DIR

    def load(self) -> SandboxState | None:
        if not self.path.is_file():
            return None
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            return SandboxState(**data)
        except (ValueError, TypeError) as err:
            raise SandboxError(
                f"{self.path}: unreadable sandbox state ({err}); run `pipeline-infra sandbox down` "
                "or delete the file, then start again"
            ) from err

    def save(self, state: SandboxState) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_suffix(f".{os.getpid()}.tmp")
        partial.write_text(json.dumps(state.to_json(), indent=2, sort_keys=True), encoding="utf-8")
        partial.replace(self.path)

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)

    def mark_stack(self, layer: str, env: str, deployed: bool) -> None:
        """Record that a stack now exists in (or was removed from) the running emulator."""
        state = self.load()
        if state is None:
            return
        key = stack_key(layer, env)
        stacks = [s for s in state.stacks if s != key]
        if deployed:
            stacks.append(key)
        state.stacks = sorted(stacks)
        self.save(state)
