"""Where a function runs in a VPC: its subnets and security groups, and the execution-role grants that takes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pulumi
import pulumi_aws as aws

from pipeline_infra.policies import network

if TYPE_CHECKING:
    from collections.abc import Sequence


@dataclass(kw_only=True, frozen=True)
class VpcPlacement:
    """The private subnets a function's network interfaces go in, and the security groups they carry."""

    region: str
    """Region of the subnets (and of the function)."""
    account_id: str
    """Account that owns the network interfaces Lambda creates."""
    subnet_ids: Sequence[str]
    """At least two private subnets, in different availability zones."""
    security_group_ids: Sequence[pulumi.Input[str]]
    """The project's function security group first, then any the company adds."""

    def vpc_config(self) -> aws.lambda_.FunctionVpcConfigArgs:
        return aws.lambda_.FunctionVpcConfigArgs(
            subnet_ids=list(self.subnet_ids), security_group_ids=list(self.security_group_ids)
        )

    def statements(self) -> pulumi.Output[list[dict[str, Any]]]:
        """The network-interface grants Lambda needs of the execution role, once the group ids are known."""
        return pulumi.Output.all(*self.security_group_ids).apply(
            lambda groups: network.network_interfaces(
                self.region, self.account_id, list(self.subnet_ids), [str(group) for group in groups]
            )
        )
