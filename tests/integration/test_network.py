"""Network tier: six subnets over three availability zones, NAT gateways up."""

from __future__ import annotations

from collections import Counter

from lib.contract import Output
from tests.integration.harness import AwsClients, Outputs, aws_collect

EXPECTED_SUBNETS = 6
EXPECTED_AZS = 3


def test_vpc_has_six_subnets_across_three_azs(outputs: Outputs, aws: AwsClients) -> None:
    vpc_id = outputs[Output.VPC_ID]
    subnets = aws_collect(aws("ec2"), "describe_subnets", "Subnets", Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])
    per_az = Counter(s["AvailabilityZone"] for s in subnets)
    found = f"{len(subnets)} subnets in {len(per_az)} AZs ({dict(sorted(per_az.items()))})"
    assert len(subnets) == EXPECTED_SUBNETS, f"VPC {vpc_id}: expected {EXPECTED_SUBNETS} subnets, found {found}"
    assert len(per_az) == EXPECTED_AZS, f"VPC {vpc_id}: expected subnets in {EXPECTED_AZS} AZs, found {found}"
    assert set(per_az.values()) == {EXPECTED_SUBNETS // EXPECTED_AZS}, (
        f"VPC {vpc_id}: expected {EXPECTED_SUBNETS // EXPECTED_AZS} subnets (public + private) per AZ, found {found}"
    )
    not_available = [f"{s['SubnetId']}={s.get('State')}" for s in subnets if s.get("State") != "available"]
    assert not not_available, f"VPC {vpc_id}: expected every subnet available, found {not_available}"


def test_nat_gateways_available(outputs: Outputs, aws: AwsClients) -> None:
    vpc_id = outputs[Output.VPC_ID]
    gateways = aws_collect(aws("ec2"), "describe_nat_gateways", "NatGateways", Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])
    # A NAT gateway deleted by an earlier update stays listed for about an hour.
    current = [g for g in gateways if g.get("State") not in ("deleting", "deleted")]
    states = {g["NatGatewayId"]: g.get("State") for g in current}
    assert current, f"VPC {vpc_id}: expected at least one NAT gateway, found none (all listed: {len(gateways)})"
    assert all(state == "available" for state in states.values()), (
        f"VPC {vpc_id}: expected every NAT gateway available, found {states}"
    )
