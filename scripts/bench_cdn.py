#!/usr/bin/env python3
"""CDN offload of the synthesized distribution under a synthetic day of traffic.

    python scripts/bench_cdn.py [--template cdk.out/TapStackdev.template.json] [--sessions N] [--videos N] [--zipf S]
                                [--chart docs/cdn-offload.svg] [--json cdk.out/bench-cdn.json]

Reads the distribution from the template (scripts/cdn_model.py), the origins' real
response headers (scripts/origin_headers.py: nginx run with the project's config, the
API's code, the media objects' metadata), runs a platform-sized day (scripts/cdn_traffic.py)
through it per object in closed form (cdn_model.expected) and prints the offload per
behavior and overall, the origin load at the peak hour and the backend tasks it needs,
then the same at other API max-ages (drawn as a chart) and under other eviction assumptions.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from lib.quotas import fargate_services  # noqa: E402
from scripts import cdn_traffic, charts  # noqa: E402
from scripts.cdn_model import Behavior, Eviction, Request, Result, Tally, expected, from_template  # noqa: E402
from scripts.origin_headers import (  # noqa: E402
    BackendHeaders,
    capture_nginx_headers,
    media_object_headers,
    template_cache_max_age,
)

BENCH_RESULTS = ROOT / "app" / "backend" / "bench" / "RESULTS.md"
SWEEP_MAX_AGES = (0, 5, 30, 120)
# The two things the goal depends on that no setting of the distribution controls (drawn in docs/cdn-tradeoff.svg):
# the audience (sessions a day, the catalog as it is) and how long the origin shield keeps an object nobody asks for.
AUDIENCE_SWEEP = (250_000, 1_000_000, 4_000_000, 16_000_000)
GOAL_REQUESTS, GOAL_BYTES = 0.95, 0.99
SPA_ROUTE_SAMPLE = "/videos/12"

HOUR = 3600
# CloudFront publishes no eviction figure: the idle time after which each tier drops an object.
EVICTION = Eviction(edge=1 * HOUR, regional=24 * HOUR, shield=24 * HOUR)
PESSIMISTIC_EVICTION = Eviction(edge=600, regional=2 * HOUR, shield=6 * HOUR)


def describe(eviction: Eviction) -> str:
    def span(seconds: float | None) -> str:
        return "never" if seconds is None else f"{seconds / HOUR:g} h" if seconds >= HOUR else f"{seconds / 60:g} min"

    return f"edge {span(eviction.edge)}, regional {span(eviction.regional)}, shield {span(eviction.shield)}"


EVICTION_NAME = describe(EVICTION)
# The shield's idle time, the rest of the assumed eviction kept (None: never evicts).
SHIELD_IDLE_SWEEP = (1 * HOUR, 6 * HOUR, 24 * HOUR, 72 * HOUR, 168 * HOUR, None)
EVICTION_CASES = {
    "no eviction": Eviction(),
    f"assumed ({EVICTION_NAME})": EVICTION,
    f"pessimistic ({describe(PESSIMISTIC_EVICTION)})": PESSIMISTIC_EVICTION,
}

ASSUMPTIONS = (
    "every day is like the last (steady state): objects new today (a new release) are not counted as cold misses",
    "viewers act independently, so each object's requests at each edge location are a Poisson process",
    f"a tier drops an object after an idle time ({EVICTION_NAME}); CloudFront publishes none",
    "a tier's misses reach the tier above as a Poisson process beyond the quiet time a miss implies (an approximation)",
    "an expired object is fetched whole from upstream (CloudFront revalidates with If-None-Match; a 304 is smaller)",
    "an object served from an upper tier keeps its remaining lifetime (Age) in the lower tier",
    "no request collapsing inside one tier: two misses in the same instant both go upstream",
    "uncacheable requests (POST, TTL 0) go from the edge straight to the origin",
    "media objects carry the headers of app/media/formats.json, as the publisher and the demo deployment set them",
    "audience, catalog popularity, sizes and the diurnal curve are the stated assumptions of scripts/cdn_traffic.py",
    "backend throughput per task scales with the task's vCPU share from the single-core figure of RESULTS.md",
)


def bench_requests_per_second(path: Path = BENCH_RESULTS) -> float:
    """The lowest catalog-API req/s on the shipped server (granian, one worker, one core) in RESULTS.md."""
    values = [
        float(m.group(1).replace(",", ""))
        for m in re.finditer(r"^\|\s*catalog, granian\s*\|\s*([\d,.]+)\s*\|", path.read_text(), re.M)
    ]
    if not values:
        raise ValueError(f"no '| catalog, granian | <req/s> |' row in {path}")
    return min(values)


def backend_scaling(template: dict[str, Any]) -> dict[str, float]:
    """vCPU, minimum and maximum tasks and CPU target of the backend service, from the template."""
    service = next(s for s in fargate_services(template) if "backend" in json.dumps(s.properties.get("ServiceName", "")))
    policy = next(
        v["Properties"]["TargetTrackingScalingPolicyConfiguration"]
        for v in template["Resources"].values()
        if v["Type"] == "AWS::ApplicationAutoScaling::ScalingPolicy"
        and v["Properties"].get("ScalingTargetId") == {"Ref": service.scalable_target}
        and "TargetTrackingScalingPolicyConfiguration" in v["Properties"]
    )
    return {
        "vcpu": service.vcpu,
        "min_tasks": service.min_tasks,
        "max_tasks": service.max_tasks,
        "cpu_target": float(policy["TargetValue"]) / 100,
    }


class OriginHeaders:
    """Which origin answers a path decides the headers: media objects, the API, or nginx."""

    def __init__(self, api_max_age: int, nginx: Mapping[str, Mapping[str, str]]) -> None:
        self.api = BackendHeaders(api_max_age)
        self.nginx = nginx

    def __call__(self, request: Request, behavior: Behavior) -> Mapping[str, str]:
        if request.path.startswith("/media/"):
            return media_object_headers(request.path)
        if request.path.startswith("/api/"):
            return self.api(request.method, request.path)
        if request.path.startswith("/assets/"):
            return self.nginx[cdn_traffic.ASSETS[0]]
        # The app shell (or, for a path no viewer-request function rewrote, nginx's fallback to it).
        return self.nginx.get(request.path) or self.nginx[SPA_ROUTE_SAMPLE]


def summarize(result: Result, scaling: dict[str, float], per_task: float) -> dict[str, Any]:
    overall = result.overall
    peak_hour = max(result.viewer_requests_by_hour, key=lambda h: result.viewer_requests_by_hour[h])
    origin_peak = {kind: by_hour.get(peak_hour, 0) / 3600 for kind, by_hour in result.origin_requests_by_hour.items()}
    api_rps = origin_peak.get("API Gateway", 0.0)
    capacity = per_task * scaling["vcpu"] * scaling["cpu_target"]

    def tally(t: Tally) -> dict[str, float]:
        return {
            "requests": t.requests,
            "bytes": t.bytes,
            "origin_requests": t.origin_requests,
            "origin_bytes": t.origin_bytes,
            "uncacheable": t.uncacheable,
            "function_invocations": t.function_invocations,
            "request_offload": t.request_offload,
            "byte_offload": t.byte_offload,
        }

    return {
        "behaviors": {label: tally(t) for label, t in sorted(result.by_behavior.items())},
        "overall": tally(overall),
        "origin_fetches_by_tier": dict(result.fetches_by_tier),
        "peak_hour": peak_hour % 24,
        "peak_viewer_rps": result.viewer_requests_by_hour[peak_hour] / 3600,
        "peak_origin_rps": origin_peak,
        "backend_task_capacity_rps": capacity,
        "backend_tasks_needed": max(int(scaling["min_tasks"]), math.ceil(api_rps / capacity) if capacity else 0),
    }


def chart(sweep: dict[int, dict[str, Any]], shipped: int, path: Path, title: str = "synthetic day") -> None:
    plt = charts.pyplot()
    ages = sorted(sweep)
    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=110)
    series = [
        ("overall, requests", [sweep[a]["overall"]["request_offload"] for a in ages]),
        ("overall, bytes", [sweep[a]["overall"]["byte_offload"] for a in ages]),
    ]
    for label in sweep[ages[0]]["behaviors"]:
        if label.startswith("/api/"):
            series.append((f"{label}, requests", [sweep[a]["behaviors"][label]["request_offload"] for a in ages]))
    for label, values in series:
        ax.plot(ages, [100 * v for v in values], marker="o", label=label)
    ax.axhline(100 * GOAL_REQUESTS, color="grey", linestyle=":", linewidth=1)
    ax.axhline(100 * GOAL_BYTES, color="grey", linestyle=":", linewidth=1)
    ax.annotate(
        f"goals {GOAL_REQUESTS:.0%} / {GOAL_BYTES:.0%}",
        (ages[0], 100 * GOAL_REQUESTS),
        xytext=(4, -26),
        textcoords="offset points",
        fontsize=8,
    )
    ax.axvline(shipped, color="grey", linestyle="--", linewidth=1)
    ax.annotate(f"shipped max-age={shipped}s", (shipped, 80), textcoords="offset points", xytext=(4, 0), fontsize=8)
    ax.set_xscale("symlog", linthresh=5)
    ax.set_xlim(min(ages) - 0.5, max(ages) * 1.2)
    ax.set_xticks(ages, [str(a) for a in ages])
    ax.set_ylim(0, 100)
    ax.set_xlabel("API Cache-Control max-age (s)")
    ax.set_ylabel("served by CloudFront (%)")
    ax.set_title(f"CDN offload vs the API's max-age ({title})", fontsize=10)
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    charts.save(fig, path, "cdn-offload")


def trade_off_chart(
    audiences: dict[int, dict[str, float]], shield: dict[float | None, dict[str, float]], shipped_sessions: int, path: Path
) -> None:
    """Offload (requests and bytes) against the audience and against the shield's idle time, with the goals: the two
    assumptions the goal depends on, which no setting of the distribution controls."""
    plt = charts.pyplot()
    fig, (by_audience, by_shield) = plt.subplots(1, 2, figsize=(10, 4.2), dpi=110, sharey=True)
    sessions = sorted(audiences)
    idle = [t for t in shield if t is not None]
    never = max(idle) * 3  # where "never evicts" is drawn, right of the longest idle time
    shield_x = [never if t is None else t for t in shield]
    for key, label in (("request_offload", "requests"), ("byte_offload", "bytes")):
        by_audience.plot(sessions, [100 * audiences[n][key] for n in sessions], marker="o", label=label)
        by_shield.plot([x / HOUR for x in shield_x], [100 * shield[t][key] for t in shield], marker="o", label=label)
    for ax in (by_audience, by_shield):
        ax.axhline(100 * GOAL_REQUESTS, color="grey", linestyle=":", linewidth=1)
        ax.axhline(100 * GOAL_BYTES, color="grey", linestyle=":", linewidth=1)
        ax.set_xscale("log")
        ax.minorticks_off()
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="lower right")
    by_audience.axvline(shipped_sessions, color="grey", linestyle="--", linewidth=1)
    by_audience.set_xticks(sessions, [f"{n / 1e6:g}M" for n in sessions])
    by_audience.set_xlabel(f"sessions a day (shield idle {describe(EVICTION).split('shield ')[1]})")
    by_audience.set_ylabel("served by CloudFront (%)")
    by_audience.set_title("against the audience", fontsize=10)
    by_shield.axvline(EVICTION.shield / HOUR if EVICTION.shield else never / HOUR, color="grey", linestyle="--", linewidth=1)
    by_shield.set_xticks([x / HOUR for x in shield_x], [f"{x / HOUR:g} h" for x in idle] + ["never"])
    by_shield.set_xlabel(f"origin shield idle time before eviction ({shipped_sessions / 1e6:g}M sessions a day)")
    by_shield.set_title("against what CloudFront keeps", fontsize=10)
    by_audience.set_ylim(80, 100)
    fig.suptitle(
        f"CDN offload at the shipped settings; goals {GOAL_REQUESTS:.0%} of requests, {GOAL_BYTES:.0%} of bytes (dotted)",
        fontsize=10,
    )
    fig.tight_layout()
    charts.save(fig, path, "cdn-tradeoff")


def _pct(value: float) -> str:
    return f"{100 * value:6.2f}%"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--template", type=Path, default=ROOT / "cdk.out" / "TapStackdev.template.json")
    parser.add_argument("--sessions", type=int, default=cdn_traffic.SESSIONS_PER_DAY)
    parser.add_argument("--videos", type=int, default=cdn_traffic.CATALOG_VIDEOS, help="catalog size")
    parser.add_argument("--zipf", type=float, default=cdn_traffic.ZIPF_S, help="Zipf exponent of video popularity")
    parser.add_argument("--chart", type=Path, default=ROOT / "docs" / "cdn-offload.svg")
    parser.add_argument("--tradeoff-chart", type=Path, default=ROOT / "docs" / "cdn-tradeoff.svg")
    parser.add_argument("--json", type=Path, default=ROOT / "cdk.out" / "bench-cdn.json")
    args = parser.parse_args()
    if not args.template.is_file():
        parser.error(f"{args.template} does not exist: run `make synth` first")
    if args.sessions <= 0 or args.zipf <= 0:
        parser.error("--sessions and --zipf must be > 0")
    started = time.monotonic()
    template = json.loads(args.template.read_text())
    distribution = from_template(template)
    shipped = template_cache_max_age(template)
    nginx = capture_nginx_headers(["/", "/index.html", SPA_ROUTE_SAMPLE, cdn_traffic.ASSETS[0]])
    scaling = backend_scaling(template)
    per_task = bench_requests_per_second()
    try:
        streams = cdn_traffic.day_streams(args.sessions, args.videos, args.zipf)
    except ValueError as error:
        parser.error(str(error))
    audience = cdn_traffic.audience()

    print(f"template {args.template.name}: behaviors in precedence order")
    for b in distribution.behaviors:
        p = b.policy
        print(
            f"  {b.path_pattern:10} -> {b.origin.kind:11} shield={b.origin.shield_region or '-':15} "
            f"TTL min/default/max {p.min_ttl}/{p.default_ttl}/{p.max_ttl}  cached {','.join(b.cached_methods)}"
            + ("  viewer-request function (run by node)" if b.viewer_request else "")
        )
    print("origin headers: nginx " + json.dumps(nginx) + f"; media {dict(media_object_headers('seg.ts'))}")
    requests = sum(s.per_day * s.copies for s in streams)
    volume = sum(s.per_day * s.copies * s.request.size for s in streams)
    print(
        f"day: {args.sessions:,} sessions over {len(audience.edges)} edge locations and "
        f"{len({r for r, _ in audience.edges.values()})} regional edge caches, {args.videos:,} videos (Zipf {args.zipf}), "
        f"{requests:,.0f} requests, {volume / 1e12:,.1f} TB, {sum(s.copies for s in streams):,} objects in {len(streams):,} streams"
    )

    # Only the API's answers depend on its max-age: the rest of the day is computed once per eviction case.
    api_streams = [s for s in streams if s.request.path.startswith("/api/")]
    rest_streams = [s for s in streams if not s.request.path.startswith("/api/")]
    rest_results: dict[Eviction, Result] = {}

    def run(age: int, eviction: Eviction = EVICTION) -> dict[str, Any]:
        if eviction not in rest_results:
            rest_results[eviction] = expected(distribution, rest_streams, OriginHeaders(age, nginx), audience, eviction)
        result = rest_results[eviction] + expected(distribution, api_streams, OriginHeaders(age, nginx), audience, eviction)
        return summarize(result, scaling, per_task)

    ages = sorted({*SWEEP_MAX_AGES, shipped})
    sweep = {age: run(age) for age in ages}
    at = sweep[shipped]

    print(f"\noffload at the shipped settings (API max-age {shipped} s; idle eviction: {EVICTION_NAME})")
    print(
        f"  {'behavior':28} {'requests':>13} {'origin req':>11} {'uncacheable':>11} {'req offload':>11} {'TB':>8} {'byte offload':>12}"
    )
    for label, s in [*at["behaviors"].items(), ("overall", at["overall"])]:
        print(
            f"  {label:28} {s['requests']:>13,.0f} {s['origin_requests']:>11,.0f} {s['uncacheable']:>11,.0f} "
            f"{_pct(s['request_offload']):>11} {s['bytes'] / 1e12:>8,.2f} {_pct(s['byte_offload']):>12}"
        )
    print(
        f"  CloudFront Functions invocations (viewer requests of behaviors with one): {at['overall']['function_invocations']:,.0f}"
    )
    print(
        "  origin fetches by the tier that missed last: "
        + ", ".join(f"{k} {v:,.0f}" for k, v in at["origin_fetches_by_tier"].items())
    )
    print(
        f"\npeak hour {at['peak_hour']:02d}:00: {at['peak_viewer_rps']:,.0f} viewer req/s; origin req/s "
        + ", ".join(f"{k} {v:,.1f}" for k, v in sorted(at["peak_origin_rps"].items()))
    )
    print(
        f"backend: {per_task:,.0f} req/s per core (app/backend/bench/RESULTS.md) x {scaling['vcpu']} vCPU x "
        f"{scaling['cpu_target']:.0%} CPU target = {at['backend_task_capacity_rps']:,.0f} req/s per task -> "
        f"{at['backend_tasks_needed']} tasks (minimum {int(scaling['min_tasks'])}, maximum {int(scaling['max_tasks'])})"
    )
    print("\nAPI max-age sweep:  max-age  overall req  overall bytes  /api/* req  origin API req/s at peak  tasks")
    for age, s in sweep.items():
        api = next((v for k, v in s["behaviors"].items() if k.startswith("/api/")), None)
        print(
            f"{age:>27}  {_pct(s['overall']['request_offload']):>11}  {_pct(s['overall']['byte_offload']):>13}  "
            f"{_pct(api['request_offload']) if api else '-':>10}  {s['peak_origin_rps'].get('API Gateway', 0):>24.1f}  {s['backend_tasks_needed']:>5}"
        )
    print("\neviction (the one assumption CloudFront publishes nothing about):  overall req  overall bytes")
    evictions = {name: at if eviction == EVICTION else run(shipped, eviction) for name, eviction in EVICTION_CASES.items()}
    for name, s in evictions.items():
        print(f"  {name:62} {_pct(s['overall']['request_offload']):>11}  {_pct(s['overall']['byte_offload']):>13}")
    print("\nshield idle time (edge and regional as assumed):  overall req  overall bytes")
    shield: dict[float | None, dict[str, float]] = {}
    for idle in SHIELD_IDLE_SWEEP:
        eviction = Eviction(edge=EVICTION.edge, regional=EVICTION.regional, shield=idle)
        shield[idle] = (at if eviction == EVICTION else run(shipped, eviction))["overall"]
        name = "never" if idle is None else f"{idle / HOUR:g} h"
        print(f"  {name:47} {_pct(shield[idle]['request_offload']):>11}  {_pct(shield[idle]['byte_offload']):>13}")
    print("\naudience (sessions a day, assumed eviction):       overall req  overall bytes")
    audiences: dict[int, dict[str, float]] = {}
    for sessions in AUDIENCE_SWEEP:
        if sessions == args.sessions:
            audiences[sessions] = at["overall"]
        else:
            day = cdn_traffic.day_streams(sessions, args.videos, args.zipf)
            result = expected(distribution, day, OriginHeaders(shipped, nginx), audience, EVICTION)
            audiences[sessions] = summarize(result, scaling, per_task)["overall"]
        print(
            f"  {sessions:>47,} {_pct(audiences[sessions]['request_offload']):>11}  {_pct(audiences[sessions]['byte_offload']):>13}"
        )
    met = at["overall"]["request_offload"] >= GOAL_REQUESTS and at["overall"]["byte_offload"] >= GOAL_BYTES
    print(
        f"\ngoal >= {GOAL_REQUESTS:.0%} of requests and >= {GOAL_BYTES:.0%} of bytes from CloudFront: {'MET' if met else 'NOT MET'}"
    )
    print("model assumptions a real deployment can contradict:")
    for line in ASSUMPTIONS:
        print(f"  - {line}")
    chart(sweep, shipped, args.chart, f"make bench-cdn: {args.sessions:,} sessions/day, {args.videos:,} videos")
    trade_off_chart(audiences, shield, args.sessions, args.tradeoff_chart)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(
        json.dumps(
            {
                "shipped_max_age": shipped,
                "sessions": args.sessions,
                "videos": args.videos,
                "zipf": args.zipf,
                "sweep": sweep,
                "eviction": evictions,
                "shield_idle": {"never" if k is None else str(k): v for k, v in shield.items()},
                "audience": {str(k): v for k, v in audiences.items()},
            },
            indent=1,
        )
    )
    print(
        f"\nwrote {args.chart.relative_to(ROOT) if args.chart.is_relative_to(ROOT) else args.chart}, "
        f"{args.tradeoff_chart.relative_to(ROOT) if args.tradeoff_chart.is_relative_to(ROOT) else args.tradeoff_chart} and {args.json} "
        f"in {time.monotonic() - started:.1f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
