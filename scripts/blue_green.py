#!/usr/bin/env python3
"""Check and repair the ALB routing of the ECS blue/green services (mitigation for aws/aws-cdk#36649).

Each service (`frontend-<suffix>`, `backend-<suffix>` in `ecs-cluster-<suffix>`) has a blue and a
green target group on `alb-<suffix>` and two listener rules that name both groups with weights:
the production rule and the test rule, which requires the operator token of the secret
`blue-green-test-<suffix>` in `X-Blue-Green-Test` (CloudFront and API Gateway overwrite that
header, so only a request sent to the ALB by someone who can read the secret matches it). The
template sets production
to blue 100 / green 0. After a blue/green deployment ECS rewrites the rules so production forwards
to the group that holds the new tasks, then drains the other group. A later `cdk deploy` that
touches the rules puts the template's weights back (aws/aws-cdk#36649), which can send production
traffic to a group with no targets: an outage.

    python scripts/blue_green.py status     --suffix dev    # what production serves; exit 3 on drift
    python scripts/blue_green.py pre-deploy --suffix dev    # before `cdk deploy`: exit 3 if it would cause an outage
    python scripts/blue_green.py restore    --suffix dev --dry-run   # show the repair
    python scripts/blue_green.py restore    --suffix dev    # point production back at the healthy group
    python scripts/blue_green.py probe      --suffix dev --path /api/health   # GET through the test route

Exit codes: 0 OK; 3 drift (or, for pre-deploy, a deploy would cause one; for probe, the ALB refused
the test route); 4 no healthy targets in either group (restore cannot help; for probe, none in the
group the test route reaches); 2 bad input or resources not found; 1 any other AWS error.
"""

from __future__ import annotations

import argparse
import copy
import sys
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from lib.contract import (  # noqa: E402  (the repository root is put on the path first)
    BLUE_GREEN_COLORS,
    BLUE_GREEN_SERVICES,
    ORIGIN_VERIFY_HEADER,
    ORIGIN_VERIFY_NAME,
    REGION,
    SUFFIX_RULE,
    TEST_ROUTE_NAME,
    TEST_TRAFFIC_HEADER,
    Names,
    suffix_is_valid,
)
from scripts.cli import EXIT_AWS, EXIT_INPUT, EXIT_OK, AwsError, exits_on  # noqa: E402

PROBE_TIMEOUT_SECONDS = 10
# What the ALB answers when no target of the forwarded group is healthy (or registered).
NO_TARGET_STATUSES = (502, 503, 504)

EXIT_DRIFT = 3
EXIT_NO_HEALTHY_TARGETS = 4

OK = "OK"
DRIFT = "DRIFT"
NO_HEALTHY_TARGETS = "NO_HEALTHY_TARGETS"
VERDICT_EXIT = {OK: EXIT_OK, DRIFT: EXIT_DRIFT, NO_HEALTHY_TARGETS: EXIT_NO_HEALTHY_TARGETS}


class BlueGreenError(Exception):
    """Bad input or a resource that is missing or not set up for blue/green. Exit code 2."""


class NotDeployed(BlueGreenError):
    """The cluster, or every requested service, does not exist: nothing has been deployed yet."""


# --------------------------------------------------------------------------- decisions (pure)


def drift(weights: Mapping[str, int], healthy: Mapping[str, int]) -> str | None:
    """The group production should forward to instead, or None when no repair applies.

    Drift: production sends traffic (weight > 0) to a group with zero healthy targets while
    another group of the rule has healthy targets. The replacement is the group with the most
    healthy targets. When no group has healthy targets there is nothing to move to: None
    (see `verdict`, which reports that case as NO_HEALTHY_TARGETS).
    """
    sends_to_empty = any(weight > 0 and healthy.get(group, 0) == 0 for group, weight in weights.items())
    candidates = [group for group in weights if healthy.get(group, 0) > 0]
    if not sends_to_empty or not candidates:
        return None
    return max(candidates, key=lambda group: (healthy[group], group))


def verdict(weights: Mapping[str, int], healthy: Mapping[str, int]) -> str:
    """OK, DRIFT (restore can fix it) or NO_HEALTHY_TARGETS (neither group can serve)."""
    if not any(healthy.get(group, 0) > 0 for group in weights):
        return NO_HEALTHY_TARGETS
    return DRIFT if drift(weights, healthy) is not None else OK


def routed_weights(groups: Sequence[str], serving: str) -> tuple[dict[str, int], dict[str, int]]:
    """Production and test weights with production on `serving` and test traffic on the other group."""
    production = {group: 100 if group == serving else 0 for group in groups}
    test = {group: 0 if group == serving else 100 for group in groups}
    return production, test


def deploy_risk(template_weights: Mapping[str, int], healthy: Mapping[str, int]) -> str | None:
    """Why a `cdk deploy` that resets production to the template's weights would break it, or None.

    The deploy is safe when the template's weights would serve healthy targets, whatever the live
    weights are now; e.g. production on green after a deployment is only a risk once ECS has
    drained blue.
    """
    empty = [group for group, weight in template_weights.items() if weight > 0 and healthy.get(group, 0) == 0]
    if not empty:
        return None
    return f"the template forwards production to {', '.join(target_group_name(g) for g in empty)}, which has no healthy targets"


def forward_weights(actions: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    """Target group ARN → weight of a rule's forward action (a plain forward counts as weight 100)."""
    for action in actions:
        if action.get("Type") != "forward":
            continue
        groups = action.get("ForwardConfig", {}).get("TargetGroups")
        if groups:
            return {g["TargetGroupArn"]: int(g.get("Weight", 1)) for g in groups}
        if action.get("TargetGroupArn"):
            return {action["TargetGroupArn"]: 100}
    return {}


def with_weights(actions: Sequence[Mapping[str, Any]], weights: Mapping[str, int]) -> list[dict[str, Any]]:
    """A rule's actions with the forward action's weights replaced; other actions and stickiness unchanged."""
    updated: list[dict[str, Any]] = []
    for action in actions:
        new = copy.deepcopy(dict(action))
        if new.get("Type") == "forward":
            # A weighted forward is expressed with ForwardConfig only; the top-level
            # TargetGroupArn is for a single group and may not be combined with several.
            new.pop("TargetGroupArn", None)
            forward = new.setdefault("ForwardConfig", {})
            forward["TargetGroups"] = [{"TargetGroupArn": arn, "Weight": weight} for arn, weight in weights.items()]
        updated.append(new)
    return updated


def target_group_name(arn: str) -> str:
    """`tg-frontend-blue-dev` from `arn:aws:elasticloadbalancing:...:targetgroup/tg-frontend-blue-dev/0123abcd`."""
    parts = arn.split(":targetgroup/", 1)
    return parts[1].split("/", 1)[0] if len(parts) == 2 else arn


def format_weights(weights: Mapping[str, int]) -> str:
    return ", ".join(f"{target_group_name(arn)} {weight}" for arn, weight in weights.items()) or "no forward action"


# --------------------------------------------------------------------------- reading AWS


@dataclass(frozen=True)
class TargetGroup:
    arn: str
    registered: int
    healthy: int

    @property
    def name(self) -> str:
        return target_group_name(self.arn)


@dataclass(frozen=True)
class Rule:
    arn: str
    actions: list[dict[str, Any]]

    @property
    def weights(self) -> dict[str, int]:
        return forward_weights(self.actions)


@dataclass(frozen=True)
class ServiceRouting:
    """What one service's production and test traffic reach right now."""

    service_name: str
    deployment: str
    deploying: bool
    template_production: str  # ARN of the group the template puts production on (blue)
    groups: dict[str, TargetGroup]
    production_rule: Rule
    test_rule: Rule

    @property
    def healthy(self) -> dict[str, int]:
        return {arn: group.healthy for arn, group in self.groups.items()}

    @property
    def verdict(self) -> str:
        return verdict(self.production_weights, self.healthy)

    @property
    def production_weights(self) -> dict[str, int]:
        # Groups the rule does not name count as weight 0, so both groups always show.
        return {arn: self.production_rule.weights.get(arn, 0) for arn in self.groups}

    @property
    def test_weights(self) -> dict[str, int]:
        return {arn: self.test_rule.weights.get(arn, 0) for arn in self.groups}

    @property
    def template_weights(self) -> dict[str, int]:
        return {arn: 100 if arn == self.template_production else 0 for arn in self.groups}


def _call(client: Any, operation: str, **params: Any) -> dict[str, Any]:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        response: dict[str, Any] = getattr(client, operation)(**params)
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        if code == "ClusterNotFoundException":
            raise NotDeployed(f"{operation}: {error}") from error
        if code in {
            "RuleNotFound",
            "TargetGroupNotFound",
            "ServiceNotFoundException",
            "LoadBalancerNotFound",
            "ResourceNotFoundException",
        }:
            raise BlueGreenError(f"{operation}: {error}") from error
        raise AwsError(f"{operation}: {error}") from error
    except BotoCoreError as error:
        raise AwsError(f"{operation}: {error}") from error
    return response


def _deployment_state(service: Mapping[str, Any]) -> tuple[str, bool]:
    """A one-line deployment status and whether a deployment is still running."""
    deployments = service.get("deployments", [])
    primary = next((d for d in deployments if d.get("status") == "PRIMARY"), None)
    if primary is None:
        return "no primary deployment", False
    state = str(primary.get("rolloutState", "UNKNOWN"))
    others = [d for d in deployments if d is not primary and d.get("status") == "ACTIVE"]
    deploying = state == "IN_PROGRESS" or bool(others)
    text = f"{state} ({primary.get('runningCount', 0)}/{primary.get('desiredCount', 0)} tasks running"
    text += f", {len(others)} older deployment(s) still active)" if others else ")"
    return text, deploying


def _template_production(groups: Sequence[str], primary: str, service: str, names: Names) -> str:
    """The blue group, by name (`tg-<service>-blue-<suffix>`); the service's primary group if names differ."""
    blue = [arn for arn in groups if target_group_name(arn) == names.target_group(service, BLUE_GREEN_COLORS[0])]
    return blue[0] if len(blue) == 1 else primary


@dataclass(frozen=True)
class _Plan:
    """One service's blue/green resources as ECS names them, before the ALB is asked about them."""

    service: dict[str, Any]
    group_arns: list[str]
    template_production: str
    production_rule: str
    test_rule: str


def read_routing(ecs: Any, elbv2: Any, suffix: str, services: Sequence[str]) -> list[ServiceRouting]:
    """Look the services, their rules and their target groups up by name and describe them."""
    environment = Names(suffix)
    cluster = environment.cluster
    names = [environment.service(service) for service in services]
    described = _call(ecs, "describe_services", cluster=cluster, services=names)
    failures = described.get("failures", [])
    if failures:
        reasons = ", ".join(f"{f.get('arn', '?')}: {f.get('reason', '?')}" for f in failures)
        missing_all = len(failures) == len(names) and all(f.get("reason") == "MISSING" for f in failures)
        raise (NotDeployed if missing_all else BlueGreenError)(f"services not found in cluster {cluster}: {reasons}")
    by_name = {s["serviceName"]: s for s in described.get("services", [])}

    plans: list[_Plan] = []
    for service, name in zip(services, names, strict=True):
        found = by_name.get(name)
        if found is None or found.get("status") != "ACTIVE":
            raise BlueGreenError(f"service {name} is not active in cluster {cluster}")
        balancers = found.get("loadBalancers", [])
        advanced = balancers[0].get("advancedConfiguration") if balancers else None
        if not advanced:
            raise BlueGreenError(f"service {name} has no blue/green load balancer configuration (advancedConfiguration)")
        primary = balancers[0]["targetGroupArn"]
        group_arns = [primary, advanced["alternateTargetGroupArn"]]
        plans.append(
            _Plan(
                service=found,
                group_arns=group_arns,
                template_production=_template_production(group_arns, primary, service, environment),
                production_rule=advanced["productionListenerRule"],
                test_rule=advanced["testListenerRule"],
            )
        )

    rule_arns = [arn for plan in plans for arn in (plan.production_rule, plan.test_rule)]
    rules = {r["RuleArn"]: r for r in _call(elbv2, "describe_rules", RuleArns=rule_arns).get("Rules", [])}
    missing = [arn for arn in rule_arns if arn not in rules]
    if missing:
        raise BlueGreenError(f"listener rules not found: {', '.join(missing)}")

    routings: list[ServiceRouting] = []
    for plan in plans:
        groups: dict[str, TargetGroup] = {}
        for arn in plan.group_arns:
            targets = _call(elbv2, "describe_target_health", TargetGroupArn=arn).get("TargetHealthDescriptions", [])
            healthy = sum(1 for t in targets if t.get("TargetHealth", {}).get("State") == "healthy")
            groups[arn] = TargetGroup(arn, len(targets), healthy)
        deployment, deploying = _deployment_state(plan.service)
        routings.append(
            ServiceRouting(
                service_name=plan.service["serviceName"],
                deployment=deployment,
                deploying=deploying,
                template_production=plan.template_production,
                groups=groups,
                production_rule=Rule(plan.production_rule, rules[plan.production_rule]["Actions"]),
                test_rule=Rule(plan.test_rule, rules[plan.test_rule]["Actions"]),
            )
        )
    return routings


# --------------------------------------------------------------------------- commands


def _print_routing(routing: ServiceRouting) -> None:
    print(f"{routing.service_name}")
    print(f"  deployment       {routing.deployment}")
    print(f"  production rule  {format_weights(routing.production_weights)}")
    print(f"  test rule        {format_weights(routing.test_weights)}")
    targets = ", ".join(f"{g.name} {g.healthy} healthy / {g.registered} registered" for g in routing.groups.values())
    print(f"  targets          {targets}")


def command_status(routings: Sequence[ServiceRouting], args: argparse.Namespace) -> int:
    code = EXIT_OK
    for routing in routings:
        _print_routing(routing)
        result = routing.verdict
        detail = {
            OK: "production serves healthy targets",
            DRIFT: "production forwards to a group with no healthy targets while the other group has some; "
            f"run: {_command(args, 'restore')}",
            NO_HEALTHY_TARGETS: "neither target group has healthy targets; this is not a routing problem "
            "(check the service's tasks and events)",
        }[result]
        print(f"  verdict          {result}: {detail}")
        code = max(code, VERDICT_EXIT[result])
    return code


def command_restore(routings: Sequence[ServiceRouting], args: argparse.Namespace, elbv2: Any) -> int:
    code = EXIT_OK
    for routing in routings:
        result = routing.verdict
        if result == OK:
            print(f"{routing.service_name}: OK, production serves healthy targets; nothing to change")
            continue
        if result == NO_HEALTHY_TARGETS:
            print(
                f"{routing.service_name}: ERROR no healthy targets in {' or '.join(g.name for g in routing.groups.values())}; "
                "not changing the rules (there is nothing to move production to). Check the service's tasks and events.",
                file=sys.stderr,
            )
            code = max(code, EXIT_NO_HEALTHY_TARGETS)
            continue
        if routing.deploying:
            print(
                f"{routing.service_name}: DRIFT but a deployment is in progress ({routing.deployment}); ECS owns the "
                "rules until it finishes. Not changing them; run restore again when the deployment has completed.",
                file=sys.stderr,
            )
            code = max(code, EXIT_DRIFT)
            continue
        serving = drift(routing.production_weights, routing.healthy)
        assert serving is not None  # verdict DRIFT guarantees a healthy group to move to
        production, test = routed_weights(list(routing.groups), serving)
        verb = "would change" if args.dry_run else "changing"
        for label, rule, weights in (("production", routing.production_rule, production), ("test", routing.test_rule, test)):
            before = {arn: rule.weights.get(arn, 0) for arn in routing.groups}
            if before == weights:
                print(f"{routing.service_name}: {label} rule already {format_weights(weights)}")
                continue
            print(f"{routing.service_name}: {verb} {label} rule {format_weights(before)} -> {format_weights(weights)}")
            if not args.dry_run:
                _call(elbv2, "modify_rule", RuleArn=rule.arn, Actions=with_weights(rule.actions, weights))
    if args.dry_run:
        print("dry run: no rule was changed")
    return code


def live_colors(routings: Sequence[ServiceRouting]) -> dict[str, str]:
    """Service -> the color of the target group its production rule serves now (by the group's name)."""
    colors: dict[str, str] = {}
    for routing in routings:
        service = next(s for s in BLUE_GREEN_SERVICES if routing.service_name.startswith(f"{s}-"))
        names = Names(routing.service_name.removeprefix(f"{service}-"))
        serving = target_group_name(max(routing.production_weights.items(), key=lambda item: item[1])[0])
        color = next((c for c in BLUE_GREEN_COLORS if names.target_group(service, c) == serving), None)
        if color is None:
            expected = " or ".join(names.target_group(service, c) for c in BLUE_GREEN_COLORS)
            raise BlueGreenError(f"cannot tell the color of {serving} (expected {expected})")
        colors[service] = color
    return colors


def command_context(routings: Sequence[ServiceRouting]) -> int:
    """Print the `cdk deploy` context that keeps production where ECS left it (blueGreenLive)."""
    colors = live_colors(routings)
    print(f"--context blueGreenLive={','.join(f'{service}={color}' for service, color in colors.items())}")
    return EXIT_OK


def command_pre_deploy(routings: Sequence[ServiceRouting], args: argparse.Namespace) -> int:
    code = EXIT_OK
    at_risk = False
    for routing in routings:
        _print_routing(routing)
        # With --keeps-live the deploy passes `blue_green.py context`, so the template states the live weights.
        template = routing.production_weights if args.keeps_live else routing.template_weights
        risk = deploy_risk(template, routing.healthy)
        if routing.deploying:
            print("  BLOCK            a deployment is in progress; wait until it completes, then run pre-deploy again")
            code = max(code, EXIT_DRIFT)
        elif routing.verdict != OK:
            print(f"  BLOCK            production is already {routing.verdict}; see `{_command(args, 'status')}`")
            code = max(code, VERDICT_EXIT[routing.verdict])
        elif routing.production_weights == template:
            print("  safe             live production weights equal the template's; a deploy keeps them")
        elif risk is None:
            print(
                f"  warning          a deploy that touches the listener rules resets production to "
                f"{format_weights(template)}; that group has healthy targets, so traffic keeps flowing"
            )
        else:
            print(f"  RISK             a deploy that touches the listener rules resets production to {format_weights(template)}:")
            print(f"                   {risk} -> outage until restored (aws/aws-cdk#36649)")
            code = max(code, EXIT_DRIFT)
            at_risk = True
    print()
    if code == EXIT_OK:
        print(f"OK to deploy. Afterwards, check with `{_command(args, 'status')}`.")
    elif at_risk:
        print("What to do: run `cdk deploy`; as soon as it has finished, run")
        print(f"    {_command(args, 'restore')}")
        print(f"and confirm with `{_command(args, 'status')}` (exit 0 = production serves healthy targets).")
        print("Production is down for the affected services from the listener-rule update until restore has run.")
        print("A deploy that does not update the listener rules keeps the live weights: `cdk diff` shows whether it")
        print("changes any AWS::ElasticLoadBalancingV2::ListenerRule.")
    else:
        print("Do not deploy yet: resolve the BLOCK above first.")
    return code


def http_get(url: str, headers: dict[str, str]) -> tuple[int, str]:
    """Status and the start of the body of a GET; an HTTP error status is an answer, not a failure."""
    request = urllib.request.Request(url, headers=headers, method="GET")  # noqa: S310  (http(s) URL built here)
    try:
        with urllib.request.urlopen(request, timeout=PROBE_TIMEOUT_SECONDS) as response:  # noqa: S310
            return response.status, response.read(200).decode("utf-8", "replace")
    except urllib.error.HTTPError as error:
        return error.code, error.read(200).decode("utf-8", "replace")
    except (urllib.error.URLError, OSError) as error:
        raise AwsError(f"GET {url}: {error}") from error


def command_probe(args: argparse.Namespace, secretsmanager: Any, elbv2: Any) -> int:
    """GET a path through the test route, as an operator: the origin secret plus the test-route token.

    The values are read from Secrets Manager (AWSCURRENT); the request goes to the ALB directly,
    because CloudFront and API Gateway overwrite the test header.
    """
    verify = _call(secretsmanager, "get_secret_value", SecretId=Names(args.suffix).edge_secret(ORIGIN_VERIFY_NAME))[
        "SecretString"
    ]
    token = _call(secretsmanager, "get_secret_value", SecretId=Names(args.suffix).edge_secret(TEST_ROUTE_NAME))["SecretString"]
    base = args.base_url
    if not base:
        balancers = _call(elbv2, "describe_load_balancers", Names=[Names(args.suffix).load_balancer]).get("LoadBalancers", [])
        if not balancers:
            raise BlueGreenError(f"load balancer {Names(args.suffix).load_balancer} not found")
        base = f"http://{balancers[0]['DNSName']}"
    url = base.rstrip("/") + args.path
    status, body = http_get(url, {ORIGIN_VERIFY_HEADER: verify, TEST_TRAFFIC_HEADER: token})
    print(f"test route   GET {url} -> {status} {body[:120]!r}")
    production, production_body = http_get(url, {ORIGIN_VERIFY_HEADER: verify})
    print(f"production   GET {url} -> {production} {production_body[:120]!r}")
    if status == 403:
        print("the ALB refused the test route: the token or the origin secret is not the one its rules accept", file=sys.stderr)
        return EXIT_DRIFT
    if status in NO_TARGET_STATUSES:
        print("the test route reached a target group without healthy targets (no deployment in progress?)", file=sys.stderr)
        return EXIT_NO_HEALTHY_TARGETS
    return EXIT_OK


def _command(args: argparse.Namespace, command: str) -> str:
    region = "" if args.region == REGION else f" --region {args.region}"
    return f"python scripts/blue_green.py {command} --suffix {args.suffix}{region}"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="blue_green.py",
        description="Check and repair ECS blue/green listener-rule weights on alb-<suffix> (aws/aws-cdk#36649).",
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--suffix", required=True, help="environment suffix of the stack, e.g. dev or pr123")
    common.add_argument("--region", default=REGION, help=f"AWS region (default {REGION})")
    common.add_argument(
        "--service", action="append", choices=BLUE_GREEN_SERVICES, help="only this service (repeatable; default: all of them)"
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("status", parents=[common], help="show routing and health; exit 3 on drift")
    restore = commands.add_parser("restore", parents=[common], help="point production back at the healthy target group")
    restore.add_argument("--dry-run", action="store_true", help="print the changes without making them")
    pre_deploy = commands.add_parser(
        "pre-deploy", parents=[common], help="run before `cdk deploy`; exit 3 if the deploy would cause an outage"
    )
    pre_deploy.add_argument("--keeps-live", action="store_true", help="the deploy passes the output of `context` (blueGreenLive)")
    commands.add_parser(
        "context",
        parents=[common],
        help="print `--context blueGreenLive=...` so a deploy keeps production where ECS left it (nothing before the first deploy)",
    )
    probe = commands.add_parser("probe", parents=[common], help="GET a path through the test route (operators only)")
    probe.add_argument("--path", default="/health", help="path to request (default /health; /api/health for the backend)")
    probe.add_argument(
        "--base-url", help="where to reach the ALB (default http://<ALB DNS name>; with a certificate: https://<domainName>)"
    )
    args = parser.parse_args(argv)
    if not suffix_is_valid(args.suffix):
        parser.error(f"--suffix {args.suffix!r}: {SUFFIX_RULE}")
    return args


@exits_on({BlueGreenError: ("error", EXIT_INPUT), AwsError: ("AWS error", EXIT_AWS)})
def main(argv: Sequence[str] | None = None, *, ecs: Any = None, elbv2: Any = None, secretsmanager: Any = None) -> int:
    """Run one command. Tests pass stubbed clients; otherwise boto3 creates them."""
    args = parse_args(argv)
    if args.command == "probe":
        if secretsmanager is None or elbv2 is None:
            import boto3

            secretsmanager = secretsmanager or boto3.client("secretsmanager", region_name=args.region)
            elbv2 = elbv2 or boto3.client("elbv2", region_name=args.region)
        return command_probe(args, secretsmanager, elbv2)
    if ecs is None or elbv2 is None:
        import boto3

        ecs = ecs or boto3.client("ecs", region_name=args.region)
        elbv2 = elbv2 or boto3.client("elbv2", region_name=args.region)
    services = [s for s in BLUE_GREEN_SERVICES if s in args.service] if args.service else list(BLUE_GREEN_SERVICES)
    if args.command == "context":
        try:
            routings = read_routing(ecs, elbv2, args.suffix, services)
        except NotDeployed:
            return EXIT_OK  # no environment yet: the template's blue start is right
        return command_context(routings)
    routings = read_routing(ecs, elbv2, args.suffix, services)
    if args.command == "status":
        return command_status(routings, args)
    if args.command == "restore":
        return command_restore(routings, args, elbv2)
    return command_pre_deploy(routings, args)


if __name__ == "__main__":
    sys.exit(main())
