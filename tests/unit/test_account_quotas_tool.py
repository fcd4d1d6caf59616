"""scripts/account_quotas.py preflight against botocore Stubbers: the account's CloudFront resources, its VPCs,
internet gateways and Elastic IPs in the region, and its applied quotas are listed with their exact parameters (dummy
credentials, no network); a call that is not expected fails the test."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from botocore.stub import Stubber

from lib.quotas import REGIONAL_QUOTAS
from scripts import account_quotas as aq
from scripts import cli
from tests.unit.stubs import stubbed_clients

WHEN = "2026-11-01T00:00:00Z"
# CDK's generated names end in an 8-character hash (joined at run time: hashed ids belong to test_database's pin table).
OAC_NAMES = tuple(f"CdnDistributionOrigin{n}S3OriginAccessControl" + "0A1B2C3D" for n in (3, 4))


def names(suffix: str, generations: Sequence[int] = (1,)) -> dict[str, list[str]]:
    """The CloudFront names one environment gives, as the stack names them (see lib/cdn.py, lib/media.py)."""
    return {
        "AWS::CloudFront::CachePolicy": [f"cache-{kind}-{suffix}" for kind in ("html", "api")],
        "AWS::CloudFront::ResponseHeadersPolicy": [f"security-headers-{suffix}"],
        "AWS::CloudFront::Function": [f"viewer-ip-{suffix}", f"app-shell-{suffix}"],
        "AWS::CloudFront::KeyGroup": [f"media-keys-{suffix}"],
        "AWS::CloudFront::PublicKey": [f"media-key-{g}-{suffix}" for g in generations],
        "AWS::CloudFront::OriginAccessControl": [f"TapStack{suffix}{tail}" for tail in OAC_NAMES],
    }


PROJECT = "media-streaming"
ACCOUNT = "123456789012"
PRODUCTION_EIPS, LEAN_EIPS = 3, 1
ZONES = ("ap-southeast-1a", "ap-southeast-1b", "ap-southeast-1c")


def tags(suffix: str) -> list[dict[str, str]]:
    """The tags the stack puts on every resource (lib/tap_stack.py)."""
    return [
        {"Key": "Environment", "Value": suffix},
        {"Key": "Project", "Value": PROJECT},
        {"Key": "ManagedBy", "Value": "aws-cdk"},
    ]


def environment_template(suffix: str, *, unnamed_oac: bool = False, eips: int = 0) -> dict[str, Any]:
    """The CloudFront resources of one environment; with `eips`, its network too (a VPC, an internet gateway and
    one Elastic IP per NAT gateway)."""
    resources: dict[str, Any] = {}
    if eips:
        network = {"Vpc": "AWS::EC2::VPC", "Igw": "AWS::EC2::InternetGateway"} | {f"Eip{n}": "AWS::EC2::EIP" for n in range(eips)}
        resources |= {key: {"Type": kind, "Properties": {"Tags": tags(suffix)}} for key, kind in network.items()}
        # One NAT gateway per Elastic IP, each in a public subnet of its zone (lean: the first zone only).
        for n, zone in enumerate(ZONES[:eips]):
            resources[f"Subnet{n}"] = {"Type": "AWS::EC2::Subnet", "Properties": {"AvailabilityZone": zone}}
            nat = {"SubnetId": {"Ref": f"Subnet{n}"}, "Tags": tags(suffix)}
            resources[f"Nat{n}"] = {"Type": "AWS::EC2::NatGateway", "Properties": nat}
    for kind, listed in names(suffix).items():
        for n, name in enumerate(listed):
            props: dict[str, Any] = {}
            target = props
            for key in aq.LISTINGS[kind].template_name_path[:-1]:
                target = target.setdefault(key, {})
            target[aq.LISTINGS[kind].template_name_path[-1]] = name
            if unnamed_oac and kind == "AWS::CloudFront::OriginAccessControl":
                props = {}
            resources[f"{kind.rsplit(':', 1)[1]}{n}"] = {"Type": kind, "Properties": props}
    return {"Resources": resources}


def item(kind: str, name: str) -> dict[str, Any]:
    """One list item of the kind, with the members the CloudFront API model requires."""
    if kind == "AWS::CloudFront::CachePolicy":
        parameters = {
            "EnableAcceptEncodingGzip": True,
            "HeadersConfig": {"HeaderBehavior": "none"},
            "CookiesConfig": {"CookieBehavior": "none"},
            "QueryStringsConfig": {"QueryStringBehavior": "none"},
        }
        config = {"Name": name, "MinTTL": 0, "ParametersInCacheKeyAndForwardedToOrigin": parameters}
        return {"Type": "custom", "CachePolicy": {"Id": name, "LastModifiedTime": WHEN, "CachePolicyConfig": config}}
    if kind == "AWS::CloudFront::ResponseHeadersPolicy":
        policy = {"Id": name, "LastModifiedTime": WHEN, "ResponseHeadersPolicyConfig": {"Name": name}}
        return {"Type": "custom", "ResponseHeadersPolicy": policy}
    if kind == "AWS::CloudFront::Function":
        return {
            "Name": name,
            "FunctionConfig": {"Comment": "", "Runtime": "cloudfront-js-2.0"},
            "FunctionMetadata": {"FunctionARN": f"arn:aws:cloudfront::123456789012:function/{name}", "LastModifiedTime": WHEN},
        }
    if kind == "AWS::CloudFront::KeyGroup":
        return {"KeyGroup": {"Id": name, "LastModifiedTime": WHEN, "KeyGroupConfig": {"Name": name, "Items": ["K1"]}}}
    if kind == "AWS::CloudFront::PublicKey":
        return {"Id": name, "Name": name, "CreatedTime": WHEN, "EncodedKey": "-----BEGIN PUBLIC KEY-----"}
    return {
        "Id": name,
        "Description": "",
        "Name": name,
        "SigningProtocol": "sigv4",
        "SigningBehavior": "always",
        "OriginAccessControlOriginType": "s3",
    }


def page(kind: str, listed: Sequence[str], next_marker: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"MaxItems": 100, "Quantity": len(listed), "Items": [item(kind, name) for name in listed]}
    if kind == "AWS::CloudFront::OriginAccessControl":
        body.update(Marker="", IsTruncated=next_marker is not None)
    if next_marker:
        body["NextMarker"] = next_marker
    return {aq.LISTINGS[kind].list_key: body}


def stack_arn(suffix: str, generation: int = 1) -> str:
    return (
        f"arn:aws:cloudformation:ap-southeast-1:{ACCOUNT}:stack/TapStack{suffix}/0000000{generation}-aaaa-bbbb-cccc-dddddddddddd"
    )


LIVE_NATS = {"Name": "state", "Values": ["pending", "available", "deleting"]}


def vpc(n: int, suffix: str | None) -> dict[str, Any]:
    """A VPC of an environment, or (suffix None) the account's default VPC."""
    return {"VpcId": f"vpc-{n:08x}", "IsDefault": suffix is None, "Tags": tags(suffix) if suffix else [], "OwnerId": ACCOUNT}


@dataclass
class Aws:
    clients: aq.Clients
    cf: Stubber
    cfn: Stubber
    ec2_stub: Stubber
    sq: Stubber
    sts: Stubber
    rds: Stubber
    cw: Stubber

    def fargate_usage(self, values: Sequence[float] | str = (), status: str = "Complete") -> None:
        """The region's Fargate On-Demand vCPU usage metric over the last 15 minutes (newest first, as GetMetricData
        answers): these values (none: nothing ran) with this StatusCode, or (a string) that error code."""
        params = {
            "MetricDataQueries": [
                {
                    "Id": "fargate_vcpu",
                    "MetricStat": {"Metric": FARGATE_USAGE_METRIC, "Period": 60, "Stat": "Maximum"},
                    "ReturnData": True,
                }
            ],
            "StartTime": NOW - timedelta(minutes=15),
            "EndTime": NOW,
        }
        if isinstance(values, str):
            self.cw.add_client_error("get_metric_data", values, "no", expected_params=params)
            return
        stamps = [NOW - timedelta(minutes=n) for n in range(len(values))]
        result = {
            "Id": "fargate_vcpu",
            "Label": "ResourceCount",
            "Timestamps": stamps,
            "Values": list(values),
            "StatusCode": status,
        }
        self.cw.add_response("get_metric_data", {"MetricDataResults": [result]}, params)

    def stack(self, suffix: str, status: str | None, generation: int = 1) -> None:
        """describe_stacks of the environment: its status (and which stack of that name it is), or (None) none."""
        name = f"TapStack{suffix}"
        if status is None:
            self.cfn.add_client_error(
                "describe_stacks", "ValidationError", f"Stack with id {name} does not exist", expected_params={"StackName": name}
            )
        else:
            body = {"StackName": name, "StackId": stack_arn(suffix, generation), "CreationTime": WHEN, "StackStatus": status}
            self.cfn.add_response("describe_stacks", {"Stacks": [body]}, {"StackName": name})

    def region(
        self,
        eips: dict[str, int] | None = None,
        *,
        default_vpc: bool = True,
        applied: dict[str, Any] | None = None,
        given: tuple[str, ...] = (),
        deploying: str = "",
        status: str | None = None,
        foreign_vpcs: int = 0,
    ) -> None:
        """The region holds the default VPC (with its internet gateway) and the network of each environment of
        `eips` (its VPC, internet gateway and that many Elastic IPs). `applied` answers Service Quotas per short
        type (a number, or an error code); the types in `given` were passed with --quota, so nothing is asked.
        `deploying`'s stack has `status` (None: it does not exist, or when it is one of `eips`, UPDATE_COMPLETE);
        `foreign_vpcs` VPCs with their gateways are shared from another account."""
        envs = eips or {}
        if status is None and deploying in envs:
            status = "UPDATE_COMPLETE"
        self.stack(deploying, status)
        vpcs = ([vpc(0, None)] if default_vpc else []) + [vpc(n, env) for n, env in enumerate(envs, 1)]
        self.sts.add_response(
            "get_caller_identity", {"Account": ACCOUNT, "Arn": "arn:aws:iam::123456789012:root", "UserId": "x"}, {}
        )
        vpcs += [vpc(90 + n, None) | {"IsDefault": False, "OwnerId": "210987654321"} for n in range(foreign_vpcs)]
        self.ec2_stub.add_response("describe_vpcs", {"Vpcs": vpcs}, {})
        gateways = [
            {
                "InternetGatewayId": f"igw-{v['VpcId'][4:]}",
                "Attachments": [{"VpcId": v["VpcId"], "State": "available"}],
                "Tags": v["Tags"],
                "OwnerId": v.get("OwnerId", ACCOUNT),
            }
            for v in vpcs
        ]
        # The default VPC's gateway carries no tags: it is known by its attachment.
        self.ec2_stub.add_response("describe_internet_gateways", {"InternetGateways": gateways}, {})
        addresses = [
            {"AllocationId": f"eipalloc-{env}-{n}", "Domain": "vpc", "Tags": tags(env)}
            for env, count in envs.items()
            for n in range(count)
        ]
        self.ec2_stub.add_response("describe_addresses", {"Addresses": addresses}, {})
        self.nat_gateways({env: ZONES[:count] for env, count in envs.items()})
        self.quotas(applied, given)

    def nat_gateways(self, zones: dict[str, tuple[str, ...]]) -> None:
        """The region's live NAT gateways: each environment's, one in each of its zones, and their subnets' zones."""
        placed = [(env, zone) for env, in_zones in zones.items() for zone in in_zones]
        nats = [
            {"NatGatewayId": f"nat-{env}-{zone}", "SubnetId": f"subnet-{env}-{zone}", "State": "available", "Tags": tags(env)}
            for env, zone in placed
        ]
        self.ec2_stub.add_response("describe_nat_gateways", {"NatGateways": nats}, {"Filter": [LIVE_NATS]})
        if nats:
            subnets = [{"SubnetId": f"subnet-{env}-{zone}", "AvailabilityZone": zone} for env, zone in placed]
            params = {"SubnetIds": sorted(subnet["SubnetId"] for subnet in subnets)}
            self.ec2_stub.add_response("describe_subnets", {"Subnets": subnets}, params)

    def quotas(self, applied: dict[str, Any] | None = None, given: tuple[str, ...] = ()) -> None:
        """Service Quotas' answer per short type: a number, or an error code (none: no applied value)."""
        for quota in REGIONAL_QUOTAS:
            if quota.resource_type in aq.RDS_QUOTA_NAMES:
                continue  # RDS answers its own usage and quota (describe_account_attributes)
            short = aq.short_type(quota.resource_type)
            if short in given:
                continue
            params = {"ServiceCode": quota.service_code, "QuotaCode": quota.quota_code}
            answer = (applied or {}).get(short, "NoSuchResourceException")
            if isinstance(answer, str):
                self.sq.add_client_error("get_service_quota", answer, "no applied value", expected_params=params)
            else:
                body = {"ServiceCode": quota.service_code, "QuotaCode": quota.quota_code, "Value": float(answer)}
                self.sq.add_response("get_service_quota", {"Quota": body}, params)

    def account(self, *suffixes: str, split_cache_policies: bool = False) -> None:
        """The account holds the CloudFront resources of these environments (every list call, in the tool's order)."""
        for kind, listing in aq.LISTINGS.items():
            listed = [name for suffix in suffixes for name in names(suffix)[kind]]
            if split_cache_policies and kind == "AWS::CloudFront::CachePolicy":
                half = len(listed) // 2
                self.cf.add_response(listing.operation, page(kind, listed[:half], "page-2"), dict(listing.params))
                self.cf.add_response(listing.operation, page(kind, listed[half:]), {**listing.params, "Marker": "page-2"})
                continue
            self.cf.add_response(listing.operation, page(kind, listed), dict(listing.params))

    def run(self, tmp_path: Path, suffix: str, template: dict[str, Any] | None = None, *options: str) -> int:
        path = tmp_path / "template.json"
        path.write_text(json.dumps(template or environment_template(suffix)))
        return aq.main(["preflight", "--suffix", suffix, "--template", str(path), *options], clients=self.clients)


NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
# The usage metric of Fargate On-Demand vCPU, as the ECS Developer Guide gives it ("AWS Fargate usage metrics"): spelled
# out here, not imported, so a typo in lib/quotas.py fails the stubbed call.
FARGATE_USAGE_METRIC = {
    "Namespace": "AWS/Usage",
    "MetricName": "ResourceCount",
    "Dimensions": [
        {"Name": "Service", "Value": "Fargate"},
        {"Name": "Type", "Value": "Resource"},
        {"Name": "Resource", "Value": "vCPU"},
        {"Name": "Class", "Value": "Standard/OnDemand"},
    ],
}


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    monkeypatch.setattr(aq, "utc_now", lambda: NOW)
    with stubbed_clients(*aq.CLIENT_SERVICES) as (clients, stubs):
        yield Aws(aq.Clients(*clients), *stubs)


def test_under_the_quota_passes_and_reads_every_page(aws: Aws, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    aws.account("pr1", "pr2", "pr3", "pr4", split_cache_policies=True)
    assert aws.run(tmp_path, "pr5") == cli.EXIT_OK
    out = capsys.readouterr().out
    assert (
        "ok       Cache policies per AWS account: limit 20 (not adjustable); 8 in use (pr1: 2, pr2: 2, pr3: 2, pr4: 2); "
        "TapStackpr5 adds 2" in out
    )
    assert "Origin access controls per AWS account: limit 100 (adjustable); 8 in use (pr1: 2, pr2: 2, pr3: 2, pr4: 2)" in out


TEN = tuple(f"pr{n}" for n in range(1, 11))


def test_at_the_quota_a_new_environment_is_refused(aws: Aws, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    aws.account(*TEN)
    assert aws.run(tmp_path, "pr11") == aq.EXIT_QUOTA
    captured = capsys.readouterr()
    assert captured.err.startswith(
        "refused: TapStackpr11 would exceed 3 quota(s) it shares with the account's other environments, so it was not deployed"
    )
    users = ", ".join(f"{env}: 2" for env in sorted(TEN))
    assert f"Cache policies per AWS account: limit 20 (not adjustable); 20 in use ({users}); TapStackpr11 adds 2" in captured.err
    assert "make destroy SUFFIX=<env>" in captured.err and "--quota TYPE=N" in captured.err
    assert "EXCEEDED Cache policies" in captured.out and "EXCEEDED Key groups per AWS account" in captured.out
    assert "ok       Functions per AWS account" in captured.out


def test_a_raised_quota_given_with_quota_is_the_limit(aws: Aws, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    aws.account(*TEN)
    path = tmp_path / "template.json"
    path.write_text(json.dumps(environment_template("pr11")))
    raised = ["--quota", "KeyGroup=20", "--quota", "PublicKey=20"]
    argv = ["preflight", "--suffix", "pr11", "--template", str(path), *raised]
    # Cache policies (not adjustable) still refuse; the two raised quotas no longer do.
    assert aq.main(argv, clients=aws.clients) == aq.EXIT_QUOTA
    captured = capsys.readouterr()
    assert captured.err.startswith("refused: TapStackpr11 would exceed 1 quota(s)")
    assert "ok       Key groups per AWS account: limit 20 (raised with --quota; AWS's default 10); 10 in use" in captured.out


@pytest.mark.parametrize("raw", ["KeyGroup", "KeyGroup=0", "KeyGroup=ten", "Distribution=600", "keygroup=20"])
def test_a_bad_quota_override_is_refused_by_the_parser(raw: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        aq.main(["preflight", "--suffix", "pr1", "--quota", raw])
    assert exit_.value.code == 2
    assert (
        "expected TYPE=N, TYPE one of CachePolicy, DBCluster, DBInstance, EIP, FargateVCPU, Function, InternetGateway, KeyGroup"
        in capsys.readouterr().err
    )


def test_a_redeploy_of_an_existing_environment_adds_nothing(aws: Aws, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    aws.account(*TEN[:9], "pr-10")
    assert aws.run(tmp_path, "pr-10") == cli.EXIT_OK
    out = capsys.readouterr().out
    users = ", ".join(f"{env}: 2" for env in sorted((*TEN[:9], "pr-10")))
    assert f"20 in use ({users}); TapStackpr-10 adds 0" in out


def test_a_key_rotation_adds_only_the_new_public_key(aws: Aws, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    aws.account("pr1")
    rotated = environment_template("pr1")
    rotated["Resources"]["PublicKey1"] = {
        "Type": "AWS::CloudFront::PublicKey",
        "Properties": {"PublicKeyConfig": {"Name": "media-key-2-pr1"}},
    }
    assert aws.run(tmp_path, "pr1", rotated) == cli.EXIT_OK
    assert "1 in use (pr1: 1); TapStackpr1 adds 1" in capsys.readouterr().out


@pytest.mark.parametrize(("exists", "adds"), [(True, 0), (False, 2)])
def test_unnamed_resources_count_unless_the_stack_exists(
    aws: Aws, tmp_path: Path, capsys: pytest.CaptureFixture[str], exists: bool, adds: int
) -> None:
    aws.account("pr1")
    if exists:
        stack = {"StackName": "TapStackpr2", "CreationTime": WHEN, "StackStatus": "UPDATE_COMPLETE"}
        aws.cfn.add_response("describe_stacks", {"Stacks": [stack]}, {"StackName": "TapStackpr2"})
    else:
        aws.cfn.add_client_error(
            "describe_stacks",
            "ValidationError",
            "Stack with id TapStackpr2 does not exist",
            expected_params={"StackName": "TapStackpr2"},
        )
    assert aws.run(tmp_path, "pr2", environment_template("pr2", unnamed_oac=True)) == cli.EXIT_OK
    # With no name of its own to compare with, the tool cannot tell whose they are.
    assert f"2 in use ((other): 2); TapStackpr2 adds {adds}" in capsys.readouterr().out


def test_an_aws_error_exits_1(aws: Aws, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    aws.cf.add_client_error("list_cache_policies", "AccessDenied", "not allowed", expected_params={"Type": "custom"})
    assert aws.run(tmp_path, "pr1") == cli.EXIT_AWS
    assert capsys.readouterr().err.startswith("AWS error: list_cache_policies:")


def test_a_missing_template_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert aq.main(["preflight", "--suffix", "pr1", "--template", str(tmp_path / "none.json")]) == cli.EXIT_INPUT
    assert "cannot read the synthesized template" in capsys.readouterr().err


def test_a_bad_suffix_is_refused_by_the_parser(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        aq.main(["preflight", "--suffix", "Bad_Suffix"])
    assert exit_.value.code == 2 and "environmentSuffix must start with a lowercase letter" in capsys.readouterr().err


def test_capacity_prints_the_figure(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "template.json"
    path.write_text(json.dumps(environment_template("pr1")))
    assert aq.main(["capacity", "--template", str(path)]) == cli.EXIT_OK
    assert capsys.readouterr().out.strip() == (
        "10 environments per account, bound by Cache policies per AWS account (20, not adjustable) and "
        "Key groups per AWS account (10, adjustable) and "
        "Maximum number of public keys that can be added to one AWS account (10, adjustability not documented)"
    )


def test_owner_reads_both_name_patterns() -> None:
    own = names("dev")["AWS::CloudFront::OriginAccessControl"] + ["cache-html-dev"]
    assert aq.owner("TapStackpr-12CdnDistributionOrigin3S3OriginAccessControl" + "DEADBEEF", own, "dev") == "pr-12"
    assert aq.owner("cache-html-pr-12", own, "dev") == "pr-12"
    assert aq.owner("someone-elses-policy", own, "dev") == aq.OTHER == "(other)"


# ----------------------------------------------------------------------------- per-region quotas


def test_a_second_production_environment_is_refused_on_elastic_ips(
    aws: Aws, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Three NAT gateways hold three of the region's five Elastic IPs: a second production environment needs six."""
    aws.account("pr1")
    aws.region({"pr1": PRODUCTION_EIPS}, deploying="pr2")
    assert aws.run(tmp_path, "pr2", environment_template("pr2", eips=PRODUCTION_EIPS)) == aq.EXIT_QUOTA
    captured = capsys.readouterr()
    assert (
        "EXCEEDED EC2-VPC Elastic IPs: limit 5 (adjustable); 3 in use in this region (pr1: 3); TapStackpr2 adds 3" in captured.out
    )
    assert (
        "ok       VPCs per Region: limit 5 (adjustable); 2 in use in this region ((default VPC): 1, pr1: 1); TapStackpr2 adds 1"
        in captured.out
    )
    assert captured.err.startswith("refused: TapStackpr2 would exceed 1 quota(s)")
    assert "make deploy PROFILE=lean" in captured.err


def test_lean_environments_fit_until_the_vpcs_run_out(aws: Aws, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """With the default VPC, four lean environments fit in a region (VPCs and internet gateways: 5 each)."""
    three = {f"pr{n}": LEAN_EIPS for n in range(1, 4)}
    aws.account(*three)
    aws.region(three, deploying="pr4")
    assert aws.run(tmp_path, "pr4", environment_template("pr4", eips=LEAN_EIPS)) == cli.EXIT_OK
    assert (
        "ok       EC2-VPC Elastic IPs: limit 5 (adjustable); 3 in use in this region (pr1: 1, pr2: 1, pr3: 1); TapStackpr4 adds 1"
        in (capsys.readouterr().out)
    )
    four = {**three, "pr4": LEAN_EIPS}
    aws.account(*four)
    aws.region(four, deploying="pr5")
    assert aws.run(tmp_path, "pr5", environment_template("pr5", eips=LEAN_EIPS)) == aq.EXIT_QUOTA
    captured = capsys.readouterr()
    assert captured.err.startswith("refused: TapStackpr5 would exceed 2 quota(s)")
    assert (
        "VPCs per Region: limit 5 (adjustable); 5 in use in this region ((default VPC): 1, pr1: 1, pr2: 1, pr3: 1, pr4: 1)"
        in captured.err
    )
    assert "Internet gateways per Region: limit 5 (adjustable); 5 in use in this region ((default VPC): 1, pr1: 1" in captured.err
    assert "PROFILE=lean" not in captured.err  # Elastic IPs are not what binds


def test_the_applied_quota_in_service_quotas_is_the_limit(aws: Aws, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    aws.account("pr1")
    aws.region({"pr1": PRODUCTION_EIPS}, applied={"EIP": 20, "VPC": 5}, deploying="pr2")
    assert aws.run(tmp_path, "pr2", environment_template("pr2", eips=PRODUCTION_EIPS)) == cli.EXIT_OK
    out = capsys.readouterr().out
    assert "ok       EC2-VPC Elastic IPs: limit 20 (the account's applied quota; AWS's default 5); 3 in use" in out
    assert "ok       VPCs per Region: limit 5 (adjustable); 2 in use" in out


def test_without_service_quotas_access_the_default_is_assumed_and_said(
    aws: Aws, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    aws.account()
    aws.region(applied={"EIP": "AccessDeniedException"}, deploying="pr1")
    assert aws.run(tmp_path, "pr1", environment_template("pr1", eips=PRODUCTION_EIPS)) == cli.EXIT_OK
    out = capsys.readouterr().out
    assert (
        "ok       EC2-VPC Elastic IPs: limit 5 (adjustable); 0 in use in this region (none); TapStackpr1 adds 3 "
        "(Service Quotas not read (AccessDeniedException): AWS's default assumed; pass --quota if raised)"
    ) in out


def test_a_quota_given_on_the_command_line_wins_and_service_quotas_is_not_asked(
    aws: Aws, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    aws.account("pr1")
    aws.region({"pr1": PRODUCTION_EIPS}, given=("EIP",), deploying="pr2")
    template = environment_template("pr2", eips=PRODUCTION_EIPS)
    assert aws.run(tmp_path, "pr2", template, "--quota", "EIP=10") == cli.EXIT_OK
    assert "ok       EC2-VPC Elastic IPs: limit 10 (raised with --quota; AWS's default 5); 3 in use" in capsys.readouterr().out


def test_a_redeploy_adds_nothing_and_a_profile_change_is_refused_unless_allowed(
    aws: Aws, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    aws.account("pr1", "pr2")
    aws.region({"pr1": LEAN_EIPS, "pr2": PRODUCTION_EIPS}, deploying="pr2")
    assert aws.run(tmp_path, "pr2", environment_template("pr2", eips=PRODUCTION_EIPS)) == cli.EXIT_OK
    assert "4 in use in this region (pr1: 1, pr2: 3); TapStackpr2 adds 0" in capsys.readouterr().out
    # pr1 was deployed lean; deploying it with PROFILE=production (a rotation step, say) would add two NAT gateways.
    production_pr1 = environment_template("pr1", eips=PRODUCTION_EIPS)
    aws.account("pr1", "pr2")
    aws.region({"pr1": LEAN_EIPS, "pr2": PRODUCTION_EIPS}, deploying="pr1")
    assert aws.run(tmp_path, "pr1", production_pr1) == aq.EXIT_QUOTA
    captured = capsys.readouterr()
    assert "TapStackpr1 adds 2 (it has 1, its template 3: was it deployed with another PROFILE?)" in captured.out
    assert (
        "VPCs per Region: limit 5 (adjustable); 3 in use in this region ((default VPC): 1, pr1: 1, pr2: 1); TapStackpr1 adds 0"
        in (captured.out)
    )
    assert captured.err.startswith("refused: TapStackpr1 is deployed with another profile than this template's")
    assert "PROFILE=" in captured.err and "--allow-profile-change" in captured.err
    # What the synthesis chose when no PROFILE was given: the case of a pr<N> environment deployed as production.
    assert "without PROFILE, suffix pr1 gets the lean profile" in captured.err
    # On purpose: the quotas still decide (4 + 2 Elastic IPs of 5).
    aws.account("pr1", "pr2")
    aws.region({"pr1": LEAN_EIPS, "pr2": PRODUCTION_EIPS}, deploying="pr1")
    assert aws.run(tmp_path, "pr1", production_pr1, "--allow-profile-change") == aq.EXIT_QUOTA
    captured = capsys.readouterr()
    assert captured.err.startswith("refused: TapStackpr1 would exceed 1 quota(s)")


def test_a_redeploy_of_an_account_over_a_limit_it_could_not_read_is_not_refused(
    aws: Aws, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Raised to 10 Elastic IPs, but the caller may not read Service Quotas: the tool believes 5 and sees 6 in use. A
    redeploy that adds nothing goes ahead (the line says "over"); a new environment is still refused."""
    two = {"pr1": PRODUCTION_EIPS, "pr2": PRODUCTION_EIPS}
    denied = dict.fromkeys(("VPC", "InternetGateway", "EIP", "NatGateway"), "AccessDeniedException")
    aws.account(*two)
    aws.region(two, applied=denied, deploying="pr2")
    assert aws.run(tmp_path, "pr2", environment_template("pr2", eips=PRODUCTION_EIPS)) == cli.EXIT_OK
    assert "over     EC2-VPC Elastic IPs: limit 5 (adjustable); 6 in use in this region (pr1: 3, pr2: 3); TapStackpr2 adds 0" in (
        capsys.readouterr().out
    )
    aws.account(*two)
    aws.region(two, applied=denied, deploying="pr3")
    assert aws.run(tmp_path, "pr3", environment_template("pr3", eips=LEAN_EIPS)) == aq.EXIT_QUOTA
    assert "EXCEEDED EC2-VPC Elastic IPs" in capsys.readouterr().out


def test_every_page_of_vpcs_is_read_and_untagged_resources_are_others(
    aws: Aws, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    aws.account()
    aws.stack("pr3", None)
    aws.sts.add_response("get_caller_identity", {"Account": ACCOUNT}, {})
    # Three pages of VPCs, the first one an untagged VPC of someone else in this account; no default VPC (deleted).
    aws.ec2_stub.add_response("describe_vpcs", {"Vpcs": [vpc(9, None) | {"IsDefault": False}], "NextToken": "t1"}, {})
    aws.ec2_stub.add_response("describe_vpcs", {"Vpcs": [vpc(1, "pr1")], "NextToken": "t2"}, {"NextToken": "t1"})
    aws.ec2_stub.add_response("describe_vpcs", {"Vpcs": [vpc(2, "pr2")]}, {"NextToken": "t2"})
    aws.ec2_stub.add_response("describe_internet_gateways", {"InternetGateways": []}, {})
    aws.ec2_stub.add_response("describe_addresses", {"Addresses": [{"AllocationId": "eipalloc-1", "Domain": "vpc"}]}, {})
    aws.nat_gateways({"pr1": ZONES[:1], "pr2": ZONES[:1]})
    aws.quotas()
    assert aws.run(tmp_path, "pr3", environment_template("pr3", eips=LEAN_EIPS)) == cli.EXIT_OK
    out = capsys.readouterr().out
    assert (
        "VPCs per Region: limit 5 (adjustable); 3 in use in this region ((other): 1, pr1: 1, pr2: 1); TapStackpr3 adds 1" in out
    )
    assert "EC2-VPC Elastic IPs: limit 5 (adjustable); 1 in use in this region ((other): 1); TapStackpr3 adds 1" in out


def test_an_ec2_error_exits_1(aws: Aws, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    aws.account()
    aws.stack("pr1", None)
    aws.ec2_stub.add_client_error("describe_vpcs", "UnauthorizedOperation", "not allowed", expected_params={})
    assert aws.run(tmp_path, "pr1", environment_template("pr1", eips=LEAN_EIPS)) == cli.EXIT_AWS
    assert capsys.readouterr().err.startswith("AWS error: describe_vpcs:")


RAISED = {"VPC": 20, "InternetGateway": 20, "EIP": 40}


def test_with_raised_network_quotas_lean_environments_fill_the_first_zones_nat_gateways(
    aws: Aws, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every lean environment puts its one NAT gateway in the first zone: the sixth is refused there."""
    five = {f"pr{n}": LEAN_EIPS for n in range(1, 6)}
    aws.account(*five)
    aws.region(five, applied=RAISED, deploying="pr6")
    assert aws.run(tmp_path, "pr6", environment_template("pr6", eips=LEAN_EIPS)) == aq.EXIT_QUOTA
    captured = capsys.readouterr()
    users = ", ".join(f"{env}: 1" for env in five)
    assert (
        f"EXCEEDED NAT gateways per Availability Zone: limit 5 (adjustable); 5 in use in ap-southeast-1a ({users}); "
        "TapStackpr6 adds 1"
    ) in captured.out
    assert "ok       EC2-VPC Elastic IPs: limit 40 (the account's applied quota" in captured.out
    assert captured.err.startswith("refused: TapStackpr6 would exceed 1 quota(s)")


def test_a_production_environment_is_counted_in_its_busiest_zone(
    aws: Aws, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Production puts one NAT gateway in each zone; lean ones crowd the first: that is the zone that is reported, and
    the other zones count only their own NAT gateways."""
    existing = {"main": PRODUCTION_EIPS, **{f"pr{n}": LEAN_EIPS for n in range(1, 4)}}
    aws.account(*existing)
    aws.region(existing, applied=RAISED, deploying="prod")
    assert aws.run(tmp_path, "prod", environment_template("prod", eips=PRODUCTION_EIPS)) == cli.EXIT_OK
    out = capsys.readouterr().out
    assert (
        "ok       NAT gateways per Availability Zone: limit 5 (adjustable); 4 in use in ap-southeast-1a "
        "(main: 1, pr1: 1, pr2: 1, pr3: 1); TapStackprod adds 1"
    ) in out


def test_a_redeploy_adds_no_nat_gateway(aws: Aws, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    five = {f"pr{n}": LEAN_EIPS for n in range(1, 6)}
    aws.account(*five)
    aws.region(five, applied=RAISED, deploying="pr5")
    assert aws.run(tmp_path, "pr5", environment_template("pr5", eips=LEAN_EIPS)) == cli.EXIT_OK
    assert "5 in use in ap-southeast-1a (pr1: 1, pr2: 1, pr3: 1, pr4: 1, pr5: 1); TapStackpr5 adds 0" in capsys.readouterr().out


def test_what_a_deleted_stack_left_behind_is_not_what_a_new_deploy_keeps(
    aws: Aws, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """pr1's destroy failed half-way and left its VPC and Elastic IP: a new pr1 stack creates its own again."""
    aws.account()
    aws.region({"pr1": LEAN_EIPS}, deploying="pr1", status="ROLLBACK_COMPLETE")  # a stack holding no resources
    assert aws.run(tmp_path, "pr1", environment_template("pr1", eips=LEAN_EIPS)) == cli.EXIT_OK
    out = capsys.readouterr().out
    assert (
        "VPCs per Region: limit 5 (adjustable); 2 in use in this region ((default VPC): 1, pr1 (left behind): 1); TapStackpr1 adds 1"
        in out
    )
    assert "EC2-VPC Elastic IPs: limit 5 (adjustable); 1 in use in this region (pr1 (left behind): 1); TapStackpr1 adds 1" in out


def test_vpcs_shared_from_another_account_are_not_counted(aws: Aws, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    aws.account()
    aws.region({"pr1": LEAN_EIPS}, deploying="pr2", foreign_vpcs=3)
    assert aws.run(tmp_path, "pr2", environment_template("pr2", eips=LEAN_EIPS)) == cli.EXIT_OK
    out = capsys.readouterr().out
    assert "VPCs per Region: limit 5 (adjustable); 2 in use in this region ((default VPC): 1, pr1: 1); TapStackpr2 adds 1" in out
    assert "Internet gateways per Region: limit 5 (adjustable); 2 in use in this region ((default VPC): 1, pr1: 1)" in out


def test_the_internet_gateway_quota_follows_a_raised_vpc_quota(
    aws: Aws, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """AWS raises internet gateways per Region with VPCs per Region: a VPC quota of 20 lets 5 gateways pass."""
    four = {f"pr{n}": LEAN_EIPS for n in range(1, 5)}
    aws.account(*four)
    aws.region(four, deploying="pr5", applied={"VPC": 20, "EIP": 20})
    assert aws.run(tmp_path, "pr5", environment_template("pr5", eips=LEAN_EIPS)) == cli.EXIT_OK
    assert "ok       Internet gateways per Region: limit 20 (the account's applied quota; AWS's default 5); 5 in use" in (
        capsys.readouterr().out
    )


def test_service_quotas_out_of_reach_assumes_the_default_and_says_so(
    aws: Aws, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from botocore.exceptions import EndpointConnectionError

    def unreachable(**_: Any) -> Any:
        raise EndpointConnectionError(endpoint_url="https://servicequotas.ap-southeast-1.amazonaws.com")

    aws.account()
    aws.region(deploying="pr1", given=("VPC", "InternetGateway", "EIP", "NatGateway"))
    monkeypatch.setattr(aws.clients.service_quotas, "get_service_quota", unreachable)
    template = environment_template("pr1", eips=LEAN_EIPS)
    assert aws.run(tmp_path, "pr1", template) == cli.EXIT_OK
    assert "(Service Quotas not read (EndpointConnectionError): AWS's default assumed)" in capsys.readouterr().out


def database_template(suffix: str) -> dict[str, Any]:
    """One environment's Aurora: a cluster and two instances (the RDS quotas; no network, no CloudFront)."""
    resources = {"Cluster": {"Type": "AWS::RDS::DBCluster"}} | {f"Db{n}": {"Type": "AWS::RDS::DBInstance"} for n in range(2)}
    return {"Resources": resources}


@pytest.mark.parametrize(
    ("status", "used", "code", "adds"),
    [
        (None, 38, cli.EXIT_OK, 2),
        (None, 39, aq.EXIT_QUOTA, 2),
        ("UPDATE_COMPLETE", 40, cli.EXIT_OK, 0),
        # A stack holding nothing: a change set never executed, a create that failed to roll back.
        ("REVIEW_IN_PROGRESS", 39, aq.EXIT_QUOTA, 2),
        ("ROLLBACK_FAILED", 39, aq.EXIT_QUOTA, 2),
    ],
)
def test_db_instances_are_counted_from_the_regions_rds_attributes(
    aws: Aws, tmp_path: Path, capsys: pytest.CaptureFixture[str], status: str | None, used: int, code: int, adds: int
) -> None:
    """A new environment adds its two instances (38 + 2 of 40 fit, 39 + 2 do not); a redeploy adds none."""
    aws.stack("pr9", status)
    quotas = [
        {"AccountQuotaName": "DBInstances", "Used": used, "Max": 40},
        {"AccountQuotaName": "DBClusters", "Used": 3, "Max": 40},
    ]
    aws.rds.add_response("describe_account_attributes", {"AccountQuotas": quotas}, {})
    assert aws.run(tmp_path, "pr9", database_template("pr9")) == code
    out = capsys.readouterr().out
    assert (
        f"DB instances: limit 40 (adjustable); {used} in use in this region ((all in the region): {used}); TapStackpr9 adds {adds}"
        in out
    )
    assert (
        f"ok       DB clusters: limit 40 (adjustable); 3 in use in this region ((all in the region): 3); TapStackpr9 adds {adds // 2}"
        in out
    )


def test_without_the_rds_permission_the_db_quotas_are_skipped_and_said(
    aws: Aws, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    aws.stack("pr9", None)
    aws.rds.add_client_error("describe_account_attributes", "AccessDenied", "not allowed", expected_params={})
    assert aws.run(tmp_path, "pr9", database_template("pr9")) == cli.EXIT_OK
    out = capsys.readouterr().out
    assert "skipped  DB clusters: not checked: describe_account_attributes: An error occurred (AccessDenied)" in out
    assert "skipped  DB instances: not checked:" in out


def test_a_raised_db_instance_quota_can_be_given(aws: Aws, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    aws.stack("pr9", None)
    quotas = [
        {"AccountQuotaName": "DBInstances", "Used": 39, "Max": 40},
        {"AccountQuotaName": "DBClusters", "Used": 3, "Max": 40},
    ]
    aws.rds.add_response("describe_account_attributes", {"AccountQuotas": quotas}, {})
    assert aws.run(tmp_path, "pr9", database_template("pr9"), "--quota", "DBInstance=60") == cli.EXIT_OK
    assert "ok       DB instances: limit 60 (raised with --quota; AWS's default 40); 39 in use" in capsys.readouterr().out


def test_what_the_previous_stack_of_the_name_left_is_not_the_stacks_own(
    aws: Aws, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """pr1 was destroyed half-way (its first stack left a VPC, gateway, Elastic IP and NAT gateway) and deployed
    again: the second stack's resources are its own, the first one's are left behind, and no profile change is seen."""
    aws.account("pr1")
    aws.stack("pr1", "UPDATE_COMPLETE", generation=2)
    aws.sts.add_response("get_caller_identity", {"Account": ACCOUNT}, {})

    def tagged(generation: int) -> list[dict[str, str]]:
        return [*tags("pr1"), {"Key": aq.STACK_ID_TAG, "Value": stack_arn("pr1", generation)}]

    vpcs = [vpc(0, None)] + [vpc(g, "pr1") | {"Tags": tagged(g)} for g in (1, 2)]
    aws.ec2_stub.add_response("describe_vpcs", {"Vpcs": vpcs}, {})
    gateways = [
        {"InternetGatewayId": f"igw-{g}", "Attachments": [{"VpcId": v["VpcId"]}], "Tags": v["Tags"], "OwnerId": ACCOUNT}
        for g, v in enumerate(vpcs)
    ]
    aws.ec2_stub.add_response("describe_internet_gateways", {"InternetGateways": gateways}, {})
    addresses = [{"AllocationId": f"eipalloc-{g}", "Domain": "vpc", "Tags": tagged(g)} for g in (1, 2)]
    aws.ec2_stub.add_response("describe_addresses", {"Addresses": addresses}, {})
    nats = [{"NatGatewayId": f"nat-{g}", "SubnetId": f"subnet-{g}", "State": "available", "Tags": tagged(g)} for g in (1, 2)]
    aws.ec2_stub.add_response("describe_nat_gateways", {"NatGateways": nats}, {"Filter": [LIVE_NATS]})
    subnets = [{"SubnetId": f"subnet-{g}", "AvailabilityZone": ZONES[0]} for g in (1, 2)]
    aws.ec2_stub.add_response("describe_subnets", {"Subnets": subnets}, {"SubnetIds": ["subnet-1", "subnet-2"]})
    aws.quotas()
    assert aws.run(tmp_path, "pr1", environment_template("pr1", eips=LEAN_EIPS)) == cli.EXIT_OK
    out = capsys.readouterr().out
    assert (
        "VPCs per Region: limit 5 (adjustable); 3 in use in this region ((default VPC): 1, pr1: 1, pr1 (left behind): 1); TapStackpr1 adds 0"
        in out
    )
    assert (
        "EC2-VPC Elastic IPs: limit 5 (adjustable); 2 in use in this region (pr1: 1, pr1 (left behind): 1); TapStackpr1 adds 0"
        in out
    )
    assert "2 in use in ap-southeast-1a (pr1: 1, pr1 (left behind): 1); TapStackpr1 adds 0" in out
    assert "PROFILE" not in out


def test_a_gateway_limit_following_a_given_vpc_quota_says_where_it_came_from(
    aws: Aws, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    aws.account()
    aws.region(deploying="pr1", given=("VPC",))
    assert aws.run(tmp_path, "pr1", environment_template("pr1", eips=LEAN_EIPS), "--quota", "VPC=20") == cli.EXIT_OK
    assert (
        "Internet gateways per Region: limit 20 (raised with --quota; AWS's default 5); 1 in use in this region "
        "((default VPC): 1); TapStackpr1 adds 1 (follows VPCs per Region)"
    ) in capsys.readouterr().out


def test_a_raised_db_instance_quota_is_read_from_rds(aws: Aws, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    aws.stack("pr9", None)
    quotas = [
        {"AccountQuotaName": "DBInstances", "Used": 40, "Max": 80},
        {"AccountQuotaName": "DBClusters", "Used": 20, "Max": 40},
    ]
    aws.rds.add_response("describe_account_attributes", {"AccountQuotas": quotas}, {})
    assert aws.run(tmp_path, "pr9", database_template("pr9")) == cli.EXIT_OK
    assert "ok       DB instances: limit 80 (the account's applied quota; AWS's default 40); 40 in use" in capsys.readouterr().out


AURORA = ("aurora-postgresql", "17.7")
OFFERED_PARAMS = {"Engine": AURORA[0], "EngineVersion": AURORA[1], "DBInstanceClass": "db.t4g.medium"}


def aurora_template() -> dict[str, Any]:
    """One Aurora cluster with a writer in ap-southeast-1a and a reader in ap-southeast-1b, as the stack has them."""
    cluster = {"Type": "AWS::RDS::DBCluster", "Properties": {"Engine": AURORA[0], "EngineVersion": AURORA[1]}}
    resources: dict[str, Any] = {"Cluster": cluster}
    for n, zone in enumerate(ZONES[:2]):
        props = {"DBClusterIdentifier": {"Ref": "Cluster"}, "DBInstanceClass": "db.t4g.medium", "AvailabilityZone": zone}
        resources[f"Db{n}"] = {"Type": "AWS::RDS::DBInstance", "Properties": props}
    return {"Resources": resources}


def option(zones: Sequence[str]) -> dict[str, Any]:
    """One orderable option of db.t4g.medium for the engine version, offered in these zones."""
    return {**OFFERED_PARAMS, "AvailabilityZones": [{"Name": zone} for zone in zones], "Vpc": True}


def run_aurora(aws: Aws, tmp_path: Path, pages: Sequence[Sequence[Sequence[str]]] | str, stack: str | None = None) -> int:
    """The preflight of pr9 (stack status `stack`, None: a new environment) whose template is `aurora_template()`,
    and RDS answers describe_orderable_db_instance_options with these pages of options (each option's zones), or
    (a string) that error code."""
    aws.stack("pr9", stack)
    used = 2 if stack else 0
    quotas = [
        {"AccountQuotaName": "DBInstances", "Used": used, "Max": 40},
        {"AccountQuotaName": "DBClusters", "Used": used // 2, "Max": 40},
    ]
    aws.rds.add_response("describe_account_attributes", {"AccountQuotas": quotas}, {})
    if isinstance(pages, str):
        aws.rds.add_client_error("describe_orderable_db_instance_options", pages, "no", expected_params=OFFERED_PARAMS)
    for n, options in enumerate(pages if not isinstance(pages, str) else ()):
        body: dict[str, Any] = {"OrderableDBInstanceOptions": [option(zones) for zones in options]}
        if n + 1 < len(pages):
            body["Marker"] = f"page-{n + 2}"
        params = OFFERED_PARAMS | ({"Marker": f"page-{n + 1}"} if n else {})
        aws.rds.add_response("describe_orderable_db_instance_options", body, params)
    return aws.run(tmp_path, "pr9", aurora_template())


WHAT = "DB instance class: db.t4g.medium for aurora-postgresql 17.7"


@pytest.mark.parametrize(
    ("pages", "code", "line"),
    [
        # Offered in every zone, the options spread over two pages (the reader's zone only on the second): ok.
        ([[ZONES[:1]], [ZONES[1:]]], cli.EXIT_OK, f"ok       {WHAT} is offered in ap-southeast-1a, ap-southeast-1b"),
        # An option that names no zone: RDS places the instance anywhere.
        ([[()]], cli.EXIT_OK, f"ok       {WHAT} is offered in ap-southeast-1a, ap-southeast-1b"),
        # Not offered for this engine version in the region at all.
        ([[]], aq.EXIT_QUOTA, f"REFUSED  {WHAT} is not offered in this region"),
        # Offered, but not in the reader's zone.
        (
            [[(ZONES[0], ZONES[2])]],
            aq.EXIT_QUOTA,
            f"REFUSED  {WHAT} is not offered in ap-southeast-1b (offered in ap-southeast-1a, ap-southeast-1c)",
        ),
    ],
)
def test_the_templates_db_instance_classes_must_be_offered_where_they_are_placed(
    aws: Aws, tmp_path: Path, capsys: pytest.CaptureFixture[str], pages: Any, code: int, line: str
) -> None:
    """RDS refuses a class its engine version does not offer in a zone, half-way through the deploy (after the
    cluster exists): the preflight asks first, for every class, with the template's engine and version."""
    assert run_aurora(aws, tmp_path, pages) == code
    captured = capsys.readouterr()
    assert line in captured.out
    if code == aq.EXIT_QUOTA:
        assert captured.err.startswith("refused: TapStackpr9 would create DB instances RDS does not offer")
        assert "--context dbInstanceClass=" in captured.err


def test_a_deployed_environment_is_warned_not_refused_when_its_class_is_no_longer_offered(
    aws: Aws, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """RDS retires classes and versions for new instances; a deploy that leaves the instances as they are (an
    edge-secret rotation, say) still succeeds, so it goes on with a warning."""
    assert run_aurora(aws, tmp_path, [[]], stack="UPDATE_COMPLETE") == cli.EXIT_OK
    assert (
        f"short    {WHAT} is not offered in this region (for new instances; TapStackpr9 exists: a deploy that creates or "
        "changes one would fail)"
    ) in capsys.readouterr().out


def test_db_instances_whose_class_is_resolved_at_deploy_time_are_not_asked_about() -> None:
    template = aurora_template()
    template["Resources"]["Db1"]["Properties"]["DBInstanceClass"] = {"Ref": "ClassParameter"}
    assert aq.template_db_instances(template) == {(*AURORA, "db.t4g.medium"): (ZONES[0],)}


def test_without_the_permission_the_db_offering_is_skipped_and_said(
    aws: Aws, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_aurora(aws, tmp_path, "AccessDenied") == cli.EXIT_OK
    assert (
        "skipped  DB instance classes: rds:DescribeOrderableDBInstanceOptions not read (AccessDenied)" in capsys.readouterr().out
    )


def fargate_template() -> dict[str, Any]:
    """Two Fargate services as the stack has them: 0.5 and 0.25 vCPU tasks, 2 to 10 of each (1.5 vCPU at rest, 3
    during a release, 7.5 at maximum scale)."""
    resources: dict[str, Any] = {}
    for name, cpu in (("Backend", 512), ("Frontend", 256)):
        resources[f"{name}Task"] = {"Type": "AWS::ECS::TaskDefinition", "Properties": {"Cpu": str(cpu)}}
        service = {"LaunchType": "FARGATE", "DesiredCount": 2, "TaskDefinition": {"Ref": f"{name}Task"}}
        resources[f"{name}Service"] = {"Type": "AWS::ECS::Service", "Properties": service}
        target_id = {"Fn::Join": ["", ["service/", {"Ref": "Cluster"}, "/", {"Fn::GetAtt": [f"{name}Service", "Name"]}]]}
        target = {"MinCapacity": 2, "MaxCapacity": 10, "ResourceId": target_id}
        resources[f"{name}Target"] = {"Type": "AWS::ApplicationAutoScaling::ScalableTarget", "Properties": target}
    return {"Resources": resources}


FARGATE = {"ServiceCode": "fargate", "QuotaCode": "L-3032A538"}


def run_fargate(
    aws: Aws,
    tmp_path: Path,
    applied: float,
    usage: Sequence[float] | str = (),
    stack: str | None = None,
    status: str = "Complete",
) -> int:
    """The preflight of pr9 (two Fargate services, nothing else) with this applied quota, this usage metric answer
    (see Aws.fargate_usage) and this stack status (None: a new environment)."""
    aws.sq.add_response("get_service_quota", {"Quota": {**FARGATE, "Value": float(applied)}}, FARGATE)
    aws.fargate_usage(usage, status)
    aws.stack("pr9", stack)
    return aws.run(tmp_path, "pr9", fargate_template())


NEEDS = "needs 1.5 vCPU at rest, 3 during a release, 7.5 at maximum scale, 15 during a release at maximum scale"


@pytest.mark.parametrize(
    ("applied", "status", "code"),
    [
        (15, "ok       ", cli.EXIT_OK),
        (14, "short    ", cli.EXIT_OK),
        (6, "short    ", cli.EXIT_OK),
        (2, "EXCEEDED ", aq.EXIT_QUOTA),
    ],
)
def test_the_fargate_vcpu_quota_against_what_the_environment_runs(
    aws: Aws, tmp_path: Path, capsys: pytest.CaptureFixture[str], applied: int, status: str, code: int
) -> None:
    """Enough for a release at its maximum scale: ok; enough to release from rest but not under full load (a new
    account's 6, or 14): a warning; too small even for a release from rest: refused."""
    assert run_fargate(aws, tmp_path, applied) == code  # nothing runs in the region yet
    captured = capsys.readouterr()
    assert (
        f"{status}Fargate On-Demand vCPU resource count: limit {applied} (the account's applied quota); TapStackpr9 {NEEDS}; "
        "the region's tasks run 0 vCPU now, its first deploy starts 1.5 more: 1.5"
    ) in captured.out
    assert ("refused: TapStackpr9 would exceed 1 quota(s)" in captured.err) is (code == aq.EXIT_QUOTA)


@pytest.mark.parametrize(
    ("usage", "stack", "applied", "status", "code"),
    [
        # A new environment: its tasks at rest must fit beside what the region runs now.
        ((4.5, 5.5), None, 6, "short    ", cli.EXIT_OK),  # 4.5 now (the latest minute) + 1.5 fits 6; a scale-out would not
        ((5.0, 3.0), None, 6, "EXCEEDED ", aq.EXIT_QUOTA),  # 5 + 1.5 > 6
        ((10.0,), None, 20, "ok       ", cli.EXIT_OK),  # 10 + 7.5 at maximum <= 20, and 15 for a release at maximum
        ((13.0,), None, 20, "short    ", cli.EXIT_OK),  # 13 + 7.5 > 20
        # A deployed one: its own tasks are in the figure, and a deploy that changes no service starts none.
        ((5.0,), "UPDATE_COMPLETE", 6, "short    ", cli.EXIT_OK),
    ],
)
def test_the_fargate_check_counts_what_the_regions_tasks_run_now(
    aws: Aws,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    usage: tuple[float, ...],
    stack: str | None,
    applied: int,
    status: str,
    code: int,
) -> None:
    """Other environments' tasks share the region's quota (AWS/Usage counts every cluster): a new environment whose
    tasks would not fit beside them is refused; a release or scale-out that would not fit is warned."""
    assert run_fargate(aws, tmp_path, applied, usage, stack) == code
    captured = capsys.readouterr()
    now, starts = usage[0], "a release of its services starts" if stack else "its first deploy starts"
    assert (
        f"{status}Fargate On-Demand vCPU resource count: limit {applied} (the account's applied quota); TapStackpr9 {NEEDS}; "
        f"the region's tasks run {now:g} vCPU now, {starts} 1.5 more: {now + 1.5:g}"
    ) in captured.out
    assert ("refused: TapStackpr9 would exceed 1 quota(s)" in captured.err) is (code == aq.EXIT_QUOTA)


def test_a_usage_answer_without_data_that_is_not_complete_is_not_read_as_zero(
    aws: Aws, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_fargate(aws, tmp_path, 15, status="InternalError") == cli.EXIT_OK
    out = capsys.readouterr().out
    assert (
        f"ok       Fargate On-Demand vCPU resource count: limit 15 (the account's applied quota); TapStackpr9 {NEEDS} (the" in out
    )
    assert "cloudwatch:GetMetricData answered InternalError without data; the Fargate check counts this environment alone" in out


def test_without_the_usage_metric_the_fargate_check_counts_the_environment_alone_and_says_so(
    aws: Aws, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_fargate(aws, tmp_path, 6, "AccessDenied") == cli.EXIT_OK
    out = capsys.readouterr().out
    assert (
        f"short    Fargate On-Demand vCPU resource count: limit 6 (the account's applied quota); TapStackpr9 {NEEDS} "
        "(the region's other tasks not counted)"
    ) in out
    assert (
        "skipped  the region's running Fargate tasks: cloudwatch:GetMetricData not read (AccessDenied); "
        "the Fargate check counts this environment alone"
    ) in out


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ("NoSuchResourceException", "no applied value in Service Quotas"),
        ("AccessDeniedException", "Service Quotas not read (AccessDeniedException)"),
        (
            {"ErrorCode": "DEPENDENCY_ACCESS_DENIED_ERROR", "ErrorMessage": "no"},
            "Service Quotas not read (DEPENDENCY_ACCESS_DENIED_ERROR)",
        ),
    ],
)
def test_without_an_applied_fargate_quota_the_check_is_skipped_and_said(
    aws: Aws, tmp_path: Path, capsys: pytest.CaptureFixture[str], answer: Any, reason: str
) -> None:
    """No applied value, no permission, or an answer that carries an ErrorReason (with AWS's 4,000 as its value)."""
    if isinstance(answer, str):
        aws.sq.add_client_error("get_service_quota", answer, "no", expected_params=FARGATE)
    else:
        aws.sq.add_response("get_service_quota", {"Quota": {**FARGATE, "Value": 4000.0, "ErrorReason": answer}}, FARGATE)
    assert aws.run(tmp_path, "pr9", fargate_template()) == cli.EXIT_OK
    out = capsys.readouterr().out
    assert (
        f"skipped  Fargate On-Demand vCPU resource count: {reason}; this environment needs 3 vCPU during a release, "
        "15 during a release at maximum scale (--quota FargateVCPU=N)"
    ) in out
    assert "4000" not in out


def test_a_fargate_quota_can_be_given(aws: Aws, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    aws.fargate_usage()
    aws.stack("pr9", None)
    assert aws.run(tmp_path, "pr9", fargate_template(), "--quota", "FargateVCPU=8") == cli.EXIT_OK
    assert "short    Fargate On-Demand vCPU resource count: limit 8 (raised with --quota)" in capsys.readouterr().out


def test_a_replaced_resource_the_stack_could_not_delete_is_left_behind(
    aws: Aws, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An update replaced pr1's Elastic IP and could not delete the old one: both carry pr1's stack id and the same
    logical id. One is the stack's own; the other is left behind, so a redeploy adds nothing and sees no profile change."""
    aws.account("pr1")
    aws.stack("pr1", "UPDATE_COMPLETE")
    aws.sts.add_response("get_caller_identity", {"Account": ACCOUNT}, {})
    own = [*tags("pr1"), {"Key": aq.STACK_ID_TAG, "Value": stack_arn("pr1")}]
    aws.ec2_stub.add_response("describe_vpcs", {"Vpcs": [vpc(0, None), vpc(1, "pr1") | {"Tags": own}]}, {})
    aws.ec2_stub.add_response("describe_internet_gateways", {"InternetGateways": []}, {})
    eip = [*own, {"Key": aq.LOGICAL_ID_TAG, "Value": "NetworkVpcpublicSubnet1EIPC41EF705"}]
    addresses = [{"AllocationId": f"eipalloc-{n}", "Domain": "vpc", "Tags": eip} for n in range(2)]
    aws.ec2_stub.add_response("describe_addresses", {"Addresses": addresses}, {})
    aws.nat_gateways({"pr1": ZONES[:1]})
    aws.quotas()
    assert aws.run(tmp_path, "pr1", environment_template("pr1", eips=LEAN_EIPS)) == cli.EXIT_OK
    out = capsys.readouterr().out
    assert (
        "EC2-VPC Elastic IPs: limit 5 (adjustable); 2 in use in this region (pr1: 1, pr1 (left behind): 1); TapStackpr1 adds 0"
        in out
    )
    assert "PROFILE" not in out


def test_one_service_is_never_stubbed_twice_at_once() -> None:
    """The clients are reused: a second Stubber on one would answer from the first one's queue."""
    with stubbed_clients("ec2"), pytest.raises(ValueError, match="one Stubber per client"), stubbed_clients("rds", "ec2"):
        pass
    with stubbed_clients("ec2", "rds"):  # both released on exit
        pass
