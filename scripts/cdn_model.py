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
* Cache key: the path plus the headers, cookies and query strings the cache policy
  names, plus the normalized Accept-Encoding when the policy enables gzip/brotli.
* Tiers: viewer -> edge location (POP) -> regional edge cache -> origin shield (when the
  origin has one) -> origin. A cache serves an object from an upper tier with the
  lifetime it has left there (its Age), so every tier expires it at the same moment.
  Requests that cannot be cached go straight to the origin.

Assumptions a real deployment can contradict are listed in the README
(performance section) and printed by `make bench-cdn`.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any

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
        )

    ordered = [behavior(spec, spec["PathPattern"]) for spec in config.get("CacheBehaviors", [])]
    ordered.append(behavior(config["DefaultCacheBehavior"], "*"))
    return Distribution(ordered)


# ----------------------------------------------------------------------------- simulation


@dataclass
class Tally:
    requests: int = 0
    bytes: int = 0
    origin_requests: int = 0
    origin_bytes: int = 0
    uncacheable: int = 0  # origin requests that no TTL could have saved (POST, no-cache, no-store, TTL 0)

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


@dataclass
class Result:
    by_behavior: dict[str, Tally]
    origin_requests_by_hour: dict[str, Counter[int]]  # origin kind -> hour -> requests
    viewer_requests_by_hour: Counter[int]
    # origin fetches by tier that asked (edge, regional, shield): how the hierarchy collapsed misses
    fetches_by_tier: Counter[str]

    @property
    def overall(self) -> Tally:
        total = Tally()
        for tally in self.by_behavior.values():
            total.add(tally)
        return total


class _Cache:
    """One cache: key -> (fresh until, stale-serve until)."""

    __slots__ = ("entries",)

    def __init__(self) -> None:
        self.entries: dict[tuple[Any, ...], tuple[float, float]] = {}


HeadersFor = Callable[[Request, Behavior], Mapping[str, str]]


def simulate(distribution: Distribution, trace: Iterable[Request], headers_for: HeadersFor, measure_from: float = 0.0) -> Result:
    """Replay `trace` (in time order) through edge, regional and shield caches.

    Requests before `measure_from` (seconds) only warm the caches; the rest are counted.
    """
    by_behavior: dict[str, Tally] = defaultdict(Tally)
    origin_by_hour: dict[str, Counter[int]] = defaultdict(Counter)
    viewer_by_hour: Counter[int] = Counter()
    fetches: Counter[str] = Counter()
    edges: dict[str, _Cache] = defaultdict(_Cache)
    regionals: dict[str, _Cache] = defaultdict(_Cache)
    shields: dict[str, _Cache] = defaultdict(_Cache)
    ttl_cache: dict[tuple[Any, ...], tuple[int, int]] = {}
    last_time = float("-inf")

    for request in trace:
        if request.time < last_time:
            raise ModelError("the trace must be in time order")
        last_time = request.time
        behavior = distribution.match(request.path)
        counted = request.time >= measure_from
        tally = by_behavior[behavior.label] if counted else Tally()
        tally.requests += 1
        tally.bytes += request.size
        hour = int((request.time - measure_from) // 3600)
        if counted:
            viewer_by_hour[hour] += 1
        if request.method not in behavior.allowed_methods:
            continue  # CloudFront answers 403 itself
        key = (behavior.path_pattern, behavior.policy.key(request))
        if request.method in behavior.cached_methods:
            headers = headers_for(request, behavior)
            memo = (behavior.path_pattern, tuple(sorted(headers.items())))
            lifetime = ttl_cache.get(memo)
            if lifetime is None:
                lifetime = ttl_cache[memo] = behavior.policy.ttl(headers)
        else:
            lifetime = (0, 0)
        fresh, stale = lifetime
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
    return Result(dict(by_behavior), dict(origin_by_hour), viewer_by_hour, fetches)


def _lookup(
    tiers: list[tuple[str, _Cache]], key: tuple[Any, ...], now: float, fresh: int, stale: int, fetches: Counter[str]
) -> bool:
    """Walk the tiers; fill the ones that missed. True when the origin had to answer."""
    missed: list[_Cache] = []
    expiry: tuple[float, float] | None = None
    last = tiers[0][0]
    for position, (name, cache) in enumerate(tiers):
        entry = cache.entries.get(key)
        if entry is not None and now < entry[0]:
            expiry = entry
            break
        if entry is not None and now < entry[1]:
            # Served stale to the viewer while this tier refreshes from upstream in the
            # background: the upstream request still happens (and may reach the origin).
            refreshed, from_origin = _refresh(tiers[position + 1 :], key, now, fresh, stale, fetches, name)
            for lower in [*missed, cache]:
                lower.entries[key] = refreshed
            return from_origin
        missed.append(cache)
        last = name
    origin = expiry is None
    if origin:
        fetches[last] += 1
        expiry = (now + fresh, now + fresh + stale)
    for cache in missed:
        cache.entries[key] = expiry
    return origin


def _refresh(
    tiers: list[tuple[str, _Cache]], key: tuple[Any, ...], now: float, fresh: int, stale: int, fetches: Counter[str], asker: str
) -> tuple[tuple[float, float], bool]:
    """Fetch a fresh copy through `tiers` (the ones above the asker): (its expiry, whether the origin answered)."""
    for _name, cache in tiers:
        entry = cache.entries.get(key)
        if entry is not None and now < entry[0]:
            return entry, False
    fetches[tiers[-1][0] if tiers else asker] += 1
    expiry = (now + fresh, now + fresh + stale)
    for _name, cache in tiers:
        cache.entries[key] = expiry
    return expiry, True
