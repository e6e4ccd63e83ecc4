"""Replication round trips per target, one account against three.

The default profile (every environment in one account and region) and the multi-account profile
(examples/multi-account/shared_config: dev us-east-2, staging us-west-1, prod us-east-1, each in its own account)
are each deployed into a sandbox of their own; then CHANGES changes are made in prod one after another (JSON
config objects and config items alternately), each timed from the write to the moment each target holds it,
rewritten, per target. Prints the median, p95 and max per profile and target, and the ratio of the
multi-account median to the single-account one, measured in this one run. Never asserts timings.
Usage: python tests/benchmarks/bench_accounts.py [CHANGES]   (default: 60)
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "packages" / "pipeline_infra" / "src"))

from pipeline_infra.settings import CONFIG_DIR_ENV, load_settings  # noqa: E402
from pipeline_infra_tools.deploy.local_target import LocalTarget  # noqa: E402
from pipeline_infra_tools.deploy.orchestrator import Orchestrator  # noqa: E402
from pipeline_infra_tools.sandbox.admin_clients import AdminClients  # noqa: E402
from tests.integration.conftest import ENVIRONMENTS, copy_workspace  # noqa: E402

CHANGES = 60
POLL_SECONDS = 0.005
TIMEOUT_SECONDS = 60.0
PROFILES = {"one account": None, "three accounts": ROOT / "examples" / "multi-account" / "shared_config"}


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))]


def arrived(clients: dict[str, Any], outputs: dict[str, Any], kind: str, key: Any, marker: str) -> bool:
    if kind == "object":
        try:
            body = clients["s3"].get_object(Bucket=outputs["bucket_name"], Key=key)["Body"].read()
        except clients["s3"].exceptions.NoSuchKey:
            return False
        return bool(json.loads(body).get("run") == marker)
    table = outputs["config_table_name"]
    item = clients["dynamodb"].get_item(TableName=table, Key=key, ConsistentRead=True).get("Item") or {}
    return bool(item.get("run", {}).get("S") == marker)


def round_trips(profile: Path | None, changes: int) -> dict[str, list[float]]:
    """Per target, the seconds from each prod write to that target holding it."""
    with tempfile.TemporaryDirectory(prefix="bench-accounts-") as tmp:
        workspace = copy_workspace(Path(tmp))
        if profile is not None:
            shutil.copytree(profile, Path(tmp) / "profile")
            os.environ[CONFIG_DIR_ENV] = str(Path(tmp) / "profile")
        try:
            settings = load_settings(workspace.config_dir)
            target = LocalTarget(workspace, settings)
            try:
                target.sandbox.up()
                began = time.perf_counter()
                for env in ENVIRONMENTS:
                    Orchestrator(workspace, settings, target).execute("deploy", env, None, lambda _: None)
                deployed = time.perf_counter() - began
                state = target.sandbox.status().state
                assert state is not None
                admin = AdminClients(state)

                def clients(env: str) -> dict[str, Any]:
                    where = settings.env(env)
                    return {s: admin.client(s, where.account_id, where.region) for s in ("s3", "dynamodb")}

                targets = list(settings.source.replication.targets)
                outputs = {env: target.outputs("storage", env) or {} for env in ("prod", *targets)}
                prod = clients("prod")
                print(f"  deployed {', '.join(ENVIRONMENTS)} in {deployed:.1f} s")
                timings: dict[str, list[float]] = {env: [] for env in targets}
                for index in range(changes):
                    kind, marker = ("object", "item")[index % 2], f"run-{index}"
                    started = time.perf_counter()
                    if kind == "object":
                        key: Any = f"config/bench/pipeline-{index % 10}.json"
                        body = {"run": marker, "input": f"s3://{outputs['prod']['bucket_name']}/raw/"}
                        prod["s3"].put_object(
                            Bucket=outputs["prod"]["bucket_name"], Key=key, Body=json.dumps(body).encode()
                        )
                    else:
                        key = {"pk": {"S": f"pipeline#bench-{index % 10}"}, "sk": {"S": "settings"}}
                        item = {**key, "run": {"S": marker}}
                        prod["dynamodb"].put_item(TableName=outputs["prod"]["config_table_name"], Item=item)
                    pending = {env: clients(env) for env in targets}
                    while pending:
                        if time.perf_counter() - started > TIMEOUT_SECONDS:
                            raise TimeoutError(f"change {index} did not reach {sorted(pending)}")
                        for env in list(pending):
                            if arrived(pending[env], outputs[env], kind, key, marker):
                                timings[env].append(time.perf_counter() - started)
                                del pending[env]
                        time.sleep(POLL_SECONDS)
                admin.close()
                return timings
            finally:
                target.sandbox.down()
                target.close()
        finally:
            os.environ.pop(CONFIG_DIR_ENV, None)


def main(changes: int = CHANGES) -> None:
    medians: dict[str, dict[str, float]] = {}
    for label, profile in PROFILES.items():
        print(f"{label}:")
        timings = round_trips(profile, changes)
        medians[label] = {}
        for env, values in timings.items():
            medians[label][env] = statistics.median(values)
            print(
                f"  prod -> {env:<8} n={len(values):>3}  median {statistics.median(values) * 1000:7.1f} ms"
                f"  p95 {percentile(values, 0.95) * 1000:7.1f} ms  max {max(values) * 1000:7.1f} ms"
            )
    print("three accounts / one account, median round trip:")
    for env, single in medians["one account"].items():
        print(f"  {env:<8} {medians['three accounts'][env] / single:.2f}x")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else CHANGES)
