"""Measured figures for the functions: replicator memory vs object size, validator streaming, cold imports.

Run: ``python tests/benchmarks/bench_functions.py``. Starts its own moto server on 127.0.0.1 in a separate
process, so tracemalloc sees only the function's allocations. Prints figures; asserts nothing.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import subprocess
import sys
import time
import tracemalloc
import urllib.request
from typing import TYPE_CHECKING

import boto3

if TYPE_CHECKING:
    from collections.abc import Iterator

MIB = 1024 * 1024
REGION = "us-east-1"
BUCKETS = {env: f"company-data-{env}-{REGION}-pl01" for env in ("prod", "dev", "staging")}
HANDLERS = ("replicator", "validator", "task_processor", "drift_checker")


def start_moto() -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            with urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1):
                return process, endpoint
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("moto server did not start")


def reset(endpoint: str) -> None:
    with urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", data=b"", method="POST")):
        pass


class Repeat:
    """``size`` bytes of a repeated pattern, read in chunks, never held whole."""

    def __init__(self, size: int, line: bytes = b"0123456789abcdef" * 4) -> None:
        self.left, self.line, self.offset = size, line, 0

    def read(self, amount: int = -1) -> bytes:
        amount = self.left if amount < 0 else min(amount, self.left)
        start = self.offset % len(self.line)  # continue the pattern where the previous read stopped
        data = (self.line * (amount // len(self.line) + 2))[start : start + amount]
        self.left -= amount
        self.offset += amount
        return data


def targets() -> str:
    return json.dumps(
        [
            {
                "environment": env,
                "bucket": BUCKETS[env],
                "config_table": f"ddb-config-{env}-pl01",
                "region": REGION,
                "replacements": [[BUCKETS["prod"], BUCKETS[env]], ["-prod-pl01", f"-{env}-pl01"]],
            }
            for env in ("dev", "staging")
        ]
    )


@contextlib.contextmanager
def handler_output_discarded() -> Iterator[None]:
    """The handlers' own log lines and EMF records go to /dev/null, so only the figures are printed.

    Powertools writes to the stdout it found at import, so the file descriptor itself is redirected.
    """
    sys.stdout.flush()
    saved = os.dup(1)
    with open(os.devnull, "w") as devnull:
        os.dup2(devnull.fileno(), 1)
        try:
            yield
        finally:
            sys.stdout.flush()
            os.dup2(saved, 1)
            os.close(saved)


def bench_replicator(endpoint: str) -> None:
    from pipeline_functions.replicator import Replicator, ReplicatorSettings
    from pipeline_functions.shared.targets import own_credentials

    print("replicator: server-side copy (2 targets), tracemalloc peak of the replicator process")
    print(f"{'object MiB':>10} {'threshold MiB':>13} {'parts':>5} {'peak KiB':>9} {'seconds':>8}")
    for size_mib, threshold_mib in ((4, 5), (16, 8), (64, 8), (128, 16)):
        reset(endpoint)
        s3 = boto3.client("s3", region_name=REGION)
        for bucket in BUCKETS.values():
            s3.create_bucket(Bucket=bucket)
        s3.upload_fileobj(Repeat(size_mib * MIB), BUCKETS["prod"], "schemas/big.bin")
        settings = ReplicatorSettings.from_env(
            {
                "PIPELINE_ENVIRONMENT": "prod",
                "DATA_BUCKET": BUCKETS["prod"],
                "CONFIG_TABLE": "ddb-config-prod-pl01",
                "REPLICATION_TARGETS": targets(),
                "MULTIPART_THRESHOLD_BYTES": str(threshold_mib * MIB),
            }
        )
        with handler_output_discarded():
            replicator = Replicator(settings, s3_client=s3, credentials_provider=own_credentials)
        event = {
            "id": "b",
            "source": "aws.s3",
            "detail-type": "Object Created",
            "time": "2024-01-01T00:00:00Z",
            "detail": {"bucket": {"name": BUCKETS["prod"]}, "object": {"key": "schemas/big.bin"}},
        }
        tracemalloc.start()
        started = time.perf_counter()
        with handler_output_discarded():
            replicator.handle(event)
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        etag = s3.head_object(Bucket=BUCKETS["dev"], Key="schemas/big.bin")["ETag"].strip('"')
        parts = etag.split("-")[1] if "-" in etag else "1"
        print(f"{size_mib:>10} {threshold_mib:>13} {parts:>5} {peak / 1024:>9.0f} {elapsed:>8.2f}")


def bench_replicator_batch(endpoint: str, changes: int = 100) -> None:
    """Throughput of one invocation carrying `changes` small config changes, on the deployed path:
    rewrite for 2 targets, idempotency records, success notifications."""
    from pipeline_functions.replicator import Replicator, ReplicatorSettings
    from pipeline_functions.shared.targets import own_credentials

    reset(endpoint)
    s3, ddb, sns = (boto3.client(n, region_name=REGION) for n in ("s3", "dynamodb", "sns"))
    for bucket in BUCKETS.values():
        s3.create_bucket(Bucket=bucket)
    ddb.create_table(
        TableName="ddb-idempotency-prod-pl01",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    topic = sns.create_topic(Name="sns-success-prod-pl01")["TopicArn"]
    events = []
    for index in range(changes):
        key = f"config/batch/{index:03d}.json"
        body = {"input": f"s3://{BUCKETS['prod']}/raw/{index}/", "table": "ddb-config-prod-pl01", "n": index}
        s3.put_object(Bucket=BUCKETS["prod"], Key=key, Body=json.dumps(body).encode())
        events.append(
            {
                "id": f"evt-{index}",
                "source": "aws.s3",
                "detail-type": "Object Created",
                "time": "2024-01-01T00:00:00Z",
                "detail": {"bucket": {"name": BUCKETS["prod"]}, "object": {"key": key, "sequencer": f"{index:018X}"}},
            }
        )
    settings = ReplicatorSettings.from_env(
        {
            "PIPELINE_ENVIRONMENT": "prod",
            "DATA_BUCKET": BUCKETS["prod"],
            "CONFIG_TABLE": "ddb-config-prod-pl01",
            "REPLICATION_TARGETS": targets(),
            "IDEMPOTENCY_TABLE": "ddb-idempotency-prod-pl01",
            "SUCCESS_TOPIC_ARN": topic,
        }
    )
    with handler_output_discarded():
        replicator = Replicator(
            settings, s3_client=s3, dynamodb_client=ddb, sns_client=sns, credentials_provider=own_credentials
        )
    started = time.perf_counter()
    with handler_output_discarded():
        result = replicator.handle(events)
    elapsed = time.perf_counter() - started
    written = sum(t["outcome"] == "replicated" for r in result["results"] for t in r["targets"])
    print(f"\nreplicator: one invocation of {changes} small JSON changes, 2 targets, idempotency and notifications on")
    print(f"{'changes':>8} {'replicas':>9} {'seconds':>8} {'changes/s':>10} {'ms/change':>10}")
    print(f"{changes:>8} {written:>9} {elapsed:>8.2f} {changes / elapsed:>10.1f} {1000 * elapsed / changes:>10.1f}")


def bench_validator(endpoint: str) -> None:
    from pipeline_functions.validator import Validator, ValidatorSettings

    print("\nvalidator: NDJSON streamed from S3, tracemalloc peak of the validator process")
    print(f"{'file MiB':>8} {'records':>9} {'peak KiB':>9} {'seconds':>8} {'records/s':>10}")
    record = json.dumps({"order_id": 12345, "amount": 12.5, "currency": "EUR", "note": "x" * 20}).encode() + b"\n"
    for size_mib in (8, 32):
        reset(endpoint)
        s3, ddb, sqs = (boto3.client(n, region_name=REGION) for n in ("s3", "dynamodb", "sqs"))
        s3.create_bucket(Bucket=BUCKETS["prod"])
        s3.put_object(
            Bucket=BUCKETS["prod"],
            Key="schemas/orders.json",
            Body=json.dumps(
                {"type": "object", "required": ["order_id"], "properties": {"order_id": {"type": "integer"}}}
            ),
        )
        ddb.create_table(
            TableName="ddb-metadata-prod-pl01",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        queue = sqs.create_queue(QueueName="tasks")["QueueUrl"]
        count = size_mib * MIB // len(record)
        s3.upload_fileobj(Repeat(count * len(record), record), BUCKETS["prod"], "raw/orders/big.ndjson")
        validator = Validator(
            ValidatorSettings("prod", "ddb-metadata-prod-pl01", queue),
            s3_client=s3,
            dynamodb_client=ddb,
            sqs_client=sqs,
            sns_client=boto3.client("sns", region_name=REGION),
        )
        event = {
            "id": "v",
            "source": "aws.s3",
            "detail-type": "Object Created",
            "time": "2024-01-01T00:00:00Z",
            "detail": {"bucket": {"name": BUCKETS["prod"]}, "object": {"key": "raw/orders/big.ndjson"}},
        }
        tracemalloc.start()
        started = time.perf_counter()
        with handler_output_discarded():
            result = validator.handle(event)["results"][0]
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert result["status"] == "VALID", result["errors"]
        print(
            f"{size_mib:>8} {result['record_count']:>9} {peak / 1024:>9.0f} {elapsed:>8.2f} "
            f"{result['record_count'] / elapsed:>10.0f}"
        )


def bench_imports(runs: int = 5) -> None:
    print(f"\ncold import (python -X importtime, cumulative us of the handler module, best of {runs})")
    for name in HANDLERS:
        module = f"pipeline_functions.{name}.handler"
        best: list[int] = []
        for _ in range(runs):
            env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
            done = subprocess.run(
                [sys.executable, "-X", "importtime", "-c", f"import {module}"],
                capture_output=True,
                text=True,
                check=True,
                env=env,
            )
            match = re.search(rf"\|\s*(\d+)\s*\|\s*{re.escape(module)}$", done.stderr, re.MULTILINE)
            assert match, done.stderr[-500:]
            best.append(int(match.group(1)))
        boto = min(_cumulative("boto3") for _ in range(runs))
        print(f"{module:<45} {min(best) / 1000:>7.1f} ms   (of which `import boto3` alone: {boto / 1000:.1f} ms)")


def _cumulative(module: str) -> int:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"], capture_output=True, text=True, check=True
    )
    match = re.search(rf"\|\s*(\d+)\s*\|\s*{re.escape(module)}$", done.stderr, re.MULTILINE)
    return int(match.group(1)) if match else 0


def main() -> None:
    process, endpoint = start_moto()
    os.environ.update(
        AWS_ENDPOINT_URL=endpoint,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION=REGION,
        POWERTOOLS_LOG_LEVEL="WARNING",
        POWERTOOLS_METRICS_DISABLED="true",
    )
    os.environ.pop("AWS_SESSION_TOKEN", None)
    try:
        bench_replicator(endpoint)
        bench_replicator_batch(endpoint)
        bench_validator(endpoint)
    finally:
        process.terminate()
        process.wait(timeout=10)
    bench_imports()


if __name__ == "__main__":
    main()
