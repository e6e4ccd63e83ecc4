"""One VPC endpoint: a gateway endpoint on route tables, or an interface endpoint with private DNS."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pulumi
import pulumi_aws as aws

if TYPE_CHECKING:
    from collections.abc import Sequence

    from pipeline_infra.policies import PolicyDocument


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
    return pulumi.Output.from_input(policy).apply(lambda document: json.dumps(document))
