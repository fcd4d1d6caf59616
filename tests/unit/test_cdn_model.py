"""The CDN model (scripts/cdn_model.py) on traces small enough to count by hand, and on the real template.

The per-request simulation (`simulate`) is the reference; the fast model (`expected`) is checked by
hand on constant-rate objects and against `simulate` on a sampled trace."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import numpy as np
import pytest

from scripts.cdn_model import (
    Audience,
    Behavior,
    Eviction,
    ModelError,
    Request,
    Stream,
    expected,
    exposure,
    from_template,
    pattern_regex,
    simulate,
)
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


def origin_requests(tpl: dict[str, Any], trace: list[Request], response: Mapping[str, str] = MAX_AGE_10) -> float:
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


# ----------------------------------------------------------------------------- eviction (per request)

YEAR = {"Cache-Control": "public, max-age=31536000, immutable"}


def year_policy() -> dict[str, Any]:
    return policy(max_ttl=31536000)


def test_an_edge_evicts_an_object_nobody_asked_for_within_its_idle_time() -> None:
    tpl = template(shield=False, default=year_policy())
    dist = from_template(tpl)

    def origin(times: list[float], eviction: Eviction) -> float:
        trace = [req(t, "/seg.ts") for t in times]
        return simulate(dist, trace, headers(YEAR), eviction=eviction).overall.origin_requests

    # Idle 150 s > 100 s at the edge: evicted there, but the regional cache still has it.
    assert origin([0, 50, 200], Eviction(edge=100)) == 1
    # When the regional cache evicts too, the origin answers again.
    assert origin([0, 50, 200], Eviction(edge=100, regional=100)) == 2
    # Each request renews the object: gaps of 90 s never reach the 100 s idle time.
    assert origin([0, 90, 180, 270], Eviction(edge=100, regional=100)) == 1
    # Without eviction a year-long object is fetched once.
    assert origin([0, 5000, 90000], Eviction()) == 1


def test_an_idle_time_must_be_positive() -> None:
    with pytest.raises(ModelError, match="must be > 0"):
        Eviction(edge=0)


# ----------------------------------------------------------------------------- the fast model, by hand

FLAT_DAY = Audience({"SIN1": ("SIN", 1.0)}, (1.0,) * 24)
DAY = 86400.0


def stream(path: str, per_day: float, method: str = "GET", copies: int = 1, size: int = 1000, **query: str) -> Stream:
    return Stream(Request(0.0, "", "", method, path, size, query), per_day, copies)


def expected_origin(
    tpl: dict[str, Any], streams: list[Stream], response: Mapping[str, str], eviction: Eviction | None = None
) -> float:
    return expected(from_template(tpl), streams, headers(response), FLAT_DAY, eviction).overall.origin_requests


def test_fast_model_a_ttl_object_costs_one_fetch_per_lifetime_plus_the_wait_for_the_next_request() -> None:
    # One request a second, max-age=10: a fetch, 10 s fresh, then on average 1 s until the next request.
    assert expected_origin(template(), [stream("/page", DAY)], MAX_AGE_10) == pytest.approx(DAY / 11)
    # Behind no shield, with one regional cache, the same.
    assert expected_origin(template(shield=False), [stream("/page", DAY)], MAX_AGE_10) == pytest.approx(DAY / 11)


def test_fast_model_the_query_string_splits_the_cache_key_only_where_the_policy_keys_on_it() -> None:
    two = [stream("/api/videos", DAY, x="1"), stream("/api/videos", DAY, x="2")]
    assert expected_origin(template(), two, MAX_AGE_10) == pytest.approx(2 * DAY / 11)
    # The default behavior ignores the query: one object at two requests a second.
    same = [stream("/page", DAY, x="1"), stream("/page", DAY, x="2")]
    assert expected_origin(template(), same, MAX_AGE_10) == pytest.approx(DAY * 2 / (1 + 2 * 10))


def test_fast_model_a_post_is_never_cached() -> None:
    result = expected(from_template(template()), [stream("/api/videos/1/play", 500, "POST")], headers(MAX_AGE_10), FLAT_DAY)
    assert result.overall.origin_requests == pytest.approx(500)
    assert result.overall.uncacheable == pytest.approx(500)


def test_fast_model_an_immutable_object_misses_where_a_tier_saw_no_request_for_its_idle_time() -> None:
    # One request per 1000 s at one edge that keeps an object 1000 s: P(no request in its idle time) = e^-1,
    # so the edge misses at m = e^-1 / 1000 s. Its misses are at least 1000 s apart (each follows 1000 quiet
    # seconds), so the regional cache (idle 5000 s) misses when the edge's previous miss was more than 5000 s
    # ago: after the quiet 1000 s, misses come at 1 / (1/m - 1000 s), for the remaining 4000 s.
    rate = 1 / 1000
    edge_misses = rate * np.exp(-1)
    after_quiet = 1 / (1 / edge_misses - 1000)
    origin = DAY * edge_misses * np.exp(-after_quiet * 4000)
    tpl = template(shield=False, default=year_policy())
    got = expected_origin(tpl, [stream("/seg.ts", DAY * rate, copies=3)], YEAR, Eviction(edge=1000, regional=5000))
    assert got == pytest.approx(3 * origin)
    # When the regional cache keeps it no longer than the edge, every edge miss is a regional miss.
    got = expected_origin(tpl, [stream("/seg.ts", DAY * rate)], YEAR, Eviction(edge=1000, regional=1000))
    assert got == pytest.approx(DAY * edge_misses)
    # A tier that never evicts stops every miss below it.
    assert expected_origin(tpl, [stream("/seg.ts", DAY * rate)], YEAR, Eviction(edge=1000)) == 0


def test_exposure_counts_the_requests_of_a_window_that_wraps_over_days() -> None:
    rate = np.array([[1.0, 3.0]])  # two 10 s bins, repeating: 40 requests a "day" of 20 s
    # 2.5 days before each bin's middle: 2 x 40 plus 10 s back from the middle (5 s of each bin).
    assert exposure(rate, 50.0, 10.0) == pytest.approx(np.array([[80 + 5 * 3 + 5 * 1, 80 + 5 * 1 + 5 * 3]]))
    assert exposure(rate, 5.0, 10.0) == pytest.approx(np.array([[5 * 1, 5 * 3]]))


def test_fast_model_refuses_a_lifetime_between_the_idle_time_and_a_day() -> None:
    with pytest.raises(ModelError, match="not modelled"):
        expected_origin(template(), [stream("/page", 10)], {"Cache-Control": "max-age=1800"}, Eviction(edge=600))


# ----------------------------------------------------------------------------- fast model against the per-request reference


def test_fast_model_matches_the_per_request_simulation_of_a_sampled_trace() -> None:
    from scripts.cdn_traffic import HOURLY_SHARE, sample_trace

    audience = Audience({"A": ("R1", 3.0), "B": ("R1", 1.0), "C": ("R2", 2.0)}, HOURLY_SHARE)
    eviction = Eviction(edge=2 * 3600, regional=8 * 3600, shield=12 * 3600)
    streams = [stream(f"/seg{n}.ts", rate, copies=120) for n, rate in enumerate((0.3, 1, 3, 10, 30, 100))]
    streams += [stream(f"/api/videos/{n}", rate, copies=4) for n, rate in enumerate((30, 300, 3000))]
    streams.append(stream("/api/videos/1/play", 300, "POST"))
    tpl = template(default=year_policy())

    def respond(request: Request, _behavior: Behavior) -> Mapping[str, str]:
        return MAX_AGE_10 if request.path.startswith("/api/") else YEAR

    days = 2  # after a day that warms the caches
    trace = sample_trace(streams, audience, days=days + 1, seed=3)
    reference = simulate(from_template(tpl), trace, respond, measure_from=DAY, eviction=eviction)
    fast = expected(from_template(tpl), streams, respond, audience, eviction)
    # The TTL objects (/api/*, ~20,000 origin requests) follow the fast model exactly, up to Poisson
    # noise (~1%). The immutable ones (~1,000) add the approximation of a tier's misses as seen
    # by the tier above (see _upper_misses) to ~3% noise.
    tolerance = {"/api/* -> custom": 0.03, "* -> custom": 0.08}
    assert set(reference.by_behavior) == set(tolerance)
    for label, tally in reference.by_behavior.items():
        assert fast.by_behavior[label].origin_requests * days == pytest.approx(tally.origin_requests, rel=tolerance[label]), label
        assert fast.by_behavior[label].requests * days == pytest.approx(tally.requests, rel=0.02), label


# ----------------------------------------------------------------------------- the app shell's release bound

RELEASE_BOUND_SECONDS = 60  # README: a release is on every viewer's next load within this time


def nginx_cache_control(location: str) -> str:
    from scripts.origin_headers import NGINX_DIR

    conf = (NGINX_DIR / "default.conf").read_text()
    block = re.search(rf"location {re.escape(location)} \{{(.*?)\n    \}}", conf, re.S)
    assert block, f"no `location {location}` block in default.conf"
    header = re.search(r'add_header Cache-Control "([^"]+)" always;', block.group(1))
    assert header, f"`location {location}` sets no Cache-Control (always)"
    return header.group(1)


@pytest.mark.parametrize("location", ["= /index.html", "/"])
def test_cloudfront_keeps_the_app_shell_no_longer_than_the_release_bound_and_browsers_revalidate_it(
    stack: Synthesized, location: str
) -> None:
    value = nginx_cache_control(location)
    shell = from_template(stack.json).match("/index.html" if location != "/" else "/videos/12")
    fresh, stale = shell.policy.ttl({"Cache-Control": value})
    # Cached at the edge (it is most of the app's origin requests otherwise), never past the bound,
    # and never served stale past it either.
    assert 0 < fresh <= RELEASE_BOUND_SECONDS and stale == 0, value
    directives = {d.strip().split("=")[0]: d.strip() for d in value.split(",")}
    assert directives.get("max-age") == "max-age=0" and "must-revalidate" in directives, f"browsers must revalidate: {value}"


def test_results_of_disjoint_objects_add_up() -> None:
    tpl = template()
    a = [stream("/page", DAY)]
    b = [stream("/api/videos/1/play", 500, "POST"), stream("/api/videos", DAY, x="1")]
    dist = from_template(tpl)
    together = expected(dist, a + b, headers(MAX_AGE_10), FLAT_DAY)
    added = expected(dist, a, headers(MAX_AGE_10), FLAT_DAY) + expected(dist, b, headers(MAX_AGE_10), FLAT_DAY)
    assert set(added.by_behavior) == set(together.by_behavior)
    for label, tally in together.by_behavior.items():
        assert vars(added.by_behavior[label]) == pytest.approx(vars(tally)), label
    assert added.fetches_by_tier == pytest.approx(together.fetches_by_tier)
    assert added.viewer_requests_by_hour == pytest.approx(together.viewer_requests_by_hour)
    assert added.origin_requests_by_hour["custom"] == pytest.approx(together.origin_requests_by_hour["custom"])


# ----------------------------------------------------------------------------- the synthetic day


def test_binning_the_tail_keeps_every_request_and_byte() -> None:
    from scripts.cdn_traffic import binned

    rates = np.array([0.0, 0.52, 0.55, 3.0, 3.1, 250.0])
    sizes = np.array([9.0, 100.0, 300.0, 1000.0, 1000.0, 50.0])
    streams = binned(lambda i, _b: Request(0.0, "", "", "GET", f"/o{i}", 0), rates, sizes)
    assert sum(s.copies for s in streams) == 5  # the object nobody asks for is dropped
    assert sum(s.per_day * s.copies for s in streams) == pytest.approx(rates.sum())
    assert sum(s.per_day * s.copies * s.request.size for s in streams) == pytest.approx((rates * sizes).sum(), rel=1e-3)
    assert len(streams) == 3  # 0.52 and 0.55, 3.0 and 3.1 share a bin (20 a decade); 250 is alone


def test_the_day_sends_what_the_sessions_imply() -> None:
    from scripts.cdn_traffic import DEEP_LINK, PLAYS_PER_SESSION, RETURNING_WITH_ASSETS, day_streams

    sessions = 1000
    streams = day_streams(sessions, videos=500)

    def total(method: str, predicate: Any) -> float:
        return sum(s.per_day * s.copies for s in streams if s.request.method == method and predicate(s.request.path))

    plays = sessions * sum(n * p for n, p in PLAYS_PER_SESSION.items())
    assert total("POST", lambda p: p.endswith("/play")) == pytest.approx(plays)
    assert total("GET", lambda p: p == "/" or p.startswith("/videos/")) == pytest.approx(sessions)
    assert total("GET", lambda p: p.startswith("/videos/")) == pytest.approx(sessions * DEEP_LINK)
    assert total("GET", lambda p: p.startswith("/assets/")) == pytest.approx(2 * sessions * (1 - RETURNING_WITH_ASSETS))
    assert total("GET", lambda p: p.endswith("master.m3u8")) == pytest.approx(plays)
    with pytest.raises(ValueError, match="at least"):
        day_streams(sessions, videos=10)


def test_a_sampled_trace_gives_each_copy_its_own_cache_key() -> None:
    from scripts.cdn_traffic import sample_trace

    trace = sample_trace([stream("/media/1/seg.ts", 50, copies=3)], FLAT_DAY, days=2, seed=1)
    assert {r.path for r in trace} == {"/media/1/seg.ts", "/media/1/c1-seg.ts", "/media/1/c2-seg.ts"}
    assert [r.time for r in trace] == sorted(r.time for r in trace)
    assert len(trace) == pytest.approx(3 * 50 * 2, rel=0.15)


# ----------------------------------------------------------------------------- viewer-request functions


def with_function(tpl: dict[str, Any], code: str, behavior: str = "default") -> dict[str, Any]:
    """`tpl` with a CloudFront Function of `code` associated as viewer request with one of its behaviors."""
    tpl["Resources"]["Fn"] = {
        "Type": "AWS::CloudFront::Function",
        "Properties": {"Name": "fn", "FunctionCode": code, "FunctionConfig": {"Runtime": "cloudfront-js-2.0"}},
    }
    config = tpl["Resources"]["Dist"]["Properties"]["DistributionConfig"]
    spec = config["DefaultCacheBehavior"] if behavior == "default" else config["CacheBehaviors"][0]
    spec["FunctionAssociations"] = [{"EventType": "viewer-request", "FunctionARN": {"Fn::GetAtt": ["Fn", "FunctionARN"]}}]
    return tpl


def app_shell_template(**kwargs: Any) -> dict[str, Any]:
    from lib.cdn import APP_SHELL_FUNCTION

    return with_function(template(**kwargs), APP_SHELL_FUNCTION.read_text())


def test_the_app_shell_function_folds_two_deep_links_into_one_cache_object() -> None:
    # Two viewers open deep links to different videos within the app shell's max-age.
    trace = [req(0, "/videos/1"), req(1, "/videos/2")]
    asked: list[str] = []

    def respond(request: Request, _behavior: Behavior) -> Mapping[str, str]:
        asked.append(request.path)
        return MAX_AGE_10

    # Keyed on the path, they are two objects: two origin requests.
    assert simulate(from_template(template()), trace, respond).overall.origin_requests == 2
    # Served as /index.html, they are one: the second is a hit. The origin is asked for /index.html.
    asked.clear()
    result = simulate(from_template(app_shell_template()), trace, respond)
    assert result.overall.origin_requests == 1
    assert set(asked) == {"/index.html"}
    assert result.overall.function_invocations == 2
    # The root is the same object too; a file is not.
    assert origin_requests(app_shell_template(), [req(0, "/videos/1"), req(1, "/"), req(2, "/index.html")]) == 1
    assert origin_requests(app_shell_template(), [req(0, "/videos/1"), req(1, "/favicon.svg")]) == 2


def test_fast_model_the_app_shell_function_makes_every_copy_of_a_deep_link_stream_one_object() -> None:
    # 50 videos' deep links, one request a second each, max-age=10.
    deep_links = [stream("/videos/7", DAY, copies=50)]
    # Without the function: 50 objects, each fetched once per 11 s.
    assert expected_origin(template(), deep_links, MAX_AGE_10) == pytest.approx(50 * DAY / 11)
    # With it: one object at 50 requests a second, fetched once per 10 s + 1/50 s.
    result = expected(from_template(app_shell_template()), deep_links, headers(MAX_AGE_10), FLAT_DAY)
    assert result.overall.origin_requests == pytest.approx(DAY * 50 / (1 + 50 * 10))
    assert result.overall.function_invocations == pytest.approx(50 * DAY)
    # Copies the function leaves apart (files) stay apart.
    files = [stream("/videos/7.json", DAY, copies=50)]
    assert expected(from_template(app_shell_template()), files, headers(MAX_AGE_10), FLAT_DAY).overall.origin_requests == (
        pytest.approx(50 * DAY / 11)
    )


def test_fast_model_matches_the_simulation_of_deep_links_through_the_function() -> None:
    from scripts.cdn_traffic import HOURLY_SHARE, sample_trace

    audience = Audience({"A": ("R1", 3.0), "C": ("R2", 1.0)}, HOURLY_SHARE)
    streams = [stream("/videos/1", 500, copies=30), stream("/", 2000), stream("/favicon.svg", 300, copies=2)]
    dist = from_template(app_shell_template())
    trace = sample_trace(streams, audience, days=2, seed=5)
    reference = simulate(dist, trace, headers(MAX_AGE_10), measure_from=DAY)
    fast = expected(dist, streams, headers(MAX_AGE_10), audience)
    # One /index.html object (~5,600 origin requests a day) plus two favicons (~560): Poisson noise ~2%.
    assert fast.overall.origin_requests == pytest.approx(reference.overall.origin_requests, rel=0.04)
    assert fast.overall.function_invocations == pytest.approx(reference.overall.function_invocations, rel=0.02)


def test_the_model_runs_the_functions_of_the_synthesized_distribution(stack: Synthesized) -> None:
    from lib.cdn import APP_SHELL_FUNCTION
    from scripts.cdn_model import ViewerRequests

    distribution = from_template(stack.json)
    shell = distribution.match("/videos/12")
    assert shell.path_pattern == "*" and shell.viewer_request == APP_SHELL_FUNCTION.read_text()
    functions = ViewerRequests()
    assert functions.apply(shell, req(0, "/videos/12", start="30")) == req(0, "/index.html", start="30")
    assert functions.apply(shell, req(0, "/index.html")) == req(0, "/index.html")
    # The /api/* behavior's function sets the viewer-IP header and leaves the path (and so the key) alone.
    api = distribution.match("/api/videos")
    applied = functions.apply(api, req(0, "/api/videos", q="x"))
    assert applied.path == "/api/videos" and applied.query == {"q": "x"} and "x-viewer-ip" in applied.headers
    assert api.policy.key(applied) == api.policy.key(req(0, "/api/videos", q="x"))
    assert [b.path_pattern for b in distribution.behaviors if b.viewer_request] == ["/api/*", "*"]


def test_a_function_that_answers_itself_or_fails_is_refused() -> None:
    redirect = "function handler(event) { return { statusCode: 301, statusDescription: 'Moved' }; }"
    with pytest.raises(ModelError, match="answered /page itself"):
        origin_requests(with_function(template(), redirect), [req(0, "/page")])
    broken = "function handler(event) { return event.request.nothing.uri; }"
    with pytest.raises(ModelError, match=r"(?s)failed under node: .*TypeError"):
        origin_requests(with_function(template(), broken), [req(0, "/page")])
    tpl = with_function(template(), "function handler(event) { return event.request; }")
    tpl["Resources"]["Fn"]["Type"] = "AWS::Lambda::Function"
    with pytest.raises(ModelError, match="is not an AWS::CloudFront::Function"):
        from_template(tpl)
