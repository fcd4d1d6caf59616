#!/usr/bin/env python3
"""Monthly cost in ap-southeast-1 of synthesized templates, side by side.

    python scripts/cost.py cdk.out/TapStackdev.template.json [cdk.out/lean/TapStackdev.template.json]
                           [--traffic cdk.out/bench-cdn.json]

Fixed charges come from walking each template's resources against the dated price table
(scripts/prices.py); usage charges come from the traffic `make bench-cdn` modelled (its
measured day x 30), and are shown for the first template only.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from lib.contract import REGION  # noqa: E402
from scripts.prices import (  # noqa: E402
    AURORA_STORAGE_GB,
    CONTAINER_INSIGHTS_METRICS,
    HOURS_PER_MONTH,
    PRICES,
    TABLE_DATE,
)

GOAL_LEAN_SHARE = 0.40


class CostError(ValueError):
    pass


@dataclass(frozen=True)
class Line:
    item: str
    quantity: float
    unit: str
    monthly_usd: float


def _price(key: str) -> float:
    if key not in PRICES:
        raise CostError(f"no price for {key!r} in scripts/prices.py: add it with its source")
    return PRICES[key].usd


def _of_type(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template.get("Resources", {}).items() if v.get("Type") == resource_type}


def _min_tasks(template: dict[str, Any], service_id: str) -> int:
    for target in _of_type(template, "AWS::ApplicationAutoScaling::ScalableTarget").values():
        if service_id in json.dumps(target["Properties"].get("ResourceId")):
            return int(target["Properties"]["MinCapacity"])
    return int(template["Resources"][service_id]["Properties"].get("DesiredCount", 1))


def fixed_costs(template: dict[str, Any]) -> list[Line]:
    """Charges a deployed, idle environment pays every month."""
    lines: list[Line] = []
    hours = HOURS_PER_MONTH

    nats = len(_of_type(template, "AWS::EC2::NatGateway"))
    if nats:
        lines.append(Line("NAT gateways", nats, "gateways x 730 h", nats * hours * _price("nat_gateway_hour")))
    eips = len(_of_type(template, "AWS::EC2::EIP"))
    albs = _of_type(template, "AWS::ElasticLoadBalancingV2::LoadBalancer")
    alb_ips = sum(
        len(a["Properties"].get("Subnets", []))
        for a in albs.values()
        if a["Properties"].get("Scheme", "internet-facing") == "internet-facing"
    )
    if eips + alb_ips:
        lines.append(
            Line(
                "public IPv4 addresses",
                eips + alb_ips,
                f"{eips} EIPs + {alb_ips} ALB nodes x 730 h",
                (eips + alb_ips) * hours * _price("public_ipv4_hour"),
            )
        )
    if albs:
        lines.append(
            Line(
                "Application Load Balancer",
                len(albs),
                "ALBs x 730 h (+ 1 LCU)",
                len(albs) * hours * (_price("alb_hour") + _price("alb_lcu_hour")),
            )
        )

    classes = Counter(str(i["Properties"]["DBInstanceClass"]) for i in _of_type(template, "AWS::RDS::DBInstance").values())
    for cls, count in sorted(classes.items()):
        lines.append(Line(f"Aurora {cls}", count, "instances x 730 h", count * hours * _price(f"aurora_pg_{cls}_hour")))
    if _of_type(template, "AWS::RDS::DBCluster"):
        lines.append(
            Line("Aurora storage", AURORA_STORAGE_GB, "GB-month (assumed)", AURORA_STORAGE_GB * _price("aurora_storage_gb_month"))
        )

    tasks_total = 0
    for service_id, service in sorted(_of_type(template, "AWS::ECS::Service").items()):
        task = template["Resources"][service["Properties"]["TaskDefinition"]["Ref"]]["Properties"]
        vcpu, gib = int(task["Cpu"]) / 1024, int(task["Memory"]) / 1024
        tasks = _min_tasks(template, service_id)
        tasks_total += tasks
        per_hour = vcpu * _price("fargate_vcpu_hour") + gib * _price("fargate_gb_hour")
        lines.append(
            Line(
                f"Fargate {task.get('Family', service_id)}",
                tasks,
                f"minimum tasks of {vcpu:g} vCPU / {gib:g} GB x 730 h",
                tasks * hours * per_hour,
            )
        )

    for cluster in _of_type(template, "AWS::ECS::Cluster").values():
        settings = {s["Name"]: s["Value"] for s in cluster["Properties"].get("ClusterSettings", [])}
        mode = settings.get("containerInsights")
        if mode in CONTAINER_INSIGHTS_METRICS:
            rate = CONTAINER_INSIGHTS_METRICS[mode]
            services = len(_of_type(template, "AWS::ECS::Service"))
            metrics = rate["per_service"] * services + rate["per_task"] * tasks_total
            lines.append(
                Line(f"Container Insights ({mode})", metrics, "metrics (estimate)", metrics * _price("custom_metric_month"))
            )

    for acl in _of_type(template, "AWS::WAFv2::WebACL").values():
        rules = len(acl["Properties"].get("Rules", []))
        lines.append(
            Line("WAF web ACL", 1, f"ACL + {rules} rules", _price("waf_web_acl_month") + rules * _price("waf_rule_month"))
        )
    keys = len(_of_type(template, "AWS::KMS::Key"))
    if keys:
        lines.append(Line("KMS keys", keys, "keys", keys * _price("kms_key_month")))
    # Plus the master-user secret RDS creates for each cluster with ManageMasterUserPassword.
    secrets = len(_of_type(template, "AWS::SecretsManager::Secret")) + sum(
        1 for c in _of_type(template, "AWS::RDS::DBCluster").values() if c["Properties"].get("ManageMasterUserPassword")
    )
    if secrets:
        lines.append(Line("Secrets Manager", secrets, "secrets", secrets * _price("secret_month")))
    dashboards = len(_of_type(template, "AWS::CloudWatch::Dashboard"))
    if dashboards:
        lines.append(Line("CloudWatch dashboards", dashboards, "dashboards", dashboards * _price("dashboard_month")))
    alarm_metrics = sum(_alarm_metrics(a["Properties"]) for a in _of_type(template, "AWS::CloudWatch::Alarm").values())
    if alarm_metrics:
        lines.append(Line("CloudWatch alarms", alarm_metrics, "alarm metrics", alarm_metrics * _price("alarm_metric_month")))
    return lines


def _alarm_metrics(props: dict[str, Any]) -> int:
    """An alarm is billed per metric it evaluates (metric math: each metric of the expression)."""
    metrics = props.get("Metrics")
    if metrics:
        return sum(1 for m in metrics if "MetricStat" in m) or 1
    return 1


def usage_costs(traffic: dict[str, Any]) -> list[Line]:
    """Monthly usage charges of the bench-cdn day at the shipped settings, x 30."""
    day = traffic["sweep"][str(traffic["shipped_max_age"])]
    overall = day["overall"]
    api = next((v for k, v in day["behaviors"].items() if k.startswith("/api/")), {"origin_requests": 0})
    requests, gigabytes = overall["requests"] * 30, overall["bytes"] * 30 / 1e9
    origin, api_origin = overall["origin_requests"] * 30, api["origin_requests"] * 30
    if "function_invocations" not in overall:
        raise CostError("the bench-cdn traffic has no CloudFront Functions invocations: re-run `make bench-cdn`")
    # Viewer-request functions run on every viewer request of their behaviors, cache hits included.
    invocations = overall["function_invocations"] * 30
    return [
        Line("CloudFront data to viewers", gigabytes, "GB", gigabytes * _price("cloudfront_asia_gb")),
        Line("CloudFront HTTPS requests", requests, "requests", requests / 1e4 * _price("cloudfront_asia_https_10k")),
        Line(
            "CloudFront Functions",
            invocations,
            "invocations",
            invocations / 1e6 * _price("cloudfront_functions_million"),
        ),
        Line("Origin shield requests", origin, "origin requests", origin / 1e4 * _price("origin_shield_10k")),
        Line("API Gateway requests", api_origin, "calls from CloudFront", api_origin / 1e6 * _price("api_gateway_rest_million")),
        Line("WAF requests", api_origin, "requests inspected", api_origin / 1e6 * _price("waf_million_requests")),
    ]


def total(lines: Iterable[Line]) -> float:
    return sum(line.monthly_usd for line in lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("templates", nargs="+", type=Path, help="first: production; others side by side")
    parser.add_argument("--names", nargs="+", help="a column name per template")
    parser.add_argument("--traffic", type=Path, help="cdk.out/bench-cdn.json from make bench-cdn")
    args = parser.parse_args()
    names = args.names or [p.parent.name for p in args.templates]
    if len(names) != len(args.templates):
        parser.error("--names needs one name per template")
    fixed = {name: fixed_costs(json.loads(path.read_text())) for name, path in zip(names, args.templates, strict=True)}

    print(f"Monthly fixed cost in {REGION}, USD (prices of {TABLE_DATE}, scripts/prices.py; 730 h a month)")
    items = list(dict.fromkeys(line.item for lines in fixed.values() for line in lines))
    print(f"{'item':34}" + "".join(f"{n:>22}" for n in names))
    for item in items:
        cells = []
        for name in names:
            line = next((entry for entry in fixed[name] if entry.item == item), None)
            cells.append(f"{line.monthly_usd:>10,.2f} ({line.quantity:g})" if line else "-")
        print(f"{item:34}" + "".join(f"{c:>22}" for c in cells))
    totals = {name: total(lines) for name, lines in fixed.items()}
    print(f"{'total fixed':34}" + "".join(f"{totals[n]:>22,.2f}" for n in names))
    base = totals[names[0]]
    for name in names[1:]:
        share = totals[name] / base if base else 0
        verdict = "MET" if share <= GOAL_LEAN_SHARE else "NOT MET"
        print(f"{name} / {names[0]}: {share:.1%} (goal <= {GOAL_LEAN_SHARE:.0%}: {verdict})")
    if args.traffic:
        traffic = json.loads(args.traffic.read_text())
        usage = usage_costs(traffic)
        print(f"\nUsage of {names[0]} under the bench-cdn traffic ({traffic['sessions']:,} sessions a day, x 30 days)")
        for line in usage:
            print(f"{line.item:34}{line.monthly_usd:>12,.2f}   {line.quantity:,.0f} {line.unit}")
        print(f"{'total usage':34}{total(usage):>12,.2f}")
        print(f"{'total ' + names[0]:34}{base + total(usage):>12,.2f}")
    unverified = sorted(k for k, p in PRICES.items() if p.corroborated is None)
    print(f"\nprices not corroborated by an offline copy of a public page (check at the source): {', '.join(unverified)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
