"""The event flows between drawn resources, read from the resources' rendered inputs (never from their names).

- a bucket whose notification sends to EventBridge -> every default-bus rule whose pattern names the bucket;
- a table's stream -> the Pipe reading it -> the bus it puts to -> every rule on that bus;
- a rule -> each of its targets; a queue -> the function an event source mapping feeds;
- a function with replication targets (`REPLICATION_TARGETS`) -> each target's bucket and table, drawn in the
  box of the StackReference that exports them;
- dead-letter paths (a target's, a Pipe's or an async invoke's on-failure queue, a queue's redrive) as failure edges.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from pipeline_infra_tools.graph.model import STACK_REFERENCE, Edge, Node, node_id

if TYPE_CHECKING:
    from collections.abc import Mapping

    from pipeline_infra_tools.graph.model import Group, SystemGraph

BUCKET = "aws:s3/bucket:Bucket"
NOTIFICATION = "aws:s3/bucketNotification:BucketNotification"
TABLE = "aws:dynamodb/table:Table"
RULE = "aws:cloudwatch/eventRule:EventRule"
TARGET = "aws:cloudwatch/eventTarget:EventTarget"
BUS = "aws:cloudwatch/eventBus:EventBus"
PIPE = "aws:pipes/pipe:Pipe"
FUNCTION = "aws:lambda/function:Function"
MAPPING = "aws:lambda/eventSourceMapping:EventSourceMapping"
INVOKE_CONFIG = "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig"
QUEUE = "aws:sqs/queue:Queue"
TOPIC = "aws:sns/topic:Topic"
# Only resources that others address by ARN or name are looked up: a target or permission repeats its function's ARN.
_ADDRESSABLE = (BUCKET, TABLE, RULE, BUS, PIPE, FUNCTION, QUEUE, TOPIC)
_ADDRESS_KEYS = ("arn", "id", "name", "url", "bucket", "streamArn")
REPLICATION_TARGETS = "REPLICATION_TARGETS"


def _index(nodes: list[Node]) -> dict[str, Node]:
    found: dict[str, Node] = {}
    for node in nodes:
        if node.type in _ADDRESSABLE:
            for key in _ADDRESS_KEYS:
                value = node.outputs.get(key)
                if isinstance(value, str) and value:
                    found.setdefault(value, node)
    return found


def _pattern(rule: Node) -> dict[str, Any]:
    text = rule.inputs.get("eventPattern")
    try:
        pattern = json.loads(text) if isinstance(text, str) else {}
    except ValueError:
        return {}
    return pattern if isinstance(pattern, dict) else {}


def _names_bucket(pattern: Mapping[str, Any], bucket: str) -> bool:
    names = ((pattern.get("detail") or {}).get("bucket") or {}).get("name") or []
    return "aws.s3" in (pattern.get("source") or []) and bucket in names


def _on_default_bus(rule: Node) -> bool:
    return rule.inputs.get("eventBusName") in (None, "", "default")


def _replica_nodes(external: Mapping[str, Group], documents: list[Mapping[str, Any]]) -> dict[str, Node]:
    """Replica buckets and tables by name, each placed in the box of the StackReference that exports it."""
    replicas: dict[str, Node] = {}
    for document in documents:
        for resource in document.get("resources", []):
            if resource["type"] != STACK_REFERENCE:
                continue
            _, project, stack = str(resource["inputs"]["name"]).split("/")
            box = external.get(f"{project.rsplit('-', 1)[-1]}/{stack}")
            exported = (resource.get("outputs") or {}).get("outputs") or {}
            if box is None:
                continue
            for key, kind in (("bucket_name", "Bucket"), ("config_table_name", "Table")):
                name = exported.get(key)
                if isinstance(name, str) and name not in replicas:
                    replicas[name] = Node(node_id(box.id, key), f"{kind} {name}", kind)
    return replicas


def _place(node: Node, external: Mapping[str, Group]) -> None:
    for box in external.values():
        if node.id.startswith(box.id) and node not in box.nodes:
            box.nodes.append(node)


def add_flows(graph: SystemGraph, documents: list[Mapping[str, Any]], external: Mapping[str, Group]) -> None:
    nodes = graph.nodes()
    index = _index(nodes)
    rules = [n for n in nodes if n.type == RULE]
    replicas = _replica_nodes(external, documents)
    # A function that event rules invoke replicates; one only a schedule invokes (the drift checker) compares.
    event_driven = {
        str(n.inputs.get("arn"))
        for n in nodes
        if n.type == TARGET
        and any(r.outputs.get("name") == n.inputs.get("rule") and r.inputs.get("eventPattern") for r in rules)
    }
    for node in nodes:
        inputs = node.inputs
        if node.type == NOTIFICATION and inputs.get("eventbridge"):
            bucket = index.get(str(inputs.get("bucket")))
            for rule in rules:
                if bucket is not None and _on_default_bus(rule) and _names_bucket(_pattern(rule), bucket.outputs["id"]):
                    graph.add_edge(Edge(bucket.id, rule.id, "S3 events"))
        elif node.type == PIPE:
            table = index.get(str(inputs.get("source")))
            bus = index.get(str(inputs.get("target")))
            if table is not None:
                graph.add_edge(Edge(table.id, node.id, "stream"))
            if bus is not None:
                graph.add_edge(Edge(node.id, bus.id, "puts events"))
            _failure(graph, index, node, ((inputs.get("sourceParameters") or {}).get("dynamodbStreamParameters") or {}))
        elif node.type == RULE and not _on_default_bus(node):
            bus = index.get(str(inputs.get("eventBusName")))
            if bus is not None:
                graph.add_edge(Edge(bus.id, node.id, "matches"))
        elif node.type == TARGET:
            matching = index.get(str(inputs.get("rule")))
            target = index.get(str(inputs.get("arn")))
            if matching is not None and target is not None:
                graph.add_edge(Edge(matching.id, target.id, "invokes" if target.type == FUNCTION else "delivers"))
                _failure(graph, index, matching, inputs)
        elif node.type == MAPPING:
            source, function = index.get(str(inputs.get("eventSourceArn"))), index.get(str(inputs.get("functionName")))
            if source is not None and function is not None:
                graph.add_edge(Edge(source.id, function.id, "polled by"))
        elif node.type == INVOKE_CONFIG:
            function = index.get(str(inputs.get("functionName")))
            destination = ((inputs.get("destinationConfig") or {}).get("onFailure") or {}).get("destination")
            queue = index.get(str(destination))
            if function is not None and queue is not None:
                graph.add_edge(Edge(function.id, queue.id, "on failure", "failure"))
        elif node.type == QUEUE:
            _redrive(graph, index, node)
        elif node.type == FUNCTION:
            verb = "replicates to" if node.outputs.get("arn") in event_driven else "compares with"
            _replication(graph, node, replicas, external, verb)


def _failure(graph: SystemGraph, index: Mapping[str, Node], source: Node, holder: Mapping[str, Any]) -> None:
    queue = index.get(str((holder.get("deadLetterConfig") or {}).get("arn")))
    if queue is not None:
        graph.add_edge(Edge(source.id, queue.id, "dead letters", "failure"))


def _redrive(graph: SystemGraph, index: Mapping[str, Node], queue: Node) -> None:
    text = queue.inputs.get("redrivePolicy")
    try:
        policy = json.loads(text) if isinstance(text, str) else {}
    except ValueError:
        return
    dlq = index.get(str(policy.get("deadLetterTargetArn")))
    if dlq is not None:
        graph.add_edge(Edge(queue.id, dlq.id, "redrive", "failure"))


def _replication(
    graph: SystemGraph, function: Node, replicas: Mapping[str, Node], external: Mapping[str, Group], verb: str
) -> None:
    variables = (function.inputs.get("environment") or {}).get("variables") or {}
    try:
        targets = json.loads(variables.get(REPLICATION_TARGETS) or "[]")
    except ValueError:
        return
    for target in targets:
        for key in ("bucket", "config_table"):
            replica = replicas.get(str(target.get(key)))
            if replica is not None:
                _place(replica, external)
                graph.add_edge(
                    Edge(
                        function.id,
                        replica.id,
                        f"{verb} {target.get('environment')}",
                        "flow" if verb == "replicates to" else "read",
                    )
                )


__all__ = ["add_flows"]
