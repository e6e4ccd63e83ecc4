"""`pipeline-infra sandbox demo`: the whole job on the local emulator, shown end to end.

Starts the sandbox, deploys every environment, writes a config file and a config item in the source
environment, waits until both arrive rewritten in every target, shows the success notifications and a clean
drift report, and says where to look next.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline_infra_tools.deploy.orchestrator import Orchestrator, make_target
from pipeline_infra_tools.sandbox.admin_clients import AdminClients
from pipeline_infra_tools.sandbox.manager import Sandbox
from pipeline_infra_tools.sandbox.service_grants import queue_policy_admitting
from pipeline_infra_tools.workspace import DEFAULT_CONFIG_DIR, config_label

if TYPE_CHECKING:
    from collections.abc import Callable

    from pipeline_infra.settings import Settings
    from pipeline_infra_tools.deploy.base import ProgressEvent
    from pipeline_infra_tools.sandbox.state import SandboxState
    from pipeline_infra_tools.workspace import Workspace

REPLICA_TIMEOUT_SECONDS = 60.0
CONFIG_KEY = "config/pipelines/orders.json"


@dataclass
class DemoResult:
    replicated: dict[str, float] = field(default_factory=dict)  # "object dev" -> seconds after the write
    notifications: list[dict[str, Any]] = field(default_factory=list)
    drift_clean: bool = False
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and self.drift_clean


class Demo:
    def __init__(self, workspace: Workspace, settings: Settings, say: Callable[[str], None] = print) -> None:
        self.workspace, self.settings, self.say = workspace, settings, say
        self.result = DemoResult()

    def run(self) -> DemoResult:
        started = time.perf_counter()
        sandbox = Sandbox(self.workspace.state_dir, region=self.settings.source.region)
        state, _ = sandbox.up()
        self.say(f"sandbox: emulator at {state.endpoint} (pid {state.pid}), IAM enforced, local Lambda runtime on")
        self._deploy_all()
        # Read again: the deploy set up every environment's account.
        state = sandbox.status().state or state
        self._admin = AdminClients(state)
        clients = self._env_clients(self.settings.source.name)
        outputs = self._outputs()
        inbox, subscription = self._subscribe(clients, outputs["notifications"]["success_topic_arn"])
        self._round_trip(clients, outputs)
        self._show_notifications(clients, inbox)
        # The listener is the demo's, not the code's: left on prod's topic, live drift would rightly report it.
        self._unsubscribe(clients, inbox, subscription)
        self._drift()
        self._where_to_look(state, time.perf_counter() - started)
        return self.result

    def _deploy_all(self) -> None:
        target = make_target("local", self.workspace, self.settings)
        orchestrator = Orchestrator(self.workspace, self.settings, target)

        def progress(event: ProgressEvent) -> None:
            if event.kind == "layer-finished":
                self.say(f"  {event.layer}/{event.env}: {event.message}")

        for env in self.settings.project.environments:
            began = time.perf_counter()
            orchestrator.execute("deploy", env, None, progress)
            self.say(f"deployed {env} in {time.perf_counter() - began:.1f} s")

    def _outputs(self) -> dict[str, dict[str, Any]]:
        target = make_target("local", self.workspace, self.settings)
        source = self.settings.project.source_environment
        outputs = {}
        for layer in ("storage", "notifications", "replication"):
            outputs[layer] = target.outputs(layer, source) or {}
        for env in self.settings.source.replication.targets:
            outputs[f"storage/{env}"] = target.outputs("storage", env) or {}
        return outputs

    def _subscribe(self, clients: dict[str, Any], topic_arn: str) -> tuple[str, str]:
        """A sandbox-only queue on the success topic, so the demo can show the notifications operators get:
        (its URL, the subscription's ARN)."""
        sqs, sns = clients["sqs"], clients["sns"]
        url = sqs.create_queue(QueueName="sandbox-demo-notifications")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        policy = queue_policy_admitting(arn, "sns.amazonaws.com", topic_arn)
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(policy)})
        subscribed = sns.subscribe(
            TopicArn=topic_arn, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "false"}
        )
        sqs.purge_queue(QueueUrl=url)
        return str(url), str(subscribed["SubscriptionArn"])

    @staticmethod
    def _unsubscribe(clients: dict[str, Any], inbox: str, subscription: str) -> None:
        clients["sns"].unsubscribe(SubscriptionArn=subscription)
        clients["sqs"].delete_queue(QueueUrl=inbox)

    def _round_trip(self, clients: dict[str, Any], outputs: dict[str, dict[str, Any]]) -> None:
        storage = outputs["storage"]
        bucket, table = storage["bucket_name"], storage["config_table_name"]
        marker = uuid.uuid4().hex[:8]
        document = {
            "pipeline": "orders",
            "run": marker,
            "input": f"s3://{bucket}/raw/orders/",
            "metadata_table": table,
            "alerts": outputs["notifications"]["failure_topic_arn"],
        }
        self.say(f"\nwrote s3://{bucket}/{CONFIG_KEY} in {self.settings.project.source_environment}:")
        self.say("  " + json.dumps(document))
        written = time.time()
        clients["s3"].put_object(Bucket=bucket, Key=CONFIG_KEY, Body=json.dumps(document, indent=2).encode())
        item = {"pk": {"S": "pipeline#orders"}, "sk": {"S": "settings"}, "run": {"S": marker}, "source": {"S": bucket}}
        clients["dynamodb"].put_item(TableName=table, Item=item)
        self.say(f"wrote item pipeline#orders/settings in {table}")
        for env in self.settings.source.replication.targets:
            target = outputs[f"storage/{env}"]
            self._await_object(env, target["bucket_name"], marker, written)
            self._await_item(env, target["config_table_name"], marker, written)

    def _env_clients(self, env: str) -> dict[str, Any]:
        """The administrator's clients in the environment's own account and region."""
        where = self.settings.env(env)
        return {s: self._admin.client(s, where.account_id, where.region) for s in ("s3", "dynamodb", "sqs", "sns")}

    def _await_object(self, env: str, bucket: str, marker: str, written: float) -> None:
        clients = self._env_clients(env)
        body = _wait(lambda: _read_object(clients["s3"], bucket, CONFIG_KEY, marker))
        if body is None:
            self.result.problems.append(f"{env}: {CONFIG_KEY} did not arrive within {REPLICA_TIMEOUT_SECONDS:.0f} s")
            return
        self.result.replicated[f"object {env}"] = time.time() - written
        self.say(f"  {env}: s3://{bucket}/{CONFIG_KEY} after {time.time() - written:.2f} s, rewritten:")
        self.say("    " + json.dumps(json.loads(body)))
        source = self.settings.source
        if f"-{source.name}-" in body:
            self.result.problems.append(f"{env}: the replica still names a {source.name} resource")

    def _await_item(self, env: str, table: str, marker: str, written: float) -> None:
        clients = self._env_clients(env)

        def read() -> dict[str, Any] | None:
            key = {"pk": {"S": "pipeline#orders"}, "sk": {"S": "settings"}}
            item = clients["dynamodb"].get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")
            return item if item and item.get("run", {}).get("S") == marker else None

        item = _wait(read)
        if item is None:
            self.result.problems.append(f"{env}: the config item did not arrive in {table}")
            return
        self.result.replicated[f"item {env}"] = time.time() - written
        self.say(f"  {env}: item in {table} after {time.time() - written:.2f} s, source = {item['source']['S']}")

    def _show_notifications(self, clients: dict[str, Any], inbox: str) -> None:
        expected = 2 * len(self.settings.source.replication.targets)
        deadline = time.time() + 15
        while len(self.result.notifications) < expected and time.time() < deadline:
            for message in (
                clients["sqs"]
                .receive_message(QueueUrl=inbox, MaxNumberOfMessages=10, WaitTimeSeconds=1)
                .get("Messages", [])
            ):
                envelope = json.loads(message["Body"])
                attributes = {k: v["Value"] for k, v in envelope.get("MessageAttributes", {}).items()}
                self.result.notifications.append(attributes)
                clients["sqs"].delete_message(QueueUrl=inbox, ReceiptHandle=message["ReceiptHandle"])
        self.say(f"\nsuccess notifications received: {len(self.result.notifications)}")
        for attributes in self.result.notifications:
            self.say("  " + ", ".join(f"{k}={v}" for k, v in sorted(attributes.items())))
        if len(self.result.notifications) < expected:
            self.result.problems.append(
                f"expected {expected} success notifications, got {len(self.result.notifications)}"
            )

    def _drift(self) -> None:
        from pipeline_infra_tools.drift.runner import DriftRequest, run_drift

        report = run_drift(self.workspace, DriftRequest(live=True), self.settings)
        self.result.drift_clean = not report.has_drift
        verdict = "clean" if self.result.drift_clean else f"{len(report.drift)} drift"
        self.say(
            f"\ndrift (settings, structure, live stacks, replicated data): {verdict}, {len(report.approved)} approved"
        )
        for difference in report.drift[:10]:
            self.say(f"  DRIFT {difference.environment} {difference.layer} {difference.resource} {difference.path}")

    def _where_to_look(self, state: SandboxState, elapsed: float) -> None:
        state_dir, cli = self.workspace.state_dir, command_name()
        if self.workspace.config_dir != self.workspace.root / DEFAULT_CONFIG_DIR:
            # Another settings directory has its own sandbox: every command must name it.
            cli = f"{cli} --config {config_label()}"
        self.say(
            "\n".join(
                [
                    f"\n{'done' if self.result.ok else 'FAILED'} in {elapsed:.1f} s. Where to look:",
                    f"  emulator endpoint     {state.endpoint}",
                    f"                        (credentials: {cli} sandbox status --format json)",
                    f"  stack outputs         {state_dir / 'stacks'}",
                    f"                        ({cli} outputs --env prod --layer storage)",
                    f"  function logs         {state_dir / 'runtime' / 'logs'}",
                    f"  try                   {cli} drift --live --format markdown",
                    f"                        {cli} sandbox tick        (fire the daily drift check now)",
                    f"                        {cli} redrive --env prod  (replay the replication DLQ)",
                    f"                        {cli} resync --from prod --to dev",
                    f"                        {cli} sandbox down        (stop the emulator and the runtime)",
                ]
            )
        )
        for problem in self.result.problems:
            self.say(f"  PROBLEM: {problem}")


def command_name() -> str:
    """How to run the CLI after this process: its name when the user's PATH has it, else its path.

    Inside a nox session the session's environment is on PATH only until nox exits, so there the path is given.
    """
    installed = Path(sys.executable).parent / "pipeline-infra"
    on_path = shutil.which("pipeline-infra")
    inside_nox = "NOX_CURRENT_SESSION" in os.environ
    if on_path and not inside_nox and Path(on_path).resolve() == installed.resolve():
        return "pipeline-infra"
    try:
        return str(installed.relative_to(Path.cwd()))
    except ValueError:
        return str(installed)


def _read_object(s3: Any, bucket: str, key: str, marker: str) -> str | None:
    try:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8")
    except s3.exceptions.NoSuchKey:
        return None
    return str(body) if marker in body else None


def _wait(probe: Callable[[], Any], timeout: float = REPLICA_TIMEOUT_SECONDS) -> Any:
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = probe()
        if value is not None:
            return value
        time.sleep(0.05)
    return None
