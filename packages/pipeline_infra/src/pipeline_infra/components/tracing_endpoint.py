"""The X-Ray interface endpoint of a networked environment where tracing is on.

A component of its own so that an environment without tracing lacks one approvable thing
(`pipeline-infra:storage:TracingEndpoint` in approved_differences.yaml) rather than an endpoint among others.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pulumi

from pipeline_infra.components.aliases import carry_over
from pipeline_infra.components.endpoints import interface_endpoint
from pipeline_infra.policies import network

if TYPE_CHECKING:
    from collections.abc import Sequence

TYPE_TOKEN = "pipeline-infra:storage:TracingEndpoint"
SERVICE = "xray"


@dataclass(kw_only=True, frozen=True)
class TracingEndpointArgs:
    region: str
    """Region of the VPC."""
    vpc_id: str
    """The existing VPC."""
    subnet_ids: Sequence[str]
    """Its private subnets."""
    security_group_id: pulumi.Input[str]
    """The interface endpoints' security group."""
    accounts: Sequence[str]
    """Accounts whose principals may upload traces through it."""


class TracingEndpoint(pulumi.ComponentResource):
    endpoint_id: pulumi.Output[str]

    def __init__(self, name: str, args: TracingEndpointArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE_TOKEN, name, None, carry_over(TYPE_TOKEN, opts))
        endpoint = interface_endpoint(
            f"{name}-endpoint",
            region=args.region,
            service=SERVICE,
            vpc_id=args.vpc_id,
            subnet_ids=args.subnet_ids,
            security_group_id=args.security_group_id,
            policy=network.xray_endpoint(list(args.accounts)),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.endpoint_id = endpoint.id
        self.register_outputs({"endpoint_id": self.endpoint_id})
