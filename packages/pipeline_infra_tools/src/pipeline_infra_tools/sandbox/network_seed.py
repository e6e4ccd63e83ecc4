"""`pipeline-infra sandbox network`: a stand-in for the company network that settings name, in the emulator.

In AWS the VPC, its private subnets and their route tables exist before the project deploys, and settings
carry their ids. The emulator starts empty and makes up its own ids, so for every environment whose settings
give a `network` this creates a VPC, one subnet per configured subnet (each in its own availability zone) and
one route table per configured route table (the subnets associated in turn), then writes the new ids into
that environment's settings file in place of the old ones. A network whose ids the emulator already holds is
kept, once its subnets are checked to lie in distinct zones; running it again changes nothing.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pipeline_infra.settings import load_settings
from pipeline_infra_tools.sandbox.admin_clients import AdminClients
from pipeline_infra_tools.sandbox.exceptions import SandboxError

if TYPE_CHECKING:
    from pathlib import Path

    from pipeline_infra.settings import NetworkSettings
    from pipeline_infra_tools.sandbox.state import SandboxState


@dataclass(frozen=True)
class SeededNetwork:
    """One environment's network in the emulator: its ids, the subnets' zones and whether it was made now."""

    environment: str
    vpc_id: str
    subnet_ids: tuple[str, ...]
    availability_zones: tuple[str, ...]
    route_table_ids: tuple[str, ...]
    created: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "environment": self.environment,
            "vpc_id": self.vpc_id,
            "subnet_ids": list(self.subnet_ids),
            "availability_zones": list(self.availability_zones),
            "route_table_ids": list(self.route_table_ids),
            "created": self.created,
        }


def _existing(ec2: Any, network: NetworkSettings) -> tuple[str, ...] | None:
    """The subnets' zones when the emulator holds the whole network already, else None."""
    vpcs = ec2.describe_vpcs(Filters=[{"Name": "vpc-id", "Values": [network.vpc_id]}])["Vpcs"]
    subnets = ec2.describe_subnets(Filters=[{"Name": "subnet-id", "Values": list(network.subnet_ids)}])["Subnets"]
    tables = ec2.describe_route_tables(Filters=[{"Name": "route-table-id", "Values": list(network.route_table_ids)}])
    if (
        not vpcs
        or len(subnets) != len(network.subnet_ids)
        or len(tables["RouteTables"]) != len(network.route_table_ids)
    ):
        return None
    zones = {subnet["SubnetId"]: subnet["AvailabilityZone"] for subnet in subnets}
    return tuple(zones[subnet] for subnet in network.subnet_ids)


def _create(ec2: Any, region: str, network: NetworkSettings, index: int) -> SeededNetwork:
    vpc_id = ec2.create_vpc(CidrBlock=f"10.{index}.0.0/16")["Vpc"]["VpcId"]
    zones = [f"{region}{letter}" for letter in string.ascii_lowercase[: len(network.subnet_ids)]]
    subnets = [
        ec2.create_subnet(VpcId=vpc_id, CidrBlock=f"10.{index}.{number}.0/24", AvailabilityZone=zone)["Subnet"][
            "SubnetId"
        ]
        for number, zone in enumerate(zones, start=1)
    ]
    tables = [ec2.create_route_table(VpcId=vpc_id)["RouteTable"]["RouteTableId"] for _ in network.route_table_ids]
    for number, subnet in enumerate(subnets):
        ec2.associate_route_table(RouteTableId=tables[number % len(tables)], SubnetId=subnet)
    return SeededNetwork("", vpc_id, tuple(subnets), tuple(zones), tuple(tables), created=True)


def _rewrite(path: Path, network: NetworkSettings, seeded: SeededNetwork) -> None:
    """Each old id replaced by its new one, so the file keeps its comments and layout."""
    text = path.read_text(encoding="utf-8")
    pairs = [
        (network.vpc_id, seeded.vpc_id),
        *zip(network.subnet_ids, seeded.subnet_ids, strict=True),
        *zip(network.route_table_ids, seeded.route_table_ids, strict=True),
    ]
    for old, new in pairs:
        if old not in text:
            raise SandboxError(
                f"{path}: network id {old} is not written in this file (inherited from base.yaml?); "
                "give each environment's network ids in its own file"
            )
        text = text.replace(old, new)
    path.write_text(text, encoding="utf-8")


def seed_networks(config_dir: Path, state: SandboxState) -> list[SeededNetwork]:
    """Create (or find) every environment's network in the emulator and write its ids into `config_dir`."""
    settings = load_settings(config_dir)
    seeded: list[SeededNetwork] = []
    admin = AdminClients(state)
    for index, (name, env) in enumerate(settings.environments.items(), start=1):
        network = env.network
        if network is None:
            continue
        ec2 = admin.client("ec2", env.account_id, env.region)
        zones = _existing(ec2, network)
        if zones is None:
            made = _create(ec2, env.region, network, index)
            _rewrite(config_dir / f"{name}.yaml", network, made)
            result = SeededNetwork(
                name, made.vpc_id, made.subnet_ids, made.availability_zones, made.route_table_ids, True
            )
        else:
            result = SeededNetwork(
                name, network.vpc_id, tuple(network.subnet_ids), zones, tuple(network.route_table_ids), False
            )
        if len(set(result.availability_zones)) < 2:
            raise SandboxError(
                f"{config_dir / (name + '.yaml')}: network.subnet_ids: {list(result.subnet_ids)} all lie in "
                f"{result.availability_zones[0]}; expected subnets in at least two availability zones"
            )
        seeded.append(result)
    load_settings(config_dir)  # the rewritten files still validate
    return seeded
