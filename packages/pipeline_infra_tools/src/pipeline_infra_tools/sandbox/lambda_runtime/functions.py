"""Execution environments for the deployed functions: started on first use, reused while warm."""

from __future__ import annotations

import hashlib
import json
import os
import queue
import site
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline_infra_tools import lambda_worker
from pipeline_infra_tools.lambda_worker import HANDLER_ENV, LOG_FILE_ENV
from pipeline_infra_tools.unpacking import unpack_once

if TYPE_CHECKING:
    from pipeline_infra_tools.sandbox.lambda_runtime.deployment import FunctionSpec

# Credentials for a role ARN: {"AccessKeyId", "SecretAccessKey", "SessionToken"}.
RoleCredentials = dict[str, str]
# Takes the EMF records one invocation printed: (function name, region, records); must return at once.
MetricSink = Callable[[str, str, list[dict[str, Any]]], None]


@dataclass(frozen=True)
class Invocation:
    function: str
    request_id: str
    ok: bool
    result: Any = None
    error_type: str | None = None
    error_message: str | None = None

    def error_payload(self) -> dict[str, Any]:
        return {"errorType": self.error_type, "errorMessage": self.error_message}


def unpack_code(zip_path: Path, code_root: Path) -> Path:
    """The deployment zip unpacked once per content hash, as Lambda does when it creates an environment."""
    digest = hashlib.sha256(zip_path.read_bytes()).hexdigest()[:16]
    return unpack_once(zip_path, code_root / digest)


class ExecutionEnvironment:
    """One worker process for one function; invocations are serialised, as in one Lambda environment."""

    def __init__(self, spec: FunctionSpec, env: dict[str, str], metrics: MetricSink | None = None) -> None:
        self.spec = spec
        self._env = env
        self._metrics = metrics
        self._process: subprocess.Popen[str] | None = None
        self._lock = threading.Lock()

    def invoke(self, event: Any) -> Invocation:
        request_id = str(uuid.uuid4())
        with self._lock:
            process = self._ensure_started()
            assert process.stdin is not None and process.stdout is not None
            request = {"event": event, "request_id": request_id, "timeout_seconds": self.spec.timeout_seconds}
            process.stdin.write(json.dumps(request, default=str) + "\n")
            process.stdin.flush()
            reply_line = self._read_reply(process)
        if reply_line is None:
            message = f"Task timed out after {self.spec.timeout_seconds}.00 seconds"
            return Invocation(self.spec.name, request_id, False, error_type="Sandbox.Timedout", error_message=message)
        reply = json.loads(reply_line)
        if reply.get("metrics") and self._metrics is not None:
            # Published where the function is: its ARN names its account and region.
            self._metrics(self.spec.name, self.spec.arn, reply["metrics"])
        if reply["ok"]:
            return Invocation(self.spec.name, request_id, True, result=reply["result"])
        return Invocation(
            self.spec.name, request_id, False, error_type=reply["errorType"], error_message=reply["errorMessage"]
        )

    def _ensure_started(self) -> subprocess.Popen[str]:
        if self._process is None or self._process.poll() is not None:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "pipeline_infra_tools.lambda_worker"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                env=self._env,
                text=True,
            )
        return self._process

    def _read_reply(self, process: subprocess.Popen[str]) -> str | None:
        """The reply line, or None when the function outlives its timeout (its environment is then discarded)."""
        result: list[str] = []
        reader = threading.Thread(target=lambda: result.append(process.stdout.readline() if process.stdout else ""))
        reader.start()
        reader.join(self.spec.timeout_seconds + 5)
        if reader.is_alive() or not result or not result[0]:
            process.kill()
            process.wait()
            reader.join(1)
            self._process = None
            return None
        return result[0]

    def stop(self) -> None:
        with self._lock:
            if self._process is not None and self._process.poll() is None:
                assert self._process.stdin is not None
                self._process.stdin.close()
                try:
                    self._process.wait(5)
                except subprocess.TimeoutExpired:
                    self._process.kill()
            self._process = None


# Where this runtime's own worker module is found, put after the function's code so the worker that runs a function
# is always the one this runtime speaks with (a source checkout beside another installed copy); an installed
# tool's site-packages is on the interpreter's path already and is not repeated ahead of the standard library.
_WORKER_ROOT = str(Path(lambda_worker.__file__).resolve().parents[1])
WORKER_PATH = () if _WORKER_ROOT in {str(Path(p).resolve()) for p in site.getsitepackages()} else (_WORKER_ROOT,)

# Execution environments one function may have at once, as Lambda scales a function out under load.
MAX_ENVIRONMENTS_PER_FUNCTION = 3


class _EnvironmentGroup:
    """One function version's environments: an idle one is reused, another started while all are busy."""

    def __init__(self, spec: FunctionSpec, make: Callable[[], ExecutionEnvironment], limit: int) -> None:
        self.spec, self._make, self._limit = spec, make, limit
        self._idle: queue.SimpleQueue[ExecutionEnvironment] = queue.SimpleQueue()
        self._all: list[ExecutionEnvironment] = []
        self._lock = threading.Lock()
        self.retired = False

    def take(self) -> ExecutionEnvironment:
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            pass
        with self._lock:
            if len(self._all) < self._limit:
                environment = self._make()
                self._all.append(environment)
                return environment
        return self._idle.get()

    def give(self, environment: ExecutionEnvironment) -> None:
        if self.retired:
            environment.stop()
        else:
            self._idle.put(environment)

    def stop(self) -> None:
        self.retired = True
        with self._lock:
            for environment in self._all:
                environment.stop()


class FunctionPool:
    """Environments of every deployed function, each running with its own role's credentials."""

    def __init__(
        self,
        endpoint: str,
        state_dir: Path,
        role_credentials: Callable[[str], RoleCredentials],
        extra_env: dict[str, str] | None = None,
        metrics: MetricSink | None = None,
    ) -> None:
        self.endpoint = endpoint
        self._metrics = metrics
        self.code_root = state_dir / "runtime" / "code"
        self.log_root = state_dir / "runtime" / "logs"
        self._role_credentials = role_credentials
        self._extra_env = extra_env or {}
        self._groups: dict[str, _EnvironmentGroup] = {}
        self._lock = threading.Lock()

    def log_path(self, function: str) -> Path:
        return self.log_root / f"{function}.log"

    def invoke(self, spec: FunctionSpec, event: Any) -> Invocation:
        group = self._group(spec)
        environment = group.take()
        try:
            return environment.invoke(event)
        finally:
            group.give(environment)

    def _group(self, spec: FunctionSpec) -> _EnvironmentGroup:
        with self._lock:
            current = self._groups.get(spec.name)
            if current is not None and current.spec == spec:
                return current
            if current is not None:
                current.stop()  # redeployed: the next invocations are cold starts with the new code
            group = _EnvironmentGroup(
                spec,
                lambda: ExecutionEnvironment(spec, self._process_env(spec), self._metrics),
                MAX_ENVIRONMENTS_PER_FUNCTION,
            )
            self._groups[spec.name] = group
            return group

    def _process_env(self, spec: FunctionSpec) -> dict[str, str]:
        self.code_root.mkdir(parents=True, exist_ok=True)
        self.log_root.mkdir(parents=True, exist_ok=True)
        code = unpack_code(Path(spec.code_path), self.code_root)
        credentials = self._role_credentials(spec.role_arn)
        inherited = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k != "PYTHONPATH"}
        return {
            **inherited,
            **spec.environment,
            **self._extra_env,
            "PYTHONPATH": os.pathsep.join((str(code), *WORKER_PATH)),
            HANDLER_ENV: spec.handler,
            LOG_FILE_ENV: str(self.log_path(spec.name)),
            "AWS_LAMBDA_FUNCTION_NAME": spec.name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
            "PIPELINE_SANDBOX_FUNCTION_ARN": spec.arn,
            "AWS_REGION": spec.region,
            "AWS_DEFAULT_REGION": spec.region,
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": credentials["AccessKeyId"],
            "AWS_SECRET_ACCESS_KEY": credentials["SecretAccessKey"],
            "AWS_SESSION_TOKEN": credentials["SessionToken"],
        }

    def stop(self) -> None:
        with self._lock:
            for group in self._groups.values():
                group.stop()
            self._groups.clear()
