"""What the storage layer gives `FunctionNetwork`: the environment's network settings and, for the endpoint
policies, the ARN of every resource the environment's functions reach through an endpoint.

Resources of the storage layer come from its own components; those of later layers (queues, topics, log
groups, rules, buses) by their names, which settings fix, as the source's role ARNs are known to its targets.
In the replication source the targets' buckets, config tables and writer roles come from their storage stacks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pipeline_infra.components import EndpointAccess, FunctionNetworkArgs
from pipeline_infra.function_environment import METRICS_NAMESPACE
from pipeline_infra.layers import REPLICA_WRITER_ROLE_ARN_OUTPUT, STORAGE

if TYPE_CHECKING:
    import pulumi

    from pipeline_infra.context import LayerContext

# Functions of every environment, and those only the replication source has.
PROCESSING_FUNCTIONS = ("validator", "task-processor")
REPLICATION_FUNCTIONS = ("replicator", "drift-checker")
QUEUES = ("tasks", "tasks-dlq", "replication-dlq")
TOPICS = ("success", "failure")


def _arn(ctx: LayerContext, service: str, resource: str) -> str:
    return f"arn:aws:{service}:{ctx.env.region}:{ctx.env.account_id}:{resource}"


def _is_source(ctx: LayerContext) -> bool:
    return ctx.env.name == ctx.settings.project.source_environment


def _event_resources(ctx: LayerContext) -> tuple[list[str], list[str]]:
    """(rule ARNs, bus ARNs): rules on the default bus are `rule/<name>`, on another bus `rule/<bus>/<name>`."""
    names = ctx.names
    rules = [_arn(ctx, "events", f"rule/{names.rule('raw-uploads')}")]
    buses = [_arn(ctx, "events", "event-bus/default")]
    if _is_source(ctx):
        bus = names.resource("bus", "replication")
        rules += [
            _arn(ctx, "events", f"rule/{names.rule('s3-changes')}"),
            _arn(ctx, "events", f"rule/{bus}/{names.rule('config-changes')}"),
            _arn(ctx, "events", f"rule/{names.rule('drift-schedule')}"),
        ]
        buses.append(_arn(ctx, "events", f"event-bus/{bus}"))
    return rules, buses


def endpoint_access(
    ctx: LayerContext, bucket_arn: pulumi.Input[str], table_arns: list[pulumi.Input[str]]
) -> EndpointAccess:
    names, source = ctx.names, _is_source(ctx)
    targets = list(ctx.env.replication.targets) if source else []
    functions = PROCESSING_FUNCTIONS + (REPLICATION_FUNCTIONS if source else ())
    tables: list[pulumi.Input[str]] = list(table_arns)
    if source:
        tables.append(_arn(ctx, "dynamodb", f"table/{names.idempotency_table}"))
    target_storage = [ctx.stack_reference(STORAGE, target) for target in targets]
    rules, buses = _event_resources(ctx)
    replica_buckets: list[Any] = [storage.require_output("bucket_arn") for storage in target_storage]
    replica_tables: list[Any] = [storage.require_output("config_table_arn") for storage in target_storage]
    writer_roles: list[Any] = [storage.require_output(REPLICA_WRITER_ROLE_ARN_OUTPUT) for storage in target_storage]
    return EndpointAccess(
        accounts=sorted({ctx.env.account_id, *(ctx.settings.env(target).account_id for target in targets)}),
        bucket_arns=[bucket_arn],
        replica_bucket_arns=replica_buckets,
        table_arns=tables,
        replica_table_arns=replica_tables,
        queue_arns=[_arn(ctx, "sqs", names.queue(queue)) for queue in QUEUES],
        topic_arns=[_arn(ctx, "sns", names.topic(topic)) for topic in TOPICS],
        assumed_role_arns=writer_roles,
        log_group_arns=[_arn(ctx, "logs", f"log-group:{names.log_group(function)}") for function in functions],
        rule_arns=rules,
        bus_arns=buses,
        metrics_namespace=METRICS_NAMESPACE,
    )


def function_network_args(
    ctx: LayerContext, bucket_arn: pulumi.Input[str], table_arns: list[pulumi.Input[str]]
) -> FunctionNetworkArgs | None:
    """The environment's function network, or None when settings give no `network`."""
    network = ctx.env.network
    if network is None:
        return None
    return FunctionNetworkArgs(
        region=ctx.env.region,
        vpc_id=network.vpc_id,
        subnet_ids=tuple(network.subnet_ids),
        route_table_ids=tuple(network.route_table_ids),
        functions_group_name=ctx.names.resource("net", "functions"),
        endpoints_group_name=ctx.names.resource("net", "endpoints"),
        tracing=ctx.env.functions.tracing,
        access=endpoint_access(ctx, bucket_arn, table_arns),
    )
