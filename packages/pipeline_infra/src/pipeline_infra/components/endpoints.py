"""One VPC endpoint (a gateway endpoint on route tables, or an interface endpoint with private DNS), and what
the endpoints' policies let through."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pulumi
import pulumi_aws as aws

if TYPE_CHECKING:
    from collections.abc import Sequence

    from pipeline_infra.policies import PolicyDocument


@dataclass(kw_only=True, frozen=True)
class EndpointAccess:
    """What the endpoint policies let through: this environment's resources and, in the replication source,
    the targets' buckets, tables and writer roles the replicas are written with."""

    accounts: Sequence[str]
    """Accounts whose principals may use the endpoints (this environment's, and the targets' in the source)."""
    bucket_arns: Sequence[pulumi.Input[str]]
    """This environment's buckets."""
    replica_bucket_arns: Sequence[pulumi.Input[str]] = ()
    """The targets' buckets the replicator writes (replication source only)."""
    table_arns: Sequence[pulumi.Input[str]]
    """This environment's tables."""
    replica_table_arns: Sequence[pulumi.Input[str]] = ()
    """The targets' config tables the replicator writes (replication source only)."""
    queue_arns: Sequence[pulumi.Input[str]]
    """This environment's queues."""
    topic_arns: Sequence[pulumi.Input[str]]
    """This environment's topics."""
    assumed_role_arns: Sequence[pulumi.Input[str]] = ()
    """Roles the functions assume (the targets' writer roles); none: STS lets nothing through."""
    log_group_arns: Sequence[pulumi.Input[str]]
    """Log groups of this environment's functions."""
    rule_arns: Sequence[pulumi.Input[str]]
    """This environment's EventBridge rules."""
    bus_arns: Sequence[pulumi.Input[str]]
    """This environment's event buses."""
    metrics_namespace: str
    """The one CloudWatch namespace metrics may be put in."""


def service_name(region: str, service: str) -> str:
    return f"com.amazonaws.{region}.{service}"


def gateway_endpoint(
    name: str,
    *,
    region: str,
    service: str,
    vpc_id: str,
    route_table_ids: Sequence[str],
    policy: pulumi.Input[PolicyDocument],
    opts: pulumi.ResourceOptions,
) -> aws.ec2.VpcEndpoint:
    return aws.ec2.VpcEndpoint(
        name,
        vpc_id=vpc_id,
        service_name=service_name(region, service),
        vpc_endpoint_type="Gateway",
        route_table_ids=list(route_table_ids),
        policy=_json(policy),
        opts=opts,
    )


def interface_endpoint(
    name: str,
    *,
    region: str,
    service: str,
    vpc_id: str,
    subnet_ids: Sequence[str],
    security_group_id: pulumi.Input[str],
    policy: pulumi.Input[PolicyDocument],
    opts: pulumi.ResourceOptions,
) -> aws.ec2.VpcEndpoint:
    # Private DNS makes the service's public name resolve to the endpoint, so the SDKs need no endpoint setting.
    return aws.ec2.VpcEndpoint(
        name,
        vpc_id=vpc_id,
        service_name=service_name(region, service),
        vpc_endpoint_type="Interface",
        subnet_ids=list(subnet_ids),
        security_group_ids=[security_group_id],
        private_dns_enabled=True,
        policy=_json(policy),
        opts=opts,
    )


def _json(policy: pulumi.Input[PolicyDocument]) -> pulumi.Output[str]:
    return pulumi.Output.from_input(policy).apply(json.dumps)
