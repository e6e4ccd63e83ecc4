"""The local Lambda runtime: polls every event source, delivers to handlers, reloads when stacks change."""

from __future__ import annotations

import json
import logging
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from pipeline_infra_tools.sandbox.clients import emulator_client, emulator_session
from pipeline_infra_tools.sandbox.lambda_runtime.async_invoke import AsyncInvoker
from pipeline_infra_tools.sandbox.lambda_runtime.deployment import Deployment, FunctionSpec, RuleSpec
from pipeline_infra_tools.sandbox.lambda_runtime.functions import FunctionPool, Invocation, RoleCredentials
from pipeline_infra_tools.sandbox.lambda_runtime.queues import queue_url
from pipeline_infra_tools.sandbox.lambda_runtime.resource_policies import ResourcePolicies
from pipeline_infra_tools.sandbox.lambda_runtime.service_roles import LAMBDA_SERVICE, ServiceRoles, is_denied
from pipeline_infra_tools.sandbox.lambda_runtime.sources import (
    DeleteMarkerWatcher,
    PipeReader,
    RuleTaps,
    failed_message_ids,
    sqs_batch_event,
)
from pipeline_infra_tools.sandbox.service_grants import ServiceRequest
from pipeline_infra_tools.sandbox.state import SandboxStateFile

if TYPE_CHECKING:
    import threading
    from pathlib import Path

log = logging.getLogger("pipeline_infra_tools.sandbox.runtime")
ACCOUNT_ID = "123456789012"
POLL_INTERVAL_SECONDS = 0.05
# Functions run concurrently with each other; each function's own invocations are serialised.
DELIVERY_THREADS = 4


def scheduled_event(rule: RuleSpec, region: str) -> dict[str, Any]:
    """What EventBridge sends a target when a schedule fires."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": rule.arn.split(":")[4],
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [rule.arn],
        "detail": {},
    }


class LambdaRuntime:
    def __init__(self, endpoint: str, region: str, access_key_id: str, secret_access_key: str, state_dir: Path) -> None:
        self.endpoint, self.region, self.state_dir = endpoint, region, state_dir
        self.stacks_dir = SandboxStateFile(state_dir).stacks_dir
        session = emulator_session(access_key_id, secret_access_key, region)

        def client(service: str) -> Any:
            return emulator_client(session, service, endpoint)

        self.sqs, self.sts, self.events, self.s3 = client("sqs"), client("sts"), client("events"), client("s3")
        self.dynamodb = client("dynamodb")
        self.roles = ServiceRoles(self.sts, endpoint, region)
        self.taps = RuleTaps(self.events, self.sqs)
        self.pipes = PipeReader(self.roles, client("pipes"))
        self.deletes = DeleteMarkerWatcher(self.s3, self.events, ACCOUNT_ID, region)
        self.pool = FunctionPool(endpoint, state_dir, self.role_credentials)
        self.deployment = Deployment()
        self.invoker = AsyncInvoker(
            self.deployment, self.pool, self.roles, ResourcePolicies(client("lambda"), self.sqs, endpoint)
        )
        self._stamp: tuple[tuple[str, float], ...] | None = None
        self._executor = ThreadPoolExecutor(max_workers=DELIVERY_THREADS, thread_name_prefix="delivery")
        self._pending: list[Future[Any]] = []

    def role_credentials(self, role_arn: str) -> RoleCredentials:
        """The function's role, assumed as the Lambda service would; cached while the sandbox runs."""
        return self.roles.credentials(role_arn, LAMBDA_SERVICE)

    def reload(self) -> bool:
        """Read the saved stacks again when any of them changed since the last look."""
        stamp = tuple(sorted((str(p), p.stat().st_mtime) for p in self.stacks_dir.glob("*/*.json")))
        if stamp == self._stamp:
            return False
        self._stamp = stamp
        self.deployment = Deployment.load(self.stacks_dir)
        self.invoker.deployment = self.deployment
        self.taps.ensure(self.deployment.lambda_rules())
        log.info(
            "loaded %d functions, %d rules, %d pipes",
            len(self.deployment.functions),
            len(self.deployment.rules),
            len(self.deployment.pipes),
        )
        return True

    def step(self) -> int:
        """One pass over every source; returns how many events were picked up."""
        self.reload()
        picked = 0
        for rule, event in self.taps.poll():
            for target in rule.targets:
                if ":function:" in target.arn:
                    self._pending.append(self._executor.submit(self.invoker.deliver_rule_event, target, event))
                    picked += 1
        picked += self.pipes.poll(self.deployment.pipes)
        picked += self.deletes.poll(self.deployment.event_buckets)
        for mapping in self.deployment.mappings:
            picked += self._poll_mapping(mapping)
        self._pending = [f for f in self._pending if not f.done() or self._report(f)]
        return picked

    @staticmethod
    def _report(future: Future[Any]) -> bool:
        error = future.exception()
        if error is not None:
            log.error("delivery failed: %r", error)
        return False

    def _poll_mapping(self, mapping: Any) -> int:
        spec = self.deployment.functions.get(mapping.function_name)
        if spec is None:
            return 0
        # Lambda polls the queue with the function's execution role: without its grants nothing is delivered.
        sqs = self.roles.client(spec.role_arn, LAMBDA_SERVICE, "sqs")
        try:
            return self._deliver_batch(sqs, mapping, spec)
        except ClientError as error:
            if not is_denied(error):
                raise
            action = f"sqs:{error.operation_name}"
            request = ServiceRequest(LAMBDA_SERVICE, action, mapping.queue_arn, spec.arn, spec.arn.split(":")[4])
            reason = f"{spec.role_arn} may not {action} on its event source: {error}"
            self.roles.refused(request, reason, "sqs-to-lambda", function=spec.name)
            return 0

    def _deliver_batch(self, sqs: Any, mapping: Any, spec: FunctionSpec) -> int:
        url = queue_url(mapping.queue_arn, self.endpoint)
        messages = sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=min(mapping.batch_size, 10),
            WaitTimeSeconds=0,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        self.roles.succeeded("sqs-to-lambda", mapping.queue_arn, spec.arn)
        if not messages:
            return 0
        invocation = self.pool.invoke(spec, sqs_batch_event(mapping, spec.region, messages))
        ids = {m["MessageId"] for m in messages}
        failed = (
            ids
            if not invocation.ok
            else (failed_message_ids(invocation.result, ids) if mapping.reports_item_failures else set())
        )
        for message in messages:
            if message["MessageId"] in failed:
                # Visible again at once rather than after the queue's visibility timeout, so the receive count
                # and the redrive to the DLQ happen in seconds; the count and the redrive are the emulator's.
                sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)
            else:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return len(messages)

    def invoke(self, function: str, event: Any) -> Invocation:
        """A synchronous invocation (RequestResponse), as `sandbox invoke` and redrive use."""
        self.reload()
        spec = self._function(function)
        return self.pool.invoke(spec, event)

    def tick(self, rule_name: str | None = None) -> list[str]:
        """Fire schedule rules now (the emulator never fires them); returns the functions invoked."""
        self.reload()
        fired = []
        for rule in self.deployment.rules:
            if rule.schedule and rule_name in (None, rule.name):
                for target in rule.targets:
                    outcome = self.invoker.deliver_rule_event(target, scheduled_event(rule, self.region))
                    if outcome is not None:
                        fired.append(outcome.function)
        return fired

    def _function(self, name: str) -> FunctionSpec:
        spec = self.deployment.functions.get(name)
        if spec is None:
            from pipeline_infra_tools.sandbox.exceptions import SandboxError

            raise SandboxError(f"no deployed function {name!r}; deployed: {sorted(self.deployment.functions)}")
        return spec

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                picked = self.step()
            except Exception:  # a broken poll must not stop delivery to everything else
                log.exception("runtime step failed")
                picked = 0
            if not picked:
                stop.wait(POLL_INTERVAL_SECONDS)
        self.close()

    def close(self) -> None:
        self._executor.shutdown(wait=True)
        self.pool.stop()

    def describe(self) -> dict[str, Any]:
        return {"functions": sorted(self.deployment.functions), "taps": sorted(self.taps.queues)}


def load_event(text: str | None) -> Any:
    return json.loads(text) if text else {}
