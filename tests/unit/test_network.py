"""Network tier: VPC over 3 AZs, 6 subnets, NAT, flow logs, ACLs, security groups, reachability."""

from __future__ import annotations

import pytest
from aws_cdk.assertions import Match

from lib.contract import AVAILABILITY_ZONES
from lib.network import security_group_type
from tests.unit.reachability import Endpoint, Network, internet
from tests.unit.support import SUFFIX, Synthesized


def test_vpc_is_named_and_spans_exactly_three_given_azs(stack: Synthesized) -> None:
    stack.template.has_resource_properties(
        "AWS::EC2::VPC",
        {"Tags": Match.array_with([{"Key": "Name", "Value": f"vpc-{SUFFIX}"}]), "EnableDnsSupport": True},
    )
    subnets = stack.of_type("AWS::EC2::Subnet")
    assert len(subnets) == 6
    assert sorted({s["Properties"]["AvailabilityZone"] for s in subnets.values()}) == list(AVAILABILITY_ZONES)


def test_three_public_and_three_private_subnets_one_per_az(stack: Synthesized) -> None:
    network = Network(stack.json)
    for subnet_type in ("Public", "Private"):
        subnets = network.subnets_of_type(subnet_type)
        assert [network.subnets[s]["AvailabilityZone"] for s in subnets] == list(AVAILABILITY_ZONES)
    for subnet in network.subnets_of_type("Public"):
        assert network.subnets[subnet]["MapPublicIpOnLaunch"] is True


def test_private_subnets_route_to_a_nat_gateway_in_their_own_az(stack: Synthesized) -> None:
    network = Network(stack.json)
    public_by_az = {network.subnets[s]["AvailabilityZone"]: s for s in network.subnets_of_type("Public")}
    for subnet in network.subnets_of_type("Private"):
        route = network._default_route(subnet)
        assert route is not None and route[0] == "nat", f"{subnet} is not routed to NAT"
        az = network.subnets[subnet]["AvailabilityZone"]
        assert network.nat_subnet[route[1]] == public_by_az[az], "NAT gateway is not in the subnet's AZ"
    for subnet in network.subnets_of_type("Public"):
        assert network._default_route(subnet) == ("igw", next(iter(network.internet_gateways)))


def test_three_nat_gateways_by_default_and_one_when_configured(stack: Synthesized, tuned: Synthesized) -> None:
    assert len(stack.of_type("AWS::EC2::NatGateway")) == 3
    assert len(tuned.of_type("AWS::EC2::NatGateway")) == 1
    network = Network(tuned.json)
    routes = {network._default_route(s) for s in network.subnets_of_type("Private")}
    assert len(routes) == 1
    (route,) = routes
    assert route is not None and route[0] == "nat"


def test_flow_logs_capture_all_traffic_into_a_30_day_log_group(stack: Synthesized) -> None:
    stack.template.has_resource_properties(
        "AWS::EC2::FlowLog",
        {"ResourceType": "VPC", "TrafficType": "ALL", "LogDestinationType": "cloud-watch-logs"},
    )
    stack.template.has_resource(
        "AWS::Logs::LogGroup",
        {
            "Properties": {"LogGroupName": f"/vpc/flow-logs-{SUFFIX}", "RetentionInDays": 30},
            "DeletionPolicy": "Delete",
        },
    )


def test_network_acls_are_associated_with_all_six_subnets(stack: Synthesized) -> None:
    network = Network(stack.json)
    assert set(network.subnet_acl) == set(network.subnets)
    public_acls = {network.subnet_acl[s] for s in network.subnets_of_type("Public")}
    private_acls = {network.subnet_acl[s] for s in network.subnets_of_type("Private")}
    assert len(public_acls) == 1 and len(private_acls) == 1 and public_acls != private_acls


def test_acl_entries_are_explicit_allow_rules_on_tcp(stack: Synthesized) -> None:
    for entry in stack.of_type("AWS::EC2::NetworkAclEntry").values():
        props = entry["Properties"]
        assert props["Protocol"] == 6, "every ACL rule names TCP and a port range"
        assert props["RuleAction"] == "allow"
        assert "PortRange" in props


def test_no_security_group_admits_the_internet_except_the_alb(stack: Synthesized) -> None:
    network = Network(stack.json)
    alb = network.security_group(f"{security_group_type('alb')}-{SUFFIX}")
    for group, rules in network.ingress.items():
        for rule in rules:
            if rule.get("CidrIp") == "0.0.0.0/0" or rule.get("CidrIpv6") == "::/0":
                assert group == alb, f"{group} admits the internet"
                assert (rule["FromPort"], rule["ToPort"]) in ((80, 80), (443, 443))


# ---------------------------------------------------------------- reachability


@pytest.fixture(scope="module")
def net(stack: Synthesized) -> Network:
    return Network(stack.json)


def tier(net: Network, name: str) -> list[Endpoint]:
    if name == "internet":
        return internet()
    subnet_type = "Public" if name == "alb" else "Private"
    return net.endpoints(name, f"{security_group_type(name)}-{SUFFIX}", subnet_type)


REQUIRED_FLOWS = [
    ("internet", "alb", 80),
    ("internet", "alb", 443),
    ("alb", "frontend", 8080),
    ("alb", "backend", 8000),
    ("backend", "database", 5432),
    ("frontend", "internet", 443),
    ("backend", "internet", 443),
]

FORBIDDEN_FLOWS = [
    ("internet", "frontend", 8080),
    ("internet", "backend", 8000),
    ("internet", "database", 5432),
    ("frontend", "database", 5432),
    ("alb", "database", 5432),
    ("alb", "backend", 8080),
    ("alb", "frontend", 8000),
    ("frontend", "backend", 8000),
    ("backend", "internet", 80),
    ("database", "internet", 443),
    ("internet", "alb", 22),
    # The ALB exposes only its listeners, never the task ports.
    ("internet", "alb", 8080),
    ("internet", "alb", 8000),
    # Tiers talk only along the request path: no lateral moves between workloads.
    ("backend", "frontend", 8080),
    # Outbound from tasks is HTTPS only.
    ("frontend", "internet", 80),
]


@pytest.mark.parametrize(("source", "destination", "port"), REQUIRED_FLOWS)
def test_required_flow_passes_security_groups_acls_and_routes(net: Network, source: str, destination: str, port: int) -> None:
    results = net.flow(tier(net, source), tier(net, destination), port)
    blocked = {pair: why for pair, why in results.items() if why is not None}
    assert not blocked, f"required flow blocked: {blocked}"


@pytest.mark.parametrize(("source", "destination", "port"), FORBIDDEN_FLOWS)
def test_forbidden_flow_is_stopped(net: Network, source: str, destination: str, port: int) -> None:
    results = net.flow(tier(net, source), tier(net, destination), port)
    allowed = [pair for pair, why in results.items() if why is None]
    assert not allowed, f"forbidden flow allowed: {allowed}"


def test_evaluator_detects_a_missing_acl_return_rule(stack: Synthesized) -> None:
    """The evaluator itself: drop the private ACL's ephemeral ingress and NAT egress must fail."""
    import copy

    template = copy.deepcopy(stack.json)
    net = Network(template)
    private_acl = net.subnet_acl[net.subnets_of_type("Private")[0]]
    for key, resource in list(template["Resources"].items()):
        props = resource.get("Properties", {})
        if (
            resource["Type"] == "AWS::EC2::NetworkAclEntry"
            and props["NetworkAclId"] == {"Ref": private_acl}
            and not props.get("Egress")
            and props["PortRange"] == {"From": 1024, "To": 65535}
        ):
            del template["Resources"][key]
    broken = Network(template)
    results = broken.flow(tier(broken, "backend"), internet(), 443)
    assert all(why is not None and "reply" in why for why in results.values()), results


@pytest.mark.parametrize("variant", ["stack", "tuned"])
def test_no_security_group_keeps_the_default_allow_all_egress(request: pytest.FixtureRequest, variant: str) -> None:
    """EC2 adds an allow-all egress rule to every new group; CloudFormation removes it only when the
    group lists SecurityGroupEgress itself (separate AWS::EC2::SecurityGroupEgress resources do not)."""
    stack: Synthesized = request.getfixturevalue(variant)
    for key, group in stack.of_type("AWS::EC2::SecurityGroup").items():
        egress = group["Properties"].get("SecurityGroupEgress")
        assert egress, f"{key} ({group['Properties'].get('GroupName')}) keeps EC2's default allow-all egress"
        assert all(not (rule.get("CidrIp") == "0.0.0.0/0" and rule.get("IpProtocol") == "-1") for rule in egress), key
