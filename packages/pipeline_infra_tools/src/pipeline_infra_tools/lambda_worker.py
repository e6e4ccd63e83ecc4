"""One function's execution environment in the sandbox: `python -m pipeline_infra_tools.lambda_worker`.

It lives outside the sandbox package so a function's environment starts with nothing loaded but this module
and the function's own code, as in Lambda.

The parent starts it with the function's environment, its role's credentials and the unpacked deployment zip
first on PYTHONPATH, then sends one JSON line per invocation on stdin and reads one JSON line back. Whatever
the handler prints (Powertools' structured logs, EMF metrics) goes to the function's log file, as it would
go to CloudWatch Logs, one JSON object a line: a line that is not one already (a stray print, a warning) is
wrapped in one, and a handler's error is written as one record with its stack trace inside. The EMF records
among those lines (`_aws.CloudWatchMetrics`) also go back with the reply (`metrics`), so the parent publishes
them into the emulator's CloudWatch as CloudWatch Logs would.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
import traceback
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, Any

HANDLER_ENV = "_HANDLER"
LOG_FILE_ENV = "PIPELINE_SANDBOX_LOG_FILE"


@dataclass
class LambdaContext:
    """The attributes of AWS's context object that handlers and Powertools read."""

    function_name: str
    function_version: str
    invoked_function_arn: str
    memory_limit_in_mb: int
    aws_request_id: str
    log_group_name: str
    log_stream_name: str
    deadline: float

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline - time.time()) * 1000))


def _load_handler() -> Any:
    module_name, _, function_name = os.environ[HANDLER_ENV].rpartition(".")
    return getattr(importlib.import_module(module_name), function_name)


def _context(request: dict[str, Any]) -> LambdaContext:
    name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
    return LambdaContext(
        function_name=name,
        function_version="$LATEST",
        invoked_function_arn=os.environ["PIPELINE_SANDBOX_FUNCTION_ARN"],
        memory_limit_in_mb=int(os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"]),
        aws_request_id=request["request_id"],
        log_group_name=f"/aws/lambda/{name}",
        log_stream_name="sandbox",
        deadline=time.time() + float(request["timeout_seconds"]),
    )


class JsonLines:
    """A text stream that writes whole lines to the log, each one JSON object."""

    def __init__(self, sink: IO[str], stream: str, level: str) -> None:
        self.sink, self.stream, self.level = sink, stream, level
        self._pending = ""
        # EMF records printed since the parent last took them (`take_metrics`).
        self.metrics: list[dict[str, Any]] = []

    def write(self, text: str) -> int:
        self._pending += text
        while "\n" in self._pending:
            line, self._pending = self._pending.split("\n", 1)
            self._emit(line)
        return len(text)

    def flush(self) -> None:
        self.sink.flush()

    def isatty(self) -> bool:
        return False

    def _emit(self, line: str) -> None:
        if not line.strip():
            return
        if line.startswith("{"):
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                record = None
            if isinstance(record, dict):
                self.sink.write(line + "\n")
                if _is_emf(record):
                    self.metrics.append(record)
                return
        self.sink.write(json.dumps(self._record(message=line)) + "\n")

    def error(self, request_id: str, err: BaseException) -> None:
        """A handler error as Lambda logs it: one record, the stack trace a field of it."""
        self.sink.write(
            json.dumps(
                self._record(
                    message=f"{type(err).__name__}: {err}",
                    errorType=type(err).__name__,
                    errorMessage=str(err),
                    stackTrace=traceback.format_exception(err),
                    requestId=request_id,
                ),
                default=str,
            )
            + "\n"
        )

    def _record(self, **fields: Any) -> dict[str, Any]:
        return {
            "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "level": self.level if "errorType" not in fields else "ERROR",
            "function": os.environ.get("AWS_LAMBDA_FUNCTION_NAME"),
            "stream": self.stream,
            **fields,
        }


def _is_emf(record: dict[str, Any]) -> bool:
    # The same test as the runtime's emf.is_emf, repeated so this module imports nothing of the tool.
    return isinstance(record.get("_aws"), dict) and "CloudWatchMetrics" in record["_aws"]


def take_metrics(*streams: JsonLines) -> list[dict[str, Any]]:
    """The EMF records the streams saw since the last call (a partial last line is not a record yet)."""
    taken: list[dict[str, Any]] = []
    for stream in streams:
        taken += stream.metrics
        stream.metrics = []
    return taken


def main() -> int:
    # Keep the real stdout for replies; everything the handler prints goes to the log file instead.
    replies = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1, encoding="utf-8")
    log = open(os.environ[LOG_FILE_ENV], "a", buffering=1, encoding="utf-8")  # noqa: SIM115 - lives as long as the process
    # Anything written below Python (a C library) still reaches the log through the descriptors.
    os.dup2(log.fileno(), sys.stdout.fileno())
    os.dup2(log.fileno(), sys.stderr.fileno())
    stdout, stderr = JsonLines(log, "stdout", "INFO"), JsonLines(log, "stderr", "WARNING")
    sys.stdout, sys.stderr = stdout, stderr
    handler = None
    for line in sys.stdin:
        request = json.loads(line)
        try:
            if handler is None:
                handler = _load_handler()  # the cold start: module-level work happens here, once
            result = handler(request["event"], _context(request))
            reply: dict[str, Any] = {"ok": True, "result": result}
        except Exception as err:  # a handler error is the invocation's result, reported as Lambda reports it
            reply = {
                "ok": False,
                "errorType": type(err).__name__,
                "errorMessage": str(err),
                "stackTrace": traceback.format_exception(err)[-5:],
            }
            stderr.error(request["request_id"], err)
        metrics = take_metrics(stdout, stderr)
        if metrics:
            reply["metrics"] = metrics
        replies.write(json.dumps(reply, default=str) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
