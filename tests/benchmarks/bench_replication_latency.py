"""Replication latency on the local sandbox: from a prod write to the replica present in BOTH dev and staging.

Prints figures only; never asserts timings. Starts its own sandbox on a temporary copy of the workspace, deploys
every environment, then makes CHANGES changes in prod one after another (JSON config objects and config items
alternately, each a create or an update of a small pool of keys), timing each from the write to the moment both
replicas hold it, rewritten. The sandbox is stopped at the end.
Usage: python tests/benchmarks/bench_replication_latency.py [CHANGES]   (default: 240)
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import boto3

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "packages" / "pipeline_infra" / "src"))

from pipeline_infra.settings import load_settings  # noqa: E402
from pipeline_infra_tools.deploy.local_target import LocalTarget  # noqa: E402
from pipeline_infra_tools.deploy.orchestrator import Orchestrator  # noqa: E402
from tests.integration.conftest import ENVIRONMENTS, copy_workspace  # noqa: E402

CHANGES = 240
KEYS = 20  # each key is created once, then updated: both paths are measured
GAP_SECONDS = 0.02
POLL_SECONDS = 0.005
TIMEOUT_SECONDS = 60.0


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))]


class Bench:
    def __init__(self, clients: dict[str, Any], outputs: dict[str, dict[str, Any]], targets: list[str]) -> None:
        self.s3, self.dynamodb = clients["s3"], clients["dynamodb"]
        self.outputs, self.targets = outputs, targets

    def change_object(self, index: int) -> float:
        prod = self.outputs["prod"]
        key = f"config/bench/pipeline-{index % KEYS}.json"
        marker = f"run-{index}"
        document = {
            "run": marker,
            "input": f"s3://{prod['bucket_name']}/raw/bench/",
            "table": prod["config_table_name"],
        }
        started = time.perf_counter()
        self.s3.put_object(Bucket=prod["bucket_name"], Key=key, Body=json.dumps(document).encode())
        for env in self.targets:
            bucket = self.outputs[env]["bucket_name"]
            self._until(lambda bucket=bucket: self._object_has(bucket, key, marker), f"{key} in {env}")
        return time.perf_counter() - started

    def change_item(self, index: int) -> float:
        prod = self.outputs["prod"]
        key = {"pk": {"S": f"pipeline#bench-{index % KEYS}"}, "sk": {"S": "settings"}}
        marker = f"run-{index}"
        item = {**key, "run": {"S": marker}, "bucket": {"S": prod["bucket_name"]}}
        started = time.perf_counter()
        self.dynamodb.put_item(TableName=prod["config_table_name"], Item=item)
        for env in self.targets:
            table = self.outputs[env]["config_table_name"]
            self._until(lambda table=table: self._item_has(table, key, marker), f"item {key} in {env}")
        return time.perf_counter() - started

    def _object_has(self, bucket: str, key: str, marker: str) -> bool:
        try:
            body = self.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        except self.s3.exceptions.NoSuchKey:
            return False
        return bool(json.loads(body).get("run") == marker)

    def _item_has(self, table: str, key: dict[str, Any], marker: str) -> bool:
        item = self.dynamodb.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item") or {}
        return bool(item.get("run", {}).get("S") == marker)

    @staticmethod
    def _until(probe: Any, what: str) -> None:
        deadline = time.perf_counter() + TIMEOUT_SECONDS
        while not probe():
            if time.perf_counter() > deadline:
                raise TimeoutError(f"{what} did not arrive within {TIMEOUT_SECONDS:.0f} s")
            time.sleep(POLL_SECONDS)


def report(label: str, values: list[float]) -> None:
    if not values:
        return
    print(
        f"  {label:<8} n={len(values):>4}  median {statistics.median(values) * 1000:7.1f} ms"
        f"  p95 {percentile(values, 0.95) * 1000:7.1f} ms  max {max(values) * 1000:7.1f} ms"
        f"  mean {statistics.fmean(values) * 1000:7.1f} ms"
    )


def main(changes: int = CHANGES) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-replication-") as tmp:
        workspace = copy_workspace(Path(tmp))
        settings = load_settings(workspace.config_dir)
        target = LocalTarget(workspace, settings)
        try:
            state, _ = target.sandbox.up()
            began = time.perf_counter()
            for env in ENVIRONMENTS:
                Orchestrator(workspace, settings, target).execute("deploy", env, None, lambda _: None)
            print(
                f"sandbox at {state.endpoint}; deployed {', '.join(ENVIRONMENTS)} "
                f"in {time.perf_counter() - began:.1f} s"
            )
            session = boto3.Session(
                aws_access_key_id=state.access_key_id,
                aws_secret_access_key=state.secret_access_key,
                region_name=state.region,
            )
            clients = {s: session.client(s, endpoint_url=state.endpoint) for s in ("s3", "dynamodb")}
            targets = list(settings.source.replication.targets)
            outputs = {env: target.outputs("storage", env) or {} for env in ("prod", *targets)}
            bench = Bench(clients, outputs, targets)
            latencies: dict[str, list[float]] = {"object": [], "item": []}
            started = time.perf_counter()
            for index in range(changes):
                kind = "object" if index % 2 == 0 else "item"
                change = bench.change_object if kind == "object" else bench.change_item
                latencies[kind].append(change(index))
                time.sleep(GAP_SECONDS)
            total = time.perf_counter() - started
            every = latencies["object"] + latencies["item"]
            print(f"\nprod write -> present and rewritten in {' and '.join(targets)} ({changes} changes, sequential):")
            report("all", every)
            report("objects", latencies["object"])
            report("items", latencies["item"])
            print(
                f"  total {total:.1f} s for {changes} changes "
                f"({changes / total:.1f} changes/s, gaps of {GAP_SECONDS * 1000:.0f} ms)"
            )
        finally:
            target.sandbox.down()
            target.close()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else CHANGES)
