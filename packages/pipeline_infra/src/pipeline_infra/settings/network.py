"""The company network an environment's functions run in: an existing VPC and its private subnets.

Optional per environment: without it the functions run outside any VPC. The VPC, subnets and route tables
belong to the company (the project never creates or changes them); the project adds a security group for
its functions and the VPC endpoints they need to reach AWS without an internet route.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator

# EC2 ids: a prefix and 8 or 17 lowercase hexadecimal digits.
VPC_ID = re.compile(r"^vpc-([0-9a-f]{8}|[0-9a-f]{17})$")
SUBNET_ID = re.compile(r"^subnet-([0-9a-f]{8}|[0-9a-f]{17})$")
ROUTE_TABLE_ID = re.compile(r"^rtb-([0-9a-f]{8}|[0-9a-f]{17})$")
SECURITY_GROUP_ID = re.compile(r"^sg-([0-9a-f]{8}|[0-9a-f]{17})$")
# Lambda accepts at most 16 subnets and 5 security groups; the project adds one group of its own.
MAX_SUBNETS = 16
MAX_EXTRA_SECURITY_GROUPS = 4


def _check_ids(values: list[str], pattern: re.Pattern[str], what: str) -> list[str]:
    malformed = [value for value in values if not pattern.match(value)]
    if malformed:
        raise ValueError(f"malformed {what} id(s) {malformed}: expected {pattern.pattern}")
    if len(set(values)) != len(values):
        raise ValueError(f"{what} ids must be unique, got {values}")
    return values


class NetworkSettings(BaseModel):
    """An existing VPC, its private subnets (at least two, in different availability zones) and their route tables."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    vpc_id: str = Field(description="The company VPC the functions run in, e.g. vpc-0a1b2c3d4e5f60718.")
    # At least two: Lambda keeps running through the loss of one availability zone only with subnets in two.
    # Ids cannot say which zone a subnet is in; `pipeline-infra sandbox network` creates them in distinct zones.
    subnet_ids: list[str] = Field(
        min_length=2,
        max_length=MAX_SUBNETS,
        description="Private subnets of the VPC, at least two in different availability zones.",
    )
    route_table_ids: list[str] = Field(
        min_length=1,
        description="Route tables of those subnets; the S3 and DynamoDB gateway endpoints are added to them.",
    )
    security_group_ids: list[str] = Field(
        default_factory=list,
        max_length=MAX_EXTRA_SECURITY_GROUPS,
        description="Company security groups added to every function beside the one the project creates.",
    )

    @field_validator("vpc_id")
    @classmethod
    def _vpc_id(cls, value: str) -> str:
        if not VPC_ID.match(value):
            raise ValueError(f"malformed VPC id {value!r}: expected {VPC_ID.pattern}")
        return value

    @field_validator("subnet_ids")
    @classmethod
    def _subnet_ids(cls, values: list[str]) -> list[str]:
        return _check_ids(values, SUBNET_ID, "subnet")

    @field_validator("route_table_ids")
    @classmethod
    def _route_table_ids(cls, values: list[str]) -> list[str]:
        return _check_ids(values, ROUTE_TABLE_ID, "route table")

    @field_validator("security_group_ids")
    @classmethod
    def _security_group_ids(cls, values: list[str]) -> list[str]:
        return _check_ids(values, SECURITY_GROUP_ID, "security group")
