"""One function's execution environment in the sandbox: `python -m pipeline_infra_tools.lambda_worker`.

It lives outside the sandbox package so a function's environment starts with nothing loaded but this module
and the function's own code, as in Lambda.

The parent starts it with the function's environment, its role's credentials and the unpacked deployment zip
first on PYTHONPATH, then sends one JSON line per invocation on stdin and reads one JSON line back. Whatever
the handler prints (Powertools' structured logs, EMF metrics) goes to the function's log file, as it would
go to CloudWatch Logs.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
import traceback
from dataclasses import dataclass
from typing import Any

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


def main() -> int:
    # Keep the real stdout for replies; everything the handler prints goes to the log file instead.
    replies = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1, encoding="utf-8")
    log = open(os.environ[LOG_FILE_ENV], "a", buffering=1, encoding="utf-8")  # noqa: SIM115 - lives as long as the process
    os.dup2(log.fileno(), sys.stdout.fileno())
    os.dup2(log.fileno(), sys.stderr.fileno())
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
            traceback.print_exc()
        replies.write(json.dumps(reply, default=str) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
