"""A trace-driven model of the CloudFront distribution, read from the synthesized template.

Nothing here restates a value of lib/cdn.py: behaviors, path patterns, methods,
cache policies (TTLs, cache key) and origin shield all come from the template.
How CloudFront applies them follows its developer guide:

* Path patterns: behaviors are evaluated in the order they are listed, the first
  match wins, the default behavior (`*`) last. `*` matches any run of characters,
  `?` exactly one; matching is case-sensitive ("Cache behavior settings", Path pattern).
* Methods: a request whose method is not in CachedMethods is forwarded to the origin
  and never cached (POST, PUT, PATCH, DELETE never are).
* TTL ("Manage how long content stays in the cache (expiration)"): if the origin's
  Cache-Control has no-cache, no-store or private, the object is cached for the
  minimum TTL (so not at all when it is 0); otherwise s-maxage, else max-age, else
  Expires gives the object's lifetime, clamped to [minimum TTL, maximum TTL];
  without any of those, the default TTL (at least the minimum TTL).
  `stale-while-revalidate` lets a cache answer with the expired copy during that
  window while it refreshes the object from upstream.
* Viewer-request functions: a CloudFront Function associated with a behavior as viewer
  request runs after the behavior is chosen (by the viewer's path) and before the cache
  lookup, so the cache key and the origin see the request as the function returned it.
  The model runs the template's FunctionCode with node over the distinct requests.
* Cache key: the path plus the headers, cookies and query strings the cache policy
  names, plus the normalized Accept-Encoding when the policy enables gzip/brotli.
* Tiers: viewer -> edge location (POP) -> regional edge cache -> origin shield (when the
  origin has one) -> origin. A cache serves an object from an upper tier with the
  lifetime it has left there (its Age), so every tier expires it at the same moment.
  Requests that cannot be cached go straight to the origin.
* Eviction: CloudFront drops objects that are not requested often, before they expire;
  `Eviction` gives each tier an idle time after which it no longer has an object.

Two ways to run a day through it: `simulate` replays a trace request by request (the
reference, for small traces), `expected` computes each object's arrival process per cache
in closed form (a platform-sized day in seconds); a test checks that they agree.

Assumptions a real deployment can contradict are listed in the README
(performance section) and printed by `make bench-cdn`.
"""

from __future__ import annotations

import json
import math
import re
import shutil
import subprocess
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from email.utils import parsedate_to_datetime
from typing import Any

import numpy as np

# AWS managed cache policies the template may name by id (values from the CloudFront
# developer guide, "Use managed cache policies").
MANAGED_CACHE_POLICIES: dict[str, dict[str, Any]] = {
    "658327ea-f89d-4fab-a63d-7e88639e58f6": {  # CachingOptimized
        "Name": "Managed-CachingOptimized",
        "MinTTL": 1,
        "DefaultTTL": 86400,
        "MaxTTL": 31536000,
        "ParametersInCacheKeyAndForwardedToOrigin": {
            "EnableAcceptEncodingGzip": True,
            "EnableAcceptEncodingBrotli": True,
            "HeadersConfig": {"HeaderBehavior": "none"},
            "CookiesConfig": {"CookieBehavior": "none"},
            "QueryStringsConfig": {"QueryStringBehavior": "none"},
        },
    },
    "b2884449-e4de-46a7-ac36-70bc7f1ddd6d": {  # CachingOptimizedForUncompressedObjects
        "Name": "Managed-CachingOptimizedForUncompressedObjects",
        "MinTTL": 1,
        "DefaultTTL": 86400,
        "MaxTTL": 31536000,
        "ParametersInCacheKeyAndForwardedToOrigin": {
            "EnableAcceptEncodingGzip": False,
            "EnableAcceptEncodingBrotli": False,
            "HeadersConfig": {"HeaderBehavior": "none"},
            "CookiesConfig": {"CookieBehavior": "none"},
            "QueryStringsConfig": {"QueryStringBehavior": "none"},
        },
    },
    "4135ea2d-6df8-44a3-9df3-4b5a84be39ad": {  # CachingDisabled
        "Name": "Managed-CachingDisabled",
        "MinTTL": 0,
        "DefaultTTL": 0,
        "MaxTTL": 0,
        "ParametersInCacheKeyAndForwardedToOrigin": {
            "EnableAcceptEncodingGzip": False,
            "HeadersConfig": {"HeaderBehavior": "none"},
            "CookiesConfig": {"CookieBehavior": "none"},
            "QueryStringsConfig": {"QueryStringBehavior": "none"},
        },
    },
}
DEFAULT_METHODS = ("GET", "HEAD")


class ModelError(ValueError):
    """The template (or a request) cannot be modelled."""


@dataclass(frozen=True)
class CachePolicy:
    name: str
    min_ttl: int
    default_ttl: int
    max_ttl: int
    header_names: tuple[str, ...] = ()
    cookie_behavior: str = "none"  # none | whitelist | allExcept | all
    cookie_names: tuple[str, ...] = ()
    query_behavior: str = "none"  # none | whitelist | allExcept | all
    query_names: tuple[str, ...] = ()
    accept_encoding: bool = False

    def ttl(self, response_headers: Mapping[str, str]) -> tuple[int, int]:
        """(seconds the object may be served fresh, seconds it may then be served stale)."""
        directives = parse_cache_control(response_headers.get("Cache-Control", ""))
        if {"no-cache", "no-store", "private"} & directives.keys():
            return self.min_ttl, 0
        lifetime: int | None = None
        for name in ("s-maxage", "max-age"):
            if name in directives and directives[name] is not None:
                lifetime = int(directives[name] or 0)
                break
        if lifetime is None and "Expires" in response_headers:
            expires = parsedate_to_datetime(response_headers["Expires"])
            date = parsedate_to_datetime(response_headers.get("Date", response_headers["Expires"]))
            lifetime = max(0, int((expires - date).total_seconds()))
        if lifetime is None:
            return max(self.min_ttl, self.default_ttl), 0
        fresh = min(max(lifetime, self.min_ttl), self.max_ttl)
        stale = int(directives.get("stale-while-revalidate") or 0) if fresh > 0 else 0
        return fresh, stale

    def key(self, request: Request) -> tuple[Any, ...]:
        parts: list[Any] = [request.path]
        if self.query_behavior != "none":
            pairs = sorted(request.query.items())
            if self.query_behavior == "whitelist":
                pairs = [p for p in pairs if p[0] in self.query_names]
            elif self.query_behavior == "allExcept":
                pairs = [p for p in pairs if p[0] not in self.query_names]
            parts.append(tuple(pairs))
        lowered = {k.lower(): v for k, v in request.headers.items()}
        parts.append(tuple(lowered.get(h.lower()) for h in self.header_names))
        if self.cookie_behavior != "none":
            cookies = sorted(request.cookies.items())
            if self.cookie_behavior == "whitelist":
                cookies = [c for c in cookies if c[0] in self.cookie_names]
            elif self.cookie_behavior == "allExcept":
                cookies = [c for c in cookies if c[0] not in self.cookie_names]
            parts.append(tuple(cookies))
        if self.accept_encoding:
            accept = lowered.get("accept-encoding", "")
            parts.append("br" if "br" in accept else "gzip" if "gzip" in accept else "")
        return tuple(parts)


@dataclass(frozen=True)
class Origin:
    id: str
    kind: str  # what the origin is, from the template: ALB, API Gateway, S3, ...
    shield_region: str | None


@dataclass(frozen=True)
class Behavior:
    path_pattern: str
    origin: Origin
    allowed_methods: tuple[str, ...]
    cached_methods: tuple[str, ...]
    policy: CachePolicy
    regex: re.Pattern[str] = field(compare=False, repr=False)
    # FunctionCode of the CloudFront Function associated as viewer request, if any.
    viewer_request: str | None = field(default=None, repr=False)

    @property
    def label(self) -> str:
        return f"{self.path_pattern} -> {self.origin.kind}"


@dataclass(frozen=True)
class Request:
    time: float  # seconds since the start of the trace
    pop: str  # edge location
    region: str  # its regional edge cache
    method: str
    path: str
    size: int  # bytes of the response body as delivered to the viewer
    query: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    cookies: Mapping[str, str] = field(default_factory=dict)


def parse_cache_control(value: str) -> dict[str, str | None]:
    directives: dict[str, str | None] = {}
    for part in value.split(","):
        part = part.strip()
        if not part:
            continue
        name, _, arg = part.partition("=")
        directives[name.strip().lower()] = arg.strip().strip('"') or None
    return directives


def pattern_regex(pattern: str) -> re.Pattern[str]:
    """CloudFront path pattern -> regex (`*` any run, `?` one character, case-sensitive)."""
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern.lstrip("/"))
    return re.compile(f"/?{body}\\Z", re.DOTALL)


@dataclass
class Distribution:
    behaviors: list[Behavior]  # in precedence order, default last

    def match(self, path: str) -> Behavior:
        for behavior in self.behaviors:
            if behavior.regex.match(path):
                return behavior
        raise ModelError(f"no behavior matches {path!r}")  # unreachable: the default matches all


def _resolve_policy(template: dict[str, Any], ref: Any) -> CachePolicy:
    if isinstance(ref, dict) and "Ref" in ref:
        resource = template["Resources"].get(ref["Ref"])
        if not resource or resource["Type"] != "AWS::CloudFront::CachePolicy":
            raise ModelError(f"cache policy {ref} is not an AWS::CloudFront::CachePolicy of the template")
        config = resource["Properties"]["CachePolicyConfig"]
    elif isinstance(ref, str) and ref in MANAGED_CACHE_POLICIES:
        config = MANAGED_CACHE_POLICIES[ref]
    else:
        raise ModelError(f"unknown cache policy {ref!r}: add it to MANAGED_CACHE_POLICIES or define it in the stack")
    params = config["ParametersInCacheKeyAndForwardedToOrigin"]
    headers = params.get("HeadersConfig", {})
    cookies = params.get("CookiesConfig", {})
    queries = params.get("QueryStringsConfig", {})
    name = config.get("Name", "")
    return CachePolicy(
        name=name if isinstance(name, str) else "cache policy",
        min_ttl=int(config.get("MinTTL", 0)),
        default_ttl=int(config.get("DefaultTTL", 86400)),
        max_ttl=int(config.get("MaxTTL", 31536000)),
        header_names=tuple(headers.get("Headers", ())) if headers.get("HeaderBehavior") == "whitelist" else (),
        cookie_behavior=cookies.get("CookieBehavior", "none"),
        cookie_names=tuple(cookies.get("Cookies", ())),
        query_behavior=queries.get("QueryStringBehavior", "none"),
        query_names=tuple(queries.get("QueryStrings", ())),
        accept_encoding=bool(params.get("EnableAcceptEncodingGzip") or params.get("EnableAcceptEncodingBrotli")),
    )


def _referenced_types(template: dict[str, Any], value: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "Ref" and isinstance(inner, str) and inner in template["Resources"]:
                found.add(template["Resources"][inner]["Type"])
            elif key == "Fn::GetAtt":
                found.add(template["Resources"].get(inner[0], {}).get("Type", ""))
            else:
                found |= _referenced_types(template, inner)
    elif isinstance(value, list):
        for inner in value:
            found |= _referenced_types(template, inner)
    return found


ORIGIN_KINDS = {
    "AWS::ElasticLoadBalancingV2::LoadBalancer": "ALB",
    "AWS::ApiGateway::RestApi": "API Gateway",
    "AWS::S3::Bucket": "S3",
}


def _origin(template: dict[str, Any], spec: dict[str, Any]) -> Origin:
    types = _referenced_types(template, spec.get("DomainName"))
    kind = next((label for rtype, label in ORIGIN_KINDS.items() if rtype in types), None)
    if kind is None:
        kind = "S3" if "S3OriginConfig" in spec else "custom"
    shield = spec.get("OriginShield", {})
    return Origin(spec["Id"], kind, shield.get("OriginShieldRegion") if shield.get("Enabled") else None)


def _viewer_request_code(template: dict[str, Any], spec: dict[str, Any], pattern: str) -> str | None:
    """The FunctionCode of the behavior's viewer-request CloudFront Function (None without one)."""
    if spec.get("LambdaFunctionAssociations"):
        raise ModelError(f"behavior {pattern}: Lambda@Edge associations are not modelled")
    codes = []
    for association in spec.get("FunctionAssociations", []):
        if association.get("EventType") != "viewer-request":
            continue  # a viewer-response function changes no cache key and no origin request
        arn = association.get("FunctionARN")
        logical = arn.get("Fn::GetAtt", [None])[0] if isinstance(arn, dict) else None
        resource = template["Resources"].get(logical) if isinstance(logical, str) else None
        if not resource or resource["Type"] != "AWS::CloudFront::Function":
            raise ModelError(
                f"behavior {pattern}: viewer-request function {arn} is not an AWS::CloudFront::Function of the template"
            )
        code = resource["Properties"]["FunctionCode"]
        if not isinstance(code, str):
            raise ModelError(f"behavior {pattern}: the FunctionCode of {logical} is not a literal string")
        codes.append(code)
    if len(codes) > 1:
        raise ModelError(f"behavior {pattern}: CloudFront allows one viewer-request function per behavior, found {len(codes)}")
    return codes[0] if codes else None


def from_template(template: dict[str, Any]) -> Distribution:
    """The distribution of a synthesized template (exactly one AWS::CloudFront::Distribution)."""
    found = [r for r in template["Resources"].values() if r["Type"] == "AWS::CloudFront::Distribution"]
    if len(found) != 1:
        raise ModelError(f"expected one AWS::CloudFront::Distribution in the template, found {len(found)}")
    config = found[0]["Properties"]["DistributionConfig"]
    origins = {spec["Id"]: _origin(template, spec) for spec in config["Origins"]}

    def behavior(spec: dict[str, Any], pattern: str) -> Behavior:
        if "CachePolicyId" not in spec:
            raise ModelError(f"behavior {pattern}: legacy ForwardedValues/TTL settings are not modelled, only cache policies")
        return Behavior(
            path_pattern=pattern,
            origin=origins[spec["TargetOriginId"]],
            allowed_methods=tuple(spec.get("AllowedMethods", DEFAULT_METHODS)),
            cached_methods=tuple(spec.get("CachedMethods", DEFAULT_METHODS)),
            policy=_resolve_policy(template, spec["CachePolicyId"]),
            regex=pattern_regex(pattern),
            viewer_request=_viewer_request_code(template, spec, pattern),
        )

    ordered = [behavior(spec, spec["PathPattern"]) for spec in config.get("CacheBehaviors", [])]
    ordered.append(behavior(config["DefaultCacheBehavior"], "*"))
    return Distribution(ordered)


# ----------------------------------------------------------------------------- viewer-request functions

# The viewer address the model's events carry (a documentation address, RFC 5737): the
# model has no per-viewer addresses, so a function that keys on it is not modelled.
MODEL_VIEWER_IP = "192.0.2.1"


def viewer_request_event(request: Request) -> dict[str, Any]:
    """The CloudFront Functions event (structure version 1.0) of a viewer request."""

    def values(items: Mapping[str, str], lower: bool = False) -> dict[str, dict[str, str]]:
        return {(k.lower() if lower else k): {"value": v} for k, v in items.items()}

    return {
        "version": "1.0",
        "context": {"eventType": "viewer-request", "distributionId": "EMODEL", "requestId": "model"},
        "viewer": {"ip": MODEL_VIEWER_IP},
        "request": {
            "method": request.method,
            "uri": request.path,
            "querystring": values(request.query),
            "headers": values(request.headers, lower=True),
            "cookies": values(request.cookies),
        },
    }


def run_function(code: str, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`handler(event)` of a CloudFront Function's code for each event, run by node in one process."""
    node = shutil.which("node")
    if node is None:
        raise ModelError("node is needed to run the template's CloudFront Functions (the CDK CLI needs it too)")
    harness = (
        f"{code}\n;(function () {{\n"
        "  const events = JSON.parse(require('fs').readFileSync(0, 'utf8'));\n"
        "  process.stdout.write(JSON.stringify(events.map(function (e) { return handler(e); })));\n"
        "})();\n"
    )
    result = subprocess.run(
        [node, "-e", harness], input=json.dumps(events), capture_output=True, text=True, check=False, timeout=60
    )
    if result.returncode != 0:
        raise ModelError(f"the CloudFront Function failed under node: {result.stderr.strip()[-2000:]}")
    output: list[dict[str, Any]] = json.loads(result.stdout)
    return output


class ViewerRequests:
    """Applies each behavior's viewer-request function to requests: node runs once per batch of distinct requests."""

    def __init__(self) -> None:
        self._memo: dict[tuple[str, str], dict[str, Any]] = {}

    @staticmethod
    def _event(request: Request) -> tuple[dict[str, Any], str]:
        """The request's event and its signature (the event's request part, canonical JSON)."""
        event = viewer_request_event(request)
        return event, json.dumps(event["request"], sort_keys=True)

    def prepare(self, pairs: Iterable[tuple[Behavior, Request]]) -> None:
        """Run the functions over every distinct request of `pairs` not seen yet."""
        pending: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
        for behavior, request in pairs:
            code = behavior.viewer_request
            if code is not None:
                event, signature = self._event(request)
                if (code, signature) not in self._memo:
                    pending[code][signature] = event
        for code, events in pending.items():
            for signature, output in zip(events, run_function(code, list(events.values())), strict=True):
                self._memo[(code, signature)] = output

    def apply(self, behavior: Behavior, request: Request) -> Request:
        """The request as the cache and the origin see it."""
        code = behavior.viewer_request
        if code is None:
            return request
        event, signature = self._event(request)
        if (code, signature) not in self._memo:
            self.prepare([(behavior, request)])
        output = self._memo[(code, signature)]
        if "statusCode" in output:
            raise ModelError(f"{behavior.label}: the function answered {request.path} itself; responses are not modelled")
        before = event["request"]

        def plain(items: Mapping[str, Any]) -> dict[str, str]:
            return {k: v["value"] for k, v in items.items()}

        changes: dict[str, Any] = {}
        if output["uri"] != before["uri"]:
            changes["path"] = output["uri"]
        for name, attribute in (("querystring", "query"), ("headers", "headers"), ("cookies", "cookies")):
            if output.get(name, {}) != before[name]:
                changes[attribute] = plain(output.get(name, {}))
        return replace(request, **changes) if changes else request


def copy_path(path: str, copy: int) -> str:
    """The path of copy `copy` of a stream's object (copy 0 is the representative's own path)."""
    head, _, tail = path.rpartition("/")
    return path if copy == 0 else f"{head}/c{copy}-{tail}"


# ----------------------------------------------------------------------------- eviction

TIERS = ("edge", "regional", "shield")


@dataclass(frozen=True)
class Eviction:
    """How long each tier keeps an object that nobody asks it for (seconds; None: until it expires).

    CloudFront evicts objects that are not requested often to make room for others, and
    publishes no figure. Treating a tier as "drops an object after `idle` seconds without a
    request" is the characteristic-time (Che) approximation of a full LRU cache: every object
    whose requests come closer together than that time stays, the rest are fetched again.
    """

    edge: float | None = None
    regional: float | None = None
    shield: float | None = None

    def __post_init__(self) -> None:
        for tier in TIERS:
            idle = getattr(self, tier)
            if idle is not None and idle <= 0:
                raise ModelError(f"eviction idle time of the {tier} tier must be > 0 seconds or None, got {idle}")

    def shortest(self) -> float:
        return min((t for t in (self.edge, self.regional, self.shield) if t is not None), default=math.inf)


# ----------------------------------------------------------------------------- results


@dataclass
class Tally:
    requests: float = 0
    bytes: float = 0
    origin_requests: float = 0
    origin_bytes: float = 0
    uncacheable: float = 0  # origin requests that no TTL could have saved (POST, no-cache, no-store, TTL 0)
    function_invocations: float = 0  # viewer requests that ran a CloudFront Function (billed per invocation)

    @property
    def request_offload(self) -> float:
        return 1 - self.origin_requests / self.requests if self.requests else 1.0

    @property
    def byte_offload(self) -> float:
        return 1 - self.origin_bytes / self.bytes if self.bytes else 1.0

    def add(self, other: Tally) -> None:
        self.requests += other.requests
        self.bytes += other.bytes
        self.origin_requests += other.origin_requests
        self.origin_bytes += other.origin_bytes
        self.uncacheable += other.uncacheable
        self.function_invocations += other.function_invocations


@dataclass
class Result:
    by_behavior: dict[str, Tally]
    origin_requests_by_hour: dict[str, dict[int, float]]  # origin kind -> hour -> requests
    viewer_requests_by_hour: dict[int, float]
    # origin fetches by tier that asked (edge, regional, shield): how the hierarchy collapsed misses
    fetches_by_tier: dict[str, float]

    @property
    def overall(self) -> Tally:
        total = Tally()
        for tally in self.by_behavior.values():
            total.add(tally)
        return total

    def __add__(self, other: Result) -> Result:
        """Two disjoint sets of objects together (the model treats every object on its own)."""
        by_behavior: dict[str, Tally] = defaultdict(Tally)
        origin: dict[str, dict[int, float]] = defaultdict(lambda: defaultdict(float))
        viewer: dict[int, float] = defaultdict(float)
        fetches: dict[str, float] = defaultdict(float)
        for result in (self, other):
            for label, tally in result.by_behavior.items():
                by_behavior[label].add(tally)
            for kind, hours in result.origin_requests_by_hour.items():
                for hour, n in hours.items():
                    origin[kind][hour] += n
            for hour, n in result.viewer_requests_by_hour.items():
                viewer[hour] += n
            for tier, n in result.fetches_by_tier.items():
                fetches[tier] += n
        return Result(dict(by_behavior), {k: dict(v) for k, v in origin.items()}, dict(viewer), dict(fetches))


HeadersFor = Callable[[Request, Behavior], Mapping[str, str]]


def _lifetime(behavior: Behavior, request: Request, headers_for: HeadersFor, memo: dict[Any, tuple[int, int]]) -> tuple[int, int]:
    """(fresh, stale) seconds CloudFront keeps this response; (0, 0) when it cannot cache it."""
    if request.method not in behavior.cached_methods:
        return 0, 0
    headers = headers_for(request, behavior)
    key = (behavior.path_pattern, tuple(sorted(headers.items())))
    if key not in memo:
        memo[key] = behavior.policy.ttl(headers)
    return memo[key]


# ----------------------------------------------------------------------------- per-request simulation


class _Cache:
    """One cache: key -> (fresh until, stale-serve until), and when each key was last asked for."""

    __slots__ = ("entries", "idle", "used")

    def __init__(self, idle: float | None) -> None:
        self.entries: dict[tuple[Any, ...], tuple[float, float]] = {}
        self.used: dict[tuple[Any, ...], float] = {}
        self.idle = idle

    def get(self, key: tuple[Any, ...], now: float) -> tuple[float, float] | None:
        entry = self.entries.get(key)
        if entry is not None and self.idle is not None and now - self.used[key] > self.idle:
            del self.entries[key]  # evicted: nobody asked for it for longer than the idle time
            return None
        return entry

    def put(self, key: tuple[Any, ...], entry: tuple[float, float], now: float) -> None:
        self.entries[key] = entry
        self.used[key] = now

    def touch(self, key: tuple[Any, ...], now: float) -> None:
        self.used[key] = now


def simulate(
    distribution: Distribution,
    trace: Iterable[Request],
    headers_for: HeadersFor,
    measure_from: float = 0.0,
    eviction: Eviction | None = None,
) -> Result:
    """Replay `trace` (in time order) through edge, regional and shield caches, request by request.

    Requests before `measure_from` (seconds) only warm the caches; the rest are counted.
    This is the reference the fast model (`expected`) is checked against on small traces.
    """
    eviction = eviction or Eviction()
    by_behavior: dict[str, Tally] = defaultdict(Tally)
    origin_by_hour: dict[str, Counter[int]] = defaultdict(Counter)
    viewer_by_hour: Counter[int] = Counter()
    fetches: Counter[str] = Counter()
    edges: dict[str, _Cache] = defaultdict(lambda: _Cache(eviction.edge))
    regionals: dict[str, _Cache] = defaultdict(lambda: _Cache(eviction.regional))
    shields: dict[str, _Cache] = defaultdict(lambda: _Cache(eviction.shield))
    ttl_memo: dict[Any, tuple[int, int]] = {}
    last_time = float("-inf")
    matched = [(distribution.match(r.path), r) for r in trace]
    functions = ViewerRequests()
    functions.prepare((b, r) for b, r in matched if r.method in b.allowed_methods)

    for behavior, viewer_request in matched:
        if viewer_request.time < last_time:
            raise ModelError("the trace must be in time order")
        last_time = viewer_request.time
        counted = viewer_request.time >= measure_from
        tally = by_behavior[behavior.label] if counted else Tally()
        tally.requests += 1
        tally.bytes += viewer_request.size
        hour = int((viewer_request.time - measure_from) // 3600)
        if counted:
            viewer_by_hour[hour] += 1
        if viewer_request.method not in behavior.allowed_methods:
            continue  # CloudFront answers 403 itself
        if behavior.viewer_request is not None:
            tally.function_invocations += 1
        request = functions.apply(behavior, viewer_request)
        key = (behavior.path_pattern, behavior.policy.key(request))
        fresh, stale = _lifetime(behavior, request, headers_for, ttl_memo)
        if fresh <= 0:
            origin = True
            tally.uncacheable += 1
            if counted:
                fetches["edge"] += 1
        else:
            tiers: list[tuple[str, _Cache]] = [("edge", edges[request.pop]), ("regional", regionals[request.region])]
            if behavior.origin.shield_region:
                tiers.append(("shield", shields[behavior.origin.shield_region + behavior.origin.id]))
            origin = _lookup(tiers, key, request.time, fresh, stale, fetches if counted else Counter())
        if origin and counted:
            tally.origin_requests += 1
            tally.origin_bytes += request.size
            origin_by_hour[behavior.origin.kind][hour] += 1
    return Result(
        dict(by_behavior),
        {kind: dict(hours) for kind, hours in origin_by_hour.items()},
        dict(viewer_by_hour),
        dict(fetches),
    )


def _lookup(
    tiers: list[tuple[str, _Cache]], key: tuple[Any, ...], now: float, fresh: int, stale: int, fetches: Counter[str]
) -> bool:
    """Walk the tiers; fill the ones that missed. True when the origin had to answer."""
    missed: list[_Cache] = []
    last = tiers[0][0]
    for position, (name, cache) in enumerate(tiers):
        entry = cache.get(key, now)
        if entry is not None and now < entry[0]:
            cache.touch(key, now)
            for lower in missed:
                lower.put(key, entry, now)
            return False
        if entry is not None and now < entry[1]:
            # Served stale to the viewer while this tier refreshes from upstream in the
            # background: the upstream request still happens (and may reach the origin).
            refreshed, from_origin = _refresh(tiers[position + 1 :], key, now, fresh, stale, fetches, name)
            for lower in [*missed, cache]:
                lower.put(key, refreshed, now)
            return from_origin
        missed.append(cache)
        last = name
    fetches[last] += 1
    expiry = (now + fresh, now + fresh + stale)
    for cache in missed:
        cache.put(key, expiry, now)
    return True


def _refresh(
    tiers: list[tuple[str, _Cache]], key: tuple[Any, ...], now: float, fresh: int, stale: int, fetches: Counter[str], asker: str
) -> tuple[tuple[float, float], bool]:
    """Fetch a fresh copy through `tiers` (the ones above the asker): (its expiry, whether the origin answered)."""
    for _name, cache in tiers:
        entry = cache.get(key, now)
        if entry is not None and now < entry[0]:
            cache.touch(key, now)
            return entry, False
    fetches[tiers[-1][0] if tiers else asker] += 1
    expiry = (now + fresh, now + fresh + stale)
    for _name, cache in tiers:
        cache.put(key, expiry, now)
    return expiry, True


# ----------------------------------------------------------------------------- fast model: per-object arrival processes

DAY = 86400.0
BINS_PER_HOUR = 4


@dataclass(frozen=True)
class Stream:
    """The requests for one object (one cache key) from many independent viewers: a Poisson process.

    `copies` identical, independent objects share one stream (a catalog's tail, binned by rate);
    `request` is a representative (its time, pop and region are not used).
    """

    request: Request
    per_day: float  # expected requests a day for each copy, all edge locations together
    copies: int = 1


@dataclass(frozen=True)
class Audience:
    """Where and when viewers ask: edge location -> (its regional edge cache, share of viewers); 24 hourly shares."""

    edges: Mapping[str, tuple[str, float]]
    hourly: tuple[float, ...]

    def __post_init__(self) -> None:
        if len(self.hourly) != 24 or min(self.hourly) < 0 or sum(self.hourly) <= 0:
            raise ModelError("the audience needs 24 non-negative hourly shares with a positive sum")
        if not self.edges or min(w for _, w in self.edges.values()) <= 0:
            raise ModelError("the audience needs at least one edge location, each with a positive share")


def exposure(rate: np.ndarray, window: float | None, width: float) -> np.ndarray:
    """Expected requests in the `window` seconds before each bin's midpoint.

    `rate` (..., B) is requests per second, constant within each of the B bins of `width`
    seconds and repeating every B bins (every day is like the last). window=None: infinite.
    """
    if window is None:
        return np.full(rate.shape, np.inf)
    bins = rate.shape[-1]
    per_bin = rate * width
    full, rem = divmod(window, bins * width)
    tiled = np.concatenate([per_bin, per_bin], axis=-1)
    cumulative = np.concatenate([np.zeros((*rate.shape[:-1], 1)), np.cumsum(tiled, axis=-1)], axis=-1)

    def upto(x: np.ndarray) -> np.ndarray:  # requests from the start of the tiled period to x seconds
        k = np.floor(x / width).astype(int)
        return np.asarray(cumulative[..., k] + (x / width - k) * tiled[..., np.minimum(k, 2 * bins - 1)])

    middle = (np.arange(bins) + bins + 0.5) * width
    return np.asarray(full * per_bin.sum(-1, keepdims=True) + upto(middle) - upto(middle - rem))


def _misses(rate: np.ndarray, idle: float | None, width: float) -> np.ndarray:
    """Miss rate of a cache that keeps an immutable object until `idle` seconds pass without a request."""
    return np.asarray(rate * np.exp(-exposure(rate, idle, width)))


def _upper_misses(
    lower_misses: np.ndarray, member: np.ndarray, lower_idle: float | None, idle: float | None, width: float
) -> np.ndarray:
    """Miss rate (S, U, B) of upper caches fed by the misses (S, L, B) of lower ones (member: (L, U) 0/1).

    A request from lower cache l reaches upper cache u, which misses when none of its lower
    caches sent it anything in the last `idle` seconds. The other lower caches' misses are
    taken as Poisson; l itself, having just missed, sent nothing in its own last
    `lower_idle` seconds (a miss is always preceded by that quiet time), so only its misses
    before then count.
    """
    if idle is None:  # never evicts: in steady state it has every object
        return np.zeros((lower_misses.shape[0], member.shape[1], lower_misses.shape[2]))
    own = exposure(lower_misses, idle, width)  # (S, L, B)
    if lower_idle is not None:
        # Its misses are at least `dead` apart: beyond the quiet time they come at the rate of the
        # remaining gap, 1 / (1/rate - dead), not at the mean rate.
        dead = min(idle, lower_idle)
        rest = np.clip(1 - lower_misses * dead, 1e-9, None)
        own_before_quiet = (own - exposure(lower_misses, dead, width)) / rest
    else:
        own_before_quiet = own
    total = np.einsum("slb,lu->sub", own, member)  # (S, U, B) all lower caches' misses in the idle time
    inside = member[None, :, :, None]  # (1, L, U, 1)
    exponent = total[:, None, :, :] - own[:, :, None, :] * inside + own_before_quiet[:, :, None, :] * inside
    return np.asarray(np.einsum("slb,lu,slub->sub", lower_misses, member, np.exp(-exponent)))


def expected(
    distribution: Distribution,
    streams: Iterable[Stream],
    headers_for: HeadersFor,
    audience: Audience,
    eviction: Eviction | None = None,
) -> Result:
    """One day of `streams` through edge, regional and shield caches, in expectation, in steady state.

    Caches never share state between objects (no capacity is modelled beyond the idle-time
    eviction), so each object's cache behaviour depends on its own requests only, and a day of
    many independent viewers is a Poisson process per object and edge location. Per object:

    * uncacheable (method not cached, TTL 0, no-cache/no-store): every request reaches the origin;
    * fresh lifetime tau no longer than the shortest idle time: every tier keeps the remaining
      lifetime of the copy above it, so all copies expire together, and one origin fetch
      starts a cycle of tau plus the wait for the next request from anywhere (behind the
      shield; per regional cache without one): L / (1 + L tau) fetches per second at rate L;
    * fresh lifetime of a day or more (immutable objects): expiry is ignored (at most one fetch
      per lifetime) and each tier misses when it has had no request for its idle time:
      a tier at rate l misses at l * exp(-requests expected in the idle time), and its misses
      are the rate of the tier above (treated as Poisson, as in hierarchical TTL-cache analysis).

    The day is cut into BINS_PER_HOUR bins an hour with constant rates. stale-while-revalidate
    changes who waits, not how many upstream fetches there are, so it does not enter.

    A behavior's viewer-request function runs on each stream's request first. When it gives
    the first two copies of a stream (paths as `copy_path` names them) one cache key, all the
    copies are one object (e.g. every deep link served as /index.html).
    """
    eviction = eviction or Eviction()
    width = 3600.0 / BINS_PER_HOUR
    bins = 24 * BINS_PER_HOUR
    share = np.repeat(np.asarray(audience.hourly, dtype=float) / sum(audience.hourly) / BINS_PER_HOUR, BINS_PER_HOUR)
    edge_names = list(audience.edges)
    edge_share = np.array([audience.edges[e][1] for e in edge_names], dtype=float)
    edge_share /= edge_share.sum()
    regions = sorted({audience.edges[e][0] for e in edge_names})
    in_region = np.array([[audience.edges[e][0] == r for r in regions] for e in edge_names], dtype=float)  # (P, R)
    region_share = edge_share @ in_region
    hour_of_bin = np.arange(bins) // BINS_PER_HOUR

    by_behavior: dict[str, Tally] = defaultdict(Tally)
    origin_by_hour: dict[str, np.ndarray] = defaultdict(lambda: np.zeros(24))
    viewer_by_hour = np.zeros(24)
    fetches: dict[str, float] = defaultdict(float)
    # (behavior, fresh lifetime, regime) -> object -> [requests a day per copy, copies, bytes a day per copy].
    # Streams of one cache key are one object: their rates add (copies > 1 are distinct objects).
    groups: dict[tuple[Behavior, int, str], dict[Any, list[float]]] = defaultdict(dict)
    memo: dict[Any, tuple[int, int]] = {}

    def to_hours(per_bin: np.ndarray) -> np.ndarray:
        return np.bincount(hour_of_bin, weights=per_bin, minlength=24)

    streams = list(streams)
    functions = ViewerRequests()

    def second_copy(stream: Stream) -> Request:
        return replace(stream.request, path=copy_path(stream.request.path, 1))

    pairs = [(distribution.match(s.request.path), s) for s in streams]
    functions.prepare(
        (behavior, request)
        for behavior, s in pairs
        if s.request.method in behavior.allowed_methods
        for request in ([s.request, second_copy(s)] if s.copies > 1 else [s.request])
    )

    for behavior, stream in pairs:
        if stream.per_day < 0 or stream.copies < 1:
            raise ModelError(f"stream {stream.request.path}: per_day must be >= 0 and copies >= 1")
        tally = by_behavior[behavior.label]
        total = stream.per_day * stream.copies
        tally.requests += total
        tally.bytes += total * stream.request.size
        viewer_by_hour += to_hours(total * share)
        if stream.request.method not in behavior.allowed_methods:
            continue  # CloudFront answers 403 itself
        if behavior.viewer_request is not None:
            tally.function_invocations += total
        request = functions.apply(behavior, stream.request)
        fresh, _stale = _lifetime(behavior, request, headers_for, memo)
        if fresh <= 0:
            tally.origin_requests += total
            tally.origin_bytes += total * stream.request.size
            tally.uncacheable += total
            origin_by_hour[behavior.origin.kind] += to_hours(total * share)
            fetches["edge"] += total
        else:
            if fresh <= eviction.shortest():
                regime = "ttl"
            elif fresh >= DAY:
                regime = "idle"
            else:
                raise ModelError(
                    f"{behavior.label}: a fresh lifetime of {fresh} s, between the shortest idle time "
                    f"({eviction.shortest():.0f} s) and a day, is not modelled"
                )
            objects = groups[(behavior, fresh, regime)]
            key = behavior.policy.key(request)
            one_object = stream.copies == 1 or behavior.policy.key(functions.apply(behavior, second_copy(stream))) == key
            n_copies, rate_per_copy = (1, total) if one_object else (stream.copies, stream.per_day)
            entry = objects.setdefault(key if one_object else ("copies", len(objects)), [0.0, n_copies, 0.0])
            entry[0] += rate_per_copy
            entry[2] += rate_per_copy * stream.request.size

    for (behavior, fresh, regime), objects in groups.items():
        per_day, copies, daily_bytes = (np.array(column, dtype=float) for column in zip(*objects.values(), strict=True))
        size = np.divide(daily_bytes, per_day, out=np.zeros_like(per_day), where=per_day > 0)
        rate = per_day[:, None] * share[None, :] / width  # (S, B) requests per second, all edges
        shield = behavior.origin.shield_region is not None
        if regime == "ttl":
            if shield:
                origin = rate / (1 + rate * fresh)
            else:
                regional = rate[:, None, :] * region_share[None, :, None]
                origin = (regional / (1 + regional * fresh)).sum(1)
        else:
            edge = rate[:, None, :] * edge_share[None, :, None]  # (S, P, B)
            edge_misses = _misses(edge, eviction.edge, width)
            regional_misses = _upper_misses(edge_misses, in_region, eviction.edge, eviction.regional, width)
            origin = regional_misses.sum(1)
            if shield:
                origin = _upper_misses(regional_misses, np.ones((len(regions), 1)), eviction.regional, eviction.shield, width)[
                    :, 0
                ]
        per_bin = (origin * width * copies[:, None]).sum(0)  # (B,) origin requests of the group
        requests = float(per_bin.sum())
        tally = by_behavior[behavior.label]
        tally.origin_requests += requests
        tally.origin_bytes += float((origin * width * (copies * size)[:, None]).sum())
        origin_by_hour[behavior.origin.kind] += to_hours(per_bin)
        fetches["shield" if shield else "regional"] += requests

    return Result(
        dict(by_behavior),
        {kind: dict(enumerate(hours.tolist())) for kind, hours in origin_by_hour.items()},
        dict(enumerate(viewer_by_hour.tolist())),
        dict(fetches),
    )
