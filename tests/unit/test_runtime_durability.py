"""What lets the local runtime stop and start without losing or repeating work: the in-flight record and JSON logs."""

from __future__ import annotations

import io
import json
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from pipeline_infra_tools.lambda_worker import JsonLines
from pipeline_infra_tools.sandbox.lambda_runtime.inflight import InFlight
from pipeline_infra_tools.sandbox.lambda_runtime.log_format import JsonLineFormatter

if TYPE_CHECKING:
    from pathlib import Path


class FakeSqs:
    def __init__(self, gone: set[str]) -> None:
        self.gone = gone
        self.visible_again: list[str] = []

    def change_message_visibility(self, QueueUrl: str, ReceiptHandle: str, VisibilityTimeout: int) -> None:
        if ReceiptHandle in self.gone:
            raise ClientError({"Error": {"Code": "ReceiptHandleIsInvalid"}}, "ChangeMessageVisibility")
        assert VisibilityTimeout == 0
        self.visible_again.append(ReceiptHandle)


def test_an_event_in_flight_survives_a_restart_with_its_attempts(tmp_path: Path) -> None:
    path = tmp_path / "inflight.json"
    # GIVEN a runtime took a message and made two attempts on it, then stopped
    before = InFlight(path)
    assert before.begin("m-1/replicator", "http://q/tap", "receipt-1") == 0
    before.attempted("m-1/replicator")
    before.attempted("m-1/replicator")
    before.begin("m-2/replicator", "http://q/tap", "receipt-2")
    before.finish("m-2/replicator")  # this one finished: nothing to replay
    # WHEN a new runtime starts
    after = InFlight(path)
    sqs = FakeSqs(gone=set())
    # THEN the unfinished message is made visible at once, and its retries go on from the third attempt
    assert after.release_all(lambda _url: sqs) == 1 and sqs.visible_again == ["receipt-1"]
    assert after.begin("m-1/replicator", "http://q/tap", "receipt-1b") == 2
    after.finish("m-1/replicator")
    assert len(InFlight(path)) == 0


def test_a_message_already_gone_is_not_replayed(tmp_path: Path) -> None:
    inflight = InFlight(tmp_path / "inflight.json")
    inflight.begin("m-1", "http://q/tasks", "deleted-receipt")
    assert inflight.release_all(lambda _url: FakeSqs(gone={"deleted-receipt"})) == 0
    assert len(inflight) == 0, "an entry whose message is gone is forgotten"


def test_an_unreadable_record_starts_empty(tmp_path: Path) -> None:
    path = tmp_path / "inflight.json"
    path.write_text("{not json")
    assert len(InFlight(path)) == 0


def lines(sink: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in sink.getvalue().splitlines()]


def test_function_output_is_one_json_object_a_line() -> None:
    sink = io.StringIO()
    stdout = JsonLines(sink, "stdout", "INFO")
    # Powertools' lines pass as they are; a stray print is wrapped; partial writes wait for their newline
    stdout.write('{"level": "INFO", "message": "replicated"}\n')
    stdout.write("a stray ")
    stdout.write("print\n\n")
    stdout.write("[1, 2]\n")
    written = lines(sink)
    assert written[0] == {"level": "INFO", "message": "replicated"}
    assert written[1]["message"] == "a stray print" and written[1]["stream"] == "stdout"
    assert written[2]["message"] == "[1, 2]", "JSON that is not an object is wrapped too"
    assert len(written) == 3


def test_a_handler_error_is_one_record_with_its_stack_trace() -> None:
    sink = io.StringIO()
    try:
        raise KeyError("bucket")
    except KeyError as err:
        JsonLines(sink, "stderr", "WARNING").error("req-1", err)
    [record] = lines(sink)
    assert record["level"] == "ERROR" and record["errorType"] == "KeyError" and record["requestId"] == "req-1"
    assert any("raise KeyError" in frame for frame in record["stackTrace"])


def test_runtime_log_lines_are_json_with_the_traceback_inside() -> None:
    import logging
    import sys

    formatter = JsonLineFormatter()
    try:
        raise RuntimeError("poll failed")
    except RuntimeError:
        record = logging.LogRecord("runtime", logging.ERROR, __file__, 1, "tap %s failed", ("rule-x",), sys.exc_info())
    line = formatter.format(record)
    assert "\n" not in line
    parsed = json.loads(line)
    assert parsed["message"] == "tap rule-x failed" and "RuntimeError: poll failed" in parsed["error"]
    refusal = logging.LogRecord("runtime", logging.WARNING, __file__, 1, {"event": "delivery_refused"}, None, None)
    assert json.loads(formatter.format(refusal))["event"] == "delivery_refused"
