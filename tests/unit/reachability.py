"""Decide from a synthesized template whether a network flow is allowed.

A flow (source, destination, TCP port) passes when every layer on its path lets
it through, both ways: security groups (stateful: checked on the way out and in),
network ACLs (stateless: the request and the reply on an ephemeral port are both
checked, at every subnet boundary), and route tables (the internet reaches only
subnets routed to the internet gateway; private subnets reach it through NAT).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

INTERNET_IP = "198.51.100.7"
EPHEMERAL_PORT = 40000  # the client's source port, as the reply's destination


@dataclass(frozen=True)
class Endpoint:
    name: str
    ip: str
    security_group: str | None  # logical id
    subnet: str | None  # logical id; None for the internet


def _ref(value: Any) -> str | None:
    if isinstance(value, dict):
        if "Ref" in value:
            return str(value["Ref"])
        if "Fn::GetAtt" in value:
            return str(value["Fn::GetAtt"][0])
    return None


def _in_cidr(ip: str, cidr: str) -> bool:
    return ipaddress.ip_address(ip) in ipaddress.ip_network(cidr, strict=False)


def _tcp(protocol: Any) -> bool:
    return str(protocol) in ("tcp", "6", "-1")


class Network:
    """The network layers of one template."""

    def __init__(self, template: dict[str, Any]) -> None:
        self.resources: dict[str, dict[str, Any]] = template["Resources"]
        self.subnets = {k: v["Properties"] for k, v in self._of("AWS::EC2::Subnet")}
        self.subnet_acl = {
            _ref(v["Properties"]["SubnetId"]): _ref(v["Properties"]["NetworkAclId"])
            for _, v in self._of("AWS::EC2::SubnetNetworkAclAssociation")
        }
        self.subnet_route_table = {
            _ref(v["Properties"]["SubnetId"]): _ref(v["Properties"]["RouteTableId"])
            for _, v in self._of("AWS::EC2::SubnetRouteTableAssociation")
        }
        self.acl_entries: dict[str, list[dict[str, Any]]] = {}
        for _, v in self._of("AWS::EC2::NetworkAclEntry"):
            acl = _ref(v["Properties"]["NetworkAclId"])
            assert acl is not None
            self.acl_entries.setdefault(acl, []).append(v["Properties"])
        self.routes: dict[str, list[dict[str, Any]]] = {}
        for _, v in self._of("AWS::EC2::Route"):
            table = _ref(v["Properties"]["RouteTableId"])
            assert table is not None
            self.routes.setdefault(table, []).append(v["Properties"])
        self.nat_subnet = {k: _ref(v["Properties"]["SubnetId"]) for k, v in self._of("AWS::EC2::NatGateway")}
        self.internet_gateways = {k for k, _ in self._of("AWS::EC2::InternetGateway")}
        self.ingress, self.egress = self._security_group_rules()

    def _of(self, resource_type: str) -> list[tuple[str, dict[str, Any]]]:
        return [(k, v) for k, v in self.resources.items() if v["Type"] == resource_type]

    def _security_group_rules(self) -> tuple[dict[str, list[dict[str, Any]]], dict[str, list[dict[str, Any]]]]:
        ingress: dict[str, list[dict[str, Any]]] = {}
        egress: dict[str, list[dict[str, Any]]] = {}
        for key, v in self._of("AWS::EC2::SecurityGroup"):
            props = v["Properties"]
            ingress[key] = list(props.get("SecurityGroupIngress", []))
            # A group without egress rules in CloudFormation allows all outbound.
            egress[key] = list(props.get("SecurityGroupEgress", [{"CidrIp": "0.0.0.0/0", "IpProtocol": "-1"}]))
        for resource_type, rules in (
            ("AWS::EC2::SecurityGroupIngress", ingress),
            ("AWS::EC2::SecurityGroupEgress", egress),
        ):
            for _, v in self._of(resource_type):
                group = _ref(v["Properties"]["GroupId"])
                assert group is not None
                rules.setdefault(group, []).append(v["Properties"])
        return ingress, egress

    # ----------------------------------------------------------- lookups
    def security_group(self, group_name: str) -> str:
        for key, v in self._of("AWS::EC2::SecurityGroup"):
            if v["Properties"].get("GroupName") == group_name:
                return key
        raise KeyError(f"no security group named {group_name}")

    def subnets_of_type(self, subnet_type: str) -> list[str]:
        """Subnets tagged by CDK as Public or Private, in AZ order."""
        found = [
            k
            for k, props in self.subnets.items()
            if {"Key": "aws-cdk:subnet-type", "Value": subnet_type} in props.get("Tags", [])
        ]
        return sorted(found, key=lambda k: self.subnets[k]["AvailabilityZone"])

    def endpoints(self, name: str, group_name: str | None, subnet_type: str) -> list[Endpoint]:
        """One endpoint per subnet of the type: a host at offset 10 of the subnet."""
        group = self.security_group(group_name) if group_name else None
        result = []
        for subnet in self.subnets_of_type(subnet_type):
            network = ipaddress.ip_network(self.subnets[subnet]["CidrBlock"])
            result.append(Endpoint(name, str(network.network_address + 10), group, subnet))
        return result

    # ----------------------------------------------------------- layers
    def _sg_allows(self, rules: list[dict[str, Any]], peer: Endpoint, port: int, peer_key: str) -> bool:
        for rule in rules:
            if not _tcp(rule.get("IpProtocol")):
                continue
            if str(rule.get("IpProtocol")) != "-1" and not rule["FromPort"] <= port <= rule["ToPort"]:
                continue
            if "CidrIp" in rule and _in_cidr(peer.ip, rule["CidrIp"]):
                return True
            if peer.security_group is not None and _ref(rule.get(peer_key)) == peer.security_group:
                return True
        return False

    def _acl_allows(self, subnet: str, egress: bool, peer_ip: str, port: int) -> bool:
        acl = self.subnet_acl.get(subnet)
        if acl is None:
            return False  # CDK always associates; an unassociated subnet is a finding
        entries = sorted(
            (e for e in self.acl_entries.get(acl, []) if bool(e.get("Egress", False)) == egress),
            key=lambda e: e["RuleNumber"],
        )
        for entry in entries:
            if not _tcp(entry["Protocol"]):
                continue
            if str(entry["Protocol"]) != "-1":
                ports = entry["PortRange"]
                if not ports["From"] <= port <= ports["To"]:
                    continue
            if _in_cidr(peer_ip, entry["CidrBlock"]):
                return str(entry["RuleAction"]) == "allow"
        return False  # the implicit final deny

    def _default_route(self, subnet: str) -> tuple[str, str] | None:
        """('igw', id) or ('nat', id) for the subnet's 0.0.0.0/0 route."""
        for route in self.routes.get(self.subnet_route_table.get(subnet) or "", []):
            if route.get("DestinationCidrBlock") != "0.0.0.0/0":
                continue
            if _ref(route.get("GatewayId")) in self.internet_gateways:
                return ("igw", str(_ref(route["GatewayId"])))
            if "NatGatewayId" in route:
                return ("nat", str(_ref(route["NatGatewayId"])))
        return None

    def _crossing(self, src_subnet: str, src_ip: str, dst_subnet: str, dst_ip: str, port: int) -> str | None:
        """Request and reply across two subnets' ACLs; None when both pass."""
        if src_subnet == dst_subnet:
            return None  # ACLs filter only traffic that crosses a subnet boundary
        checks = [
            (src_subnet, True, dst_ip, port, "source ACL egress"),
            (dst_subnet, False, src_ip, port, "destination ACL ingress"),
            (dst_subnet, True, src_ip, EPHEMERAL_PORT, "destination ACL egress (reply)"),
            (src_subnet, False, dst_ip, EPHEMERAL_PORT, "source ACL ingress (reply)"),
        ]
        for subnet, egress, peer, p, what in checks:
            if not self._acl_allows(subnet, egress, peer, p):
                return f"{what} denies {peer}:{p}"
        return None

    # ----------------------------------------------------------- flows
    def check(self, src: Endpoint, dst: Endpoint, port: int) -> str | None:
        """None when the flow is allowed, else the first layer that stops it."""
        if src.subnet is None:  # from the internet
            assert dst.subnet is not None
            route = self._default_route(dst.subnet)
            if route is None or route[0] != "igw":
                return "destination subnet has no internet gateway route"
            if dst.security_group is None or not self._sg_allows(
                self.ingress.get(dst.security_group, []), src, port, "SourceSecurityGroupId"
            ):
                return "destination security group ingress denies"
            if not self._acl_allows(dst.subnet, False, src.ip, port):
                return "destination ACL ingress denies"
            if not self._acl_allows(dst.subnet, True, src.ip, EPHEMERAL_PORT):
                return "destination ACL egress (reply) denies"
            return None

        if src.security_group is not None and not self._sg_allows(
            self.egress.get(src.security_group, []), dst, port, "DestinationSecurityGroupId"
        ):
            return "source security group egress denies"

        if dst.subnet is None:  # to the internet
            route = self._default_route(src.subnet)
            if route is None:
                return "source subnet has no default route"
            if route[0] == "igw":
                return self._crossing_internet(src.subnet, src.ip, dst.ip, port)
            nat_subnet = self.nat_subnet[route[1]]
            assert nat_subnet is not None
            nat_route = self._default_route(nat_subnet)
            if nat_route is None or nat_route[0] != "igw":
                return "NAT subnet has no internet gateway route"
            # NAT rewrites the source on the way out and the destination on the
            # way back: the internet address stays the peer on both sides.
            checks = [
                (src.subnet, True, dst.ip, port, "source ACL egress"),
                (nat_subnet, False, src.ip, port, "NAT subnet ACL ingress"),
                (nat_subnet, True, dst.ip, port, "NAT subnet ACL egress to the internet"),
                (nat_subnet, False, dst.ip, EPHEMERAL_PORT, "NAT subnet ACL ingress (reply)"),
                (nat_subnet, True, src.ip, EPHEMERAL_PORT, "NAT subnet ACL egress (reply to the source)"),
                (src.subnet, False, dst.ip, EPHEMERAL_PORT, "source ACL ingress (reply)"),
            ]
            for subnet, egress, peer, p, what in checks:
                if not self._acl_allows(subnet, egress, peer, p):
                    return f"{what} denies {peer}:{p}"
            return None

        if dst.security_group is None or not self._sg_allows(
            self.ingress.get(dst.security_group, []), src, port, "SourceSecurityGroupId"
        ):
            return "destination security group ingress denies"
        return self._crossing(src.subnet, src.ip, dst.subnet, dst.ip, port)

    def _crossing_internet(self, subnet: str, ip: str, internet_ip: str, port: int) -> str | None:
        if not self._acl_allows(subnet, True, internet_ip, port):
            return "ACL egress to the internet denies"
        if not self._acl_allows(subnet, False, internet_ip, EPHEMERAL_PORT):
            return "ACL ingress of the internet reply denies"
        return None

    def flow(self, sources: list[Endpoint], destinations: list[Endpoint], port: int) -> dict[str, str | None]:
        """Every source/destination pair (e.g. every AZ combination) -> None or the blocking layer."""
        return {f"{s.name}@{s.ip} -> {d.name}@{d.ip}:{port}": self.check(s, d, port) for s in sources for d in destinations}


def internet() -> list[Endpoint]:
    return [Endpoint("internet", INTERNET_IP, None, None)]
