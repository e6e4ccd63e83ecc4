"""Large objects: multipart UploadPartCopy above the threshold, with the replicator's memory flat.

The moto server runs in its own process here so tracemalloc measures only the replicator's allocations.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import time
import tracemalloc
import urllib.request
from typing import TYPE_CHECKING

import boto3
import pytest

from pipeline_functions.replicator import Replicator, ReplicatorSettings
from pipeline_functions.shared.targets import own_credentials

from .conftest import REGION, bucket_name, free_port, s3_event, table_name, targets_json

if TYPE_CHECKING:
    from collections.abc import Iterator

MIB = 1024 * 1024


@pytest.fixture(scope="module")
def separate_moto() -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            with urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1):
                break
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                raise RuntimeError("moto server did not start") from None
            time.sleep(0.1)
    yield endpoint
    process.terminate()
    process.wait(timeout=10)


def replicate_large(endpoint: str, size: int, threshold: int, monkeypatch: pytest.MonkeyPatch) -> tuple[dict, int]:
    for name, value in {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    s3 = boto3.client("s3", region_name=REGION)
    for env in ("prod", "dev", "staging"):
        s3.create_bucket(Bucket=bucket_name(env))
    chunk = hashlib.sha256(b"seed").digest() * (MIB // 32)
    s3.upload_fileobj(_Repeat(chunk, size), bucket_name("prod"), "schemas/big.parquet")
    settings = ReplicatorSettings.from_env(
        {
            "PIPELINE_ENVIRONMENT": "prod",
            "DATA_BUCKET": bucket_name("prod"),
            "CONFIG_TABLE": table_name("config", "prod"),
            "REPLICATION_TARGETS": targets_json(),
            "MULTIPART_THRESHOLD_BYTES": str(threshold),
        }
    )
    replicator = Replicator(
        settings, s3_client=s3, sns_client=boto3.client("sns"), credentials_provider=own_credentials
    )
    tracemalloc.start()
    try:
        result = replicator.handle(s3_event("schemas/big.parquet"))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, peak


class _Repeat:
    """A file-like object of ``size`` bytes that never holds more than one chunk."""

    def __init__(self, chunk: bytes, size: int) -> None:
        self._chunk, self._left = chunk, size

    def read(self, amount: int = -1) -> bytes:
        if self._left <= 0:
            return b""
        amount = self._left if amount < 0 else min(amount, self._left)
        data = (self._chunk * (amount // len(self._chunk) + 1))[:amount]
        self._left -= amount
        return data


def test_large_object_is_copied_in_parts_with_flat_memory(separate_moto: str, monkeypatch: pytest.MonkeyPatch) -> None:
    size = 24 * MIB
    result, peak = replicate_large(separate_moto, size, 5 * MIB, monkeypatch)
    assert {t["outcome"] for t in result["results"][0]["targets"]} == {"replicated"}
    s3 = boto3.client("s3", region_name=REGION)
    source = s3.head_object(Bucket=bucket_name("prod"), Key="schemas/big.parquet")
    for env in ("dev", "staging"):
        head = s3.head_object(Bucket=bucket_name(env), Key="schemas/big.parquet")
        assert head["ContentLength"] == size
        assert head["ETag"].strip('"').endswith("-5")  # 5 MiB parts: UploadPartCopy, not CopyObject
        assert head["Metadata"]["source-etag"] == source["ETag"].strip('"')
    # Server-side copy: the replicator never holds the object, so its peak is a small fraction of the size.
    assert peak < size / 8, f"peak {peak} bytes for a {size} byte object"
