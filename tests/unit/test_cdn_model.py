"""The CDN model (scripts/cdn_model.py) on traces small enough to count by hand, and on the real template."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from scripts.cdn_model import Behavior, Request, from_template, pattern_regex, simulate
from tests.unit.support import Synthesized

MAX_AGE_10 = {"Cache-Control": "public, max-age=10"}


def policy(min_ttl: int = 0, default_ttl: int = 0, max_ttl: int = 3600, query: str = "none") -> dict[str, Any]:
    return {
        "Type": "AWS::CloudFront::CachePolicy",
        "Properties": {
            "CachePolicyConfig": {
                "Name": "p",
                "MinTTL": min_ttl,
                "DefaultTTL": default_ttl,
                "MaxTTL": max_ttl,
                "ParametersInCacheKeyAndForwardedToOrigin": {
                    "EnableAcceptEncodingGzip": False,
                    "HeadersConfig": {"HeaderBehavior": "none"},
                    "CookiesConfig": {"CookieBehavior": "none"},
                    "QueryStringsConfig": {"QueryStringBehavior": query},
                },
            }
        },
    }


def template(*, shield: bool = True, default: dict[str, Any] | None = None, api: dict[str, Any] | None = None) -> dict[str, Any]:
    origin: dict[str, Any] = {"Id": "o1", "DomainName": "origin.example.com", "CustomOriginConfig": {}}
    if shield:
        origin["OriginShield"] = {"Enabled": True, "OriginShieldRegion": "ap-southeast-1"}
    return {
        "Resources": {
            "Default": default or policy(),
            "Api": api or policy(query="all"),
            "Dist": {
                "Type": "AWS::CloudFront::Distribution",
                "Properties": {
                    "DistributionConfig": {
                        "Origins": [origin],
                        "DefaultCacheBehavior": {"TargetOriginId": "o1", "CachePolicyId": {"Ref": "Default"}},
                        "CacheBehaviors": [
                            {
                                "PathPattern": "/api/*",
                                "TargetOriginId": "o1",
                                "CachePolicyId": {"Ref": "Api"},
                                "AllowedMethods": ["GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"],
                                "CachedMethods": ["GET", "HEAD"],
                            }
                        ],
                    }
                },
            },
        }
    }


def req(t: float, path: str, method: str = "GET", pop: str = "SIN1", region: str = "SIN", **query: str) -> Request:
    return Request(t, pop, region, method, path, 1000, query)


def headers(value: Mapping[str, str]) -> Any:
    return lambda _request, _behavior: value


def origin_requests(tpl: dict[str, Any], trace: list[Request], response: Mapping[str, str] = MAX_AGE_10) -> int:
    return simulate(from_template(tpl), trace, headers(response)).overall.origin_requests


def test_an_object_is_served_from_cache_until_its_max_age_expires() -> None:
    # max-age=10 s: miss at 0, hit at 5 and 9.9, miss at 10 (expired), hit at 15.
    trace = [req(t, "/page") for t in (0, 5, 9.9, 10, 15)]
    assert origin_requests(template(), trace) == 2


def test_max_age_is_clamped_to_the_policy_maximum_ttl() -> None:
    # The origin asks a year; the policy caps it at 60 s.
    trace = [req(t, "/page") for t in (0, 59, 61)]
    assert origin_requests(template(default=policy(max_ttl=60)), trace, {"Cache-Control": "max-age=31536000"}) == 2


def test_no_cache_is_not_cached_with_min_ttl_0_and_cached_for_min_ttl_otherwise() -> None:
    trace = [req(t, "/index.html") for t in (0, 1, 2)]
    # no-cache wins over a max-age in the same header.
    no_cache = {"Cache-Control": "no-cache, max-age=600"}
    assert origin_requests(template(), trace, no_cache) == 3
    assert origin_requests(template(default=policy(min_ttl=60)), trace, no_cache) == 1


def test_without_cache_headers_the_default_ttl_applies() -> None:
    trace = [req(t, "/page") for t in (0, 20, 40)]
    assert origin_requests(template(default=policy(default_ttl=30)), trace, {}) == 2


def test_the_query_string_splits_the_cache_key_only_where_the_policy_keys_on_it() -> None:
    # /api/* keys on every query string: x=1 and x=2 are two objects.
    api = [req(0, "/api/videos", x="1"), req(1, "/api/videos", x="2"), req(2, "/api/videos", x="1")]
    assert origin_requests(template(), api) == 2
    # The default behavior keys on the path only: one object.
    page = [req(0, "/page", x="1"), req(1, "/page", x="2")]
    assert origin_requests(template(), page) == 1


def test_a_post_is_never_cached() -> None:
    trace = [req(t, "/api/videos/1/views", method="POST") for t in (0, 1, 2)]
    result = simulate(from_template(template()), trace, headers({"Cache-Control": "public, max-age=3600"}))
    assert result.overall.origin_requests == 3
    assert result.overall.uncacheable == 3


def test_origin_shield_collapses_misses_from_two_regions_into_one_origin_fetch() -> None:
    # Two edges behind two different regional caches miss the same object.
    trace = [req(0, "/page", pop="SIN1", region="SIN"), req(1, "/page", pop="NRT1", region="NRT")]
    assert origin_requests(template(shield=True), trace) == 1
    assert origin_requests(template(shield=False), trace) == 2


def test_a_regional_cache_serves_a_second_edge_of_its_region() -> None:
    trace = [req(0, "/page", pop="SIN1", region="SIN"), req(1, "/page", pop="SIN2", region="SIN")]
    assert origin_requests(template(shield=False), trace) == 1


def test_stale_while_revalidate_serves_the_viewer_but_still_asks_the_origin() -> None:
    swr = {"Cache-Control": "public, max-age=10, stale-while-revalidate=60"}
    trace = [req(0, "/page"), req(12, "/page"), req(13, "/page")]
    # 0: miss; 12: stale, served, refreshed upstream (origin asked); 13: fresh again.
    assert origin_requests(template(), trace, swr) == 2


def test_path_patterns_take_precedence_in_order_with_cloudfront_wildcards() -> None:
    distribution = from_template(template())
    assert distribution.match("/api/videos").path_pattern == "/api/*"
    assert distribution.match("/apiary").path_pattern == "*"
    assert distribution.match("/API/videos").path_pattern == "*"  # case-sensitive
    assert pattern_regex("/media/?/x*").match("/media/a/x.ts")
    assert not pattern_regex("/media/?/x*").match("/media/ab/x.ts")
    assert pattern_regex("/a[1].js").match("/a[1].js")  # brackets are literal in CloudFront


def test_the_trace_must_be_in_time_order() -> None:
    with pytest.raises(ValueError, match="time order"):
        origin_requests(template(), [req(5, "/page"), req(1, "/page")])


def test_the_model_reads_every_behavior_of_the_synthesized_distribution(stack: Synthesized) -> None:
    distribution = from_template(stack.json)
    _, resource = stack.one("AWS::CloudFront::Distribution")
    config = resource["Properties"]["DistributionConfig"]
    assert [b.path_pattern for b in distribution.behaviors] == [b["PathPattern"] for b in config["CacheBehaviors"]] + ["*"]
    by_pattern: dict[str, Behavior] = {b.path_pattern: b for b in distribution.behaviors}
    api = by_pattern["/api/*"]
    assert api.origin.kind == "API Gateway" and "POST" in api.allowed_methods and "POST" not in api.cached_methods
    assert api.policy.query_behavior == "all"
    assert by_pattern["*"].origin.kind == "ALB"
    assert all(b.origin.shield_region == stack.config.region for b in distribution.behaviors if b.origin.kind != "S3")
    # A /media/ request falls to whichever behavior matches it, like CloudFront.
    assert distribution.match("/media/1/v1/720p/seg00001.ts").path_pattern == next(
        b.path_pattern for b in distribution.behaviors if b.regex.match("/media/1/v1/720p/seg00001.ts")
    )


def test_media_requests_meet_the_media_behavior_with_its_immutable_headers(stack: Synthesized) -> None:
    from scripts.origin_headers import media_object_headers

    distribution = from_template(stack.json)
    behavior = distribution.match("/media/7/v1/720p/seg00003.ts")
    assert (behavior.path_pattern, behavior.origin.kind) == ("/media/*", "S3")
    assert behavior.origin.shield_region == "ap-southeast-1"
    assert behavior.policy.max_ttl >= 31536000, "a one-year immutable segment must not be capped"
    assert "immutable" in media_object_headers("seg00003.ts")["Cache-Control"]
    assert distribution.match("/media/7/v1/poster.jpg").origin.kind == "S3"
