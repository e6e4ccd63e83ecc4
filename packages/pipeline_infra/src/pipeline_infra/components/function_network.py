"""The functions' side of an existing VPC: their security group and the endpoints they reach AWS through.

The VPC, its subnets and route tables are the company's; this component adds
- a security group for the functions: no ingress; egress only HTTPS to the interface endpoints' group and to
  the S3 and DynamoDB prefix lists (the gateway endpoints' routes);
- a security group for the interface endpoints: HTTPS in from the functions' group only;
- gateway endpoints for S3 and DynamoDB on the subnets' route tables;
- interface endpoints, with private DNS, for SQS, SNS, STS, CloudWatch Logs, CloudWatch and EventBridge, and
  for X-Ray where tracing is on (its own component, so drift approves it where tracing is approved);
each with a policy that lets through only the functions' actions on this environment's resources.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pulumi
import pulumi_aws as aws

from pipeline_infra.components.aliases import carry_over
from pipeline_infra.components.endpoints import EndpointAccess, gateway_endpoint, interface_endpoint
from pipeline_infra.components.tracing_endpoint import TracingEndpoint, TracingEndpointArgs
from pipeline_infra.policies import network

if TYPE_CHECKING:
    from collections.abc import Sequence

    from pipeline_infra.policies import PolicyDocument

TYPE_TOKEN = "pipeline-infra:storage:FunctionNetwork"
HTTPS = 443


@dataclass(kw_only=True, frozen=True)
class FunctionNetworkArgs:
    region: str
    """Region of the VPC; endpoint service names are `com.amazonaws.<region>.<service>`."""
    vpc_id: str
    """The existing VPC."""
    subnet_ids: Sequence[str]
    """Its private subnets (one per availability zone for the interface endpoints)."""
    route_table_ids: Sequence[str]
    """The subnets' route tables, which get the S3 and DynamoDB gateway routes."""
    functions_group_name: str
    """Name of the functions' security group."""
    endpoints_group_name: str
    """Name of the interface endpoints' security group."""
    tracing: bool
    """Whether the X-Ray endpoint is created."""
    access: EndpointAccess
    """What each endpoint policy allows."""


# Interface endpoints every networked environment has (X-Ray is added where tracing is on).
INTERFACE_SERVICES = ("sqs", "sns", "sts", "logs", "monitoring", "events")


def _resolved(arns: Sequence[pulumi.Input[str]]) -> pulumi.Output[list[str]]:
    return pulumi.Output.all(*arns).apply(lambda values: [str(value) for value in values])


def interface_policy(service: str, access: EndpointAccess, accounts: list[str]) -> pulumi.Output[PolicyDocument]:
    """The endpoint policy of one interface endpoint, once the ARNs it names are known."""
    if service == "sqs":
        return _resolved(access.queue_arns).apply(lambda arns: network.sqs_endpoint(arns, accounts))
    if service == "sns":
        return _resolved(access.topic_arns).apply(lambda arns: network.sns_endpoint(arns, accounts))
    if service == "sts":
        return _resolved(access.assumed_role_arns).apply(lambda arns: network.sts_endpoint(arns, accounts))
    if service == "logs":
        return _resolved(access.log_group_arns).apply(lambda arns: network.logs_endpoint(arns, accounts))
    if service == "monitoring":
        return pulumi.Output.from_input(network.monitoring_endpoint(access.metrics_namespace, accounts))
    if service == "events":
        return pulumi.Output.all(_resolved(access.rule_arns), _resolved(access.bus_arns)).apply(
            lambda arns: network.events_endpoint(arns[0], arns[1], accounts)
        )
    raise ValueError(f"no endpoint policy for service {service!r}; expected one of {INTERFACE_SERVICES}")


class FunctionNetwork(pulumi.ComponentResource):
    security_group_id: pulumi.Output[str]

    def __init__(self, name: str, args: FunctionNetworkArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE_TOKEN, name, None, carry_over(TYPE_TOKEN, opts))
        child = pulumi.ResourceOptions(parent=self)
        accounts = sorted(set(args.access.accounts))
        self.functions_group = aws.ec2.SecurityGroup(
            f"{name}-functions",
            name=args.functions_group_name,
            description="Pipeline functions: no ingress; HTTPS out to the VPC endpoints only",
            vpc_id=args.vpc_id,
            opts=child,
        )
        self.endpoints_group = aws.ec2.SecurityGroup(
            f"{name}-endpoints",
            name=args.endpoints_group_name,
            description="Pipeline VPC endpoints: HTTPS in from the pipeline functions only",
            vpc_id=args.vpc_id,
            opts=child,
        )
        aws.vpc.SecurityGroupIngressRule(
            f"{name}-endpoints-https-in",
            security_group_id=self.endpoints_group.id,
            referenced_security_group_id=self.functions_group.id,
            ip_protocol="tcp",
            from_port=HTTPS,
            to_port=HTTPS,
            description="HTTPS from the pipeline functions",
            opts=child,
        )
        gateways = self._create_gateways(name, args, accounts, child)
        self._create_egress(name, gateways, child)
        self.endpoints = {
            service: interface_endpoint(
                f"{name}-{service}",
                region=args.region,
                service=service,
                vpc_id=args.vpc_id,
                subnet_ids=args.subnet_ids,
                security_group_id=self.endpoints_group.id,
                policy=interface_policy(service, args.access, accounts),
                opts=child,
            )
            for service in INTERFACE_SERVICES
        }
        if args.tracing:
            TracingEndpoint(
                f"{name}-xray",
                TracingEndpointArgs(
                    region=args.region,
                    vpc_id=args.vpc_id,
                    subnet_ids=args.subnet_ids,
                    security_group_id=self.endpoints_group.id,
                    accounts=accounts,
                ),
                opts=child,
            )
        self.security_group_id = self.functions_group.id
        self.register_outputs({"security_group_id": self.security_group_id})

    def _create_gateways(
        self, name: str, args: FunctionNetworkArgs, accounts: list[str], child: pulumi.ResourceOptions
    ) -> list[aws.ec2.VpcEndpoint]:
        access = args.access
        s3_policy = pulumi.Output.all(_resolved(access.bucket_arns), _resolved(access.replica_bucket_arns)).apply(
            lambda arns: network.s3_endpoint(arns[0], arns[1], accounts)
        )
        dynamodb_policy = pulumi.Output.all(_resolved(access.table_arns), _resolved(access.replica_table_arns)).apply(
            lambda arns: network.dynamodb_endpoint(arns[0], arns[1], accounts)
        )
        return [
            gateway_endpoint(
                f"{name}-{service}",
                region=args.region,
                service=service,
                vpc_id=args.vpc_id,
                route_table_ids=args.route_table_ids,
                policy=policy,
                opts=child,
            )
            for service, policy in (("s3", s3_policy), ("dynamodb", dynamodb_policy))
        ]

    def _create_egress(self, name: str, gateways: list[aws.ec2.VpcEndpoint], child: pulumi.ResourceOptions) -> None:
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-functions-https-to-endpoints",
            security_group_id=self.functions_group.id,
            referenced_security_group_id=self.endpoints_group.id,
            ip_protocol="tcp",
            from_port=HTTPS,
            to_port=HTTPS,
            description="HTTPS to the interface endpoints",
            opts=child,
        )
        # Gateway endpoints are routes, not interfaces: traffic to them is addressed to the service's prefix list.
        for gateway, service in zip(gateways, ("s3", "dynamodb"), strict=True):
            aws.vpc.SecurityGroupEgressRule(
                f"{name}-functions-https-to-{service}",
                security_group_id=self.functions_group.id,
                prefix_list_id=gateway.prefix_list_id,
                ip_protocol="tcp",
                from_port=HTTPS,
                to_port=HTTPS,
                description=f"HTTPS to {service} through its gateway endpoint",
                opts=child,
            )
