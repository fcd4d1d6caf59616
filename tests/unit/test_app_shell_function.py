"""The app-shell CloudFront Function (lib/functions/app_shell.js): where it runs, what CloudFront accepts of
it, and what it does to viewer requests, run under node on CloudFront's viewer-request event shape."""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from lib.cdn import APP_SHELL_FUNCTION, FUNCTION_CODE_LIMIT_BYTES, function_code
from lib.contract import Names
from scripts.cdn_model import run_function
from tests.unit.naming_rules import CLOUDFRONT_FUNCTION_NAME
from tests.unit.support import LONGEST_SUFFIX, ROOT, SUFFIX, Synthesized

FRONTEND = ROOT / "app" / "frontend"
APP_SHELL = "/index.html"
CLOUDFRONT_JS_2 = "cloudfront-js-2.0"


def distribution_config(stack: Synthesized) -> dict[str, Any]:
    _, distribution = stack.one("AWS::CloudFront::Distribution")
    config: dict[str, Any] = distribution["Properties"]["DistributionConfig"]
    return config


def app_shell(stack: Synthesized) -> tuple[str, dict[str, Any]]:
    names = Names(stack.config.environment_suffix)
    logical = stack.logical_id("AWS::CloudFront::Function", Name=names("app-shell"))
    return logical, stack.resources[logical]["Properties"]


# ---------------------------------------------------------------- in the template


def test_only_the_default_behavior_runs_the_app_shell_function_on_viewer_request(stack: Synthesized) -> None:
    logical, _ = app_shell(stack)
    association = {"EventType": "viewer-request", "FunctionARN": {"Fn::GetAtt": [logical, "FunctionARN"]}}
    config = distribution_config(stack)
    assert config["DefaultCacheBehavior"]["FunctionAssociations"] == [association]
    for behavior in config["CacheBehaviors"]:
        assert association not in behavior.get("FunctionAssociations", []), behavior["PathPattern"]


def test_the_template_publishes_the_repository_file_on_the_js_2_runtime(stack: Synthesized) -> None:
    _, props = app_shell(stack)
    assert props["FunctionCode"] == APP_SHELL_FUNCTION.read_text(encoding="utf-8")
    assert props["FunctionConfig"]["Runtime"] == CLOUDFRONT_JS_2
    # Published to LIVE on create and update: a behavior can only use a LIVE function.
    assert props["AutoPublish"] is True
    assert props["Name"] == Names(SUFFIX)("app-shell")


def test_the_function_name_fits_cloudfront_at_the_longest_suffix(longest_suffix_stack: Synthesized) -> None:
    _, props = app_shell(longest_suffix_stack)
    assert props["Name"] == Names(LONGEST_SUFFIX)("app-shell")
    assert CLOUDFRONT_FUNCTION_NAME.violations(props["Name"]) == []
    # The rule refuses what CreateFunction refuses: 65 characters, a character outside [a-zA-Z0-9_-].
    assert CLOUDFRONT_FUNCTION_NAME.violations("a" * 65) == ["length 65 outside 1-64"]
    assert CLOUDFRONT_FUNCTION_NAME.violations(f"app.shell-{LONGEST_SUFFIX}")


def test_every_function_of_the_template_fits_the_code_size_quota(stack: Synthesized) -> None:
    for logical, resource in stack.of_type("AWS::CloudFront::Function").items():
        size = len(resource["Properties"]["FunctionCode"].encode("utf-8"))
        assert size <= FUNCTION_CODE_LIMIT_BYTES, f"{logical}: {size} bytes"


def test_synth_refuses_function_code_over_the_quota(tmp_path: Path) -> None:
    handler = "function handler(event) { return event.request; }\n"
    at_limit = tmp_path / "at_limit.js"
    at_limit.write_text(handler + "/" * (FUNCTION_CODE_LIMIT_BYTES - len(handler)))
    assert function_code(at_limit).startswith(handler)
    over = tmp_path / "over.js"
    over.write_text(handler + "/" * (FUNCTION_CODE_LIMIT_BYTES - len(handler) + 1))
    with pytest.raises(ValueError, match=f"over.js is {FUNCTION_CODE_LIMIT_BYTES + 1} bytes; CloudFront accepts at most"):
        function_code(over)
    no_handler = tmp_path / "no_handler.js"
    no_handler.write_text("function main(event) { return event.request; }\n")
    with pytest.raises(ValueError, match="defines no `function handler"):
        function_code(no_handler)


# What the cloudfront-js-2.0 runtime does not offer (Developer Guide, "JavaScript runtime 2.0 features for
# CloudFront Functions": supported statements, globals, built-in modules, restricted features).
RUNTIME_2_RESTRICTIONS = {
    "dynamic code evaluation (eval, the Function constructor)": r"\beval\s*\(|\bnew\s+Function\b|\bFunction\s*\(",
    "timers": r"\bset(Timeout|Interval|Immediate)\s*\(",
    "modules other than the built-in crypto, querystring, buffer, cloudfront": (
        r"\brequire\s*\(\s*['\"](?!(crypto|querystring|buffer|cloudfront)['\"])"
    ),
    "ES modules (import/export)": r"^\s*(import|export)\b",
    "CommonJS exports": r"\bmodule\.exports\b|\bexports\.",
    "Node.js process and file system": r"\bprocess\.|\bfs\.",
    "for-of (not among the supported statements)": r"\bfor\s*\([^)]*\bof\b",
    "classes (not among the supported features)": r"^\s*class\s",
    "console output (logged to CloudWatch in us-east-1, outside the stack)": r"\bconsole\.",
}


def runtime_2_violations(code: str) -> list[str]:
    without_comments = re.sub(r"//[^\n]*|/\*.*?\*/", "", code, flags=re.S)
    found = [what for what, pattern in RUNTIME_2_RESTRICTIONS.items() if re.search(pattern, without_comments, re.M)]
    if not re.search(r"^function handler\(event\)", without_comments, re.M):
        found.append("no top-level `function handler(event)`")
    return found


def test_every_function_of_the_template_uses_only_what_runtime_2_offers(stack: Synthesized) -> None:
    for logical, resource in stack.of_type("AWS::CloudFront::Function").items():
        assert resource["Properties"]["FunctionConfig"]["Runtime"] == CLOUDFRONT_JS_2, logical
        assert runtime_2_violations(resource["Properties"]["FunctionCode"]) == [], logical


@pytest.mark.parametrize(
    ("snippet", "restriction"),
    [
        ("var x = eval('1');", "dynamic code evaluation"),
        ("var f = new Function('return 1');", "dynamic code evaluation"),
        ("setTimeout(function () {}, 1);", "timers"),
        ("var http = require('http');", "modules other than"),
        ("import crypto from 'crypto';", "ES modules"),
        ("module.exports = { handler: handler };", "CommonJS exports"),
        ("var home = process.env.HOME;", "Node.js process"),
        ("for (const h of hosts) {}", "for-of"),
        ("class Rewriter {}", "classes"),
        ("console.log(event.request.uri);", "console output"),
    ],
)
def test_the_runtime_check_refuses_what_runtime_2_lacks(snippet: str, restriction: str) -> None:
    code = f"{snippet}\nfunction handler(event) {{\n  return event.request;\n}}\n"
    assert [v for v in runtime_2_violations(code) if v.startswith(restriction)], snippet
    assert runtime_2_violations("var crypto = require('crypto');\n" + code.split("\n", 1)[1]) == []
    assert runtime_2_violations("function main(event) {}\n") == ["no top-level `function handler(event)`"]


def test_the_function_file_is_valid_javascript() -> None:
    node = shutil.which("node")
    assert node, "node is needed to check the CloudFront Function (the CDK CLI needs it too)"
    result = subprocess.run([node, "--check", str(APP_SHELL_FUNCTION)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


def test_custom_error_pages_are_never_rewritten(stack: Synthesized) -> None:
    pages = [r["ResponsePagePath"] for r in distribution_config(stack)["CustomErrorResponses"]]
    assert pages
    assert rewritten(pages) == {uri: uri for uri in pages}


# ---------------------------------------------------------------- behaviour, under node


def viewer_request(uri: str, querystring: dict[str, Any] | None = None) -> dict[str, Any]:
    """A CloudFront Functions viewer-request event (event structure 1.0), as a browser's GET produces it."""
    return {
        "version": "1.0",
        "context": {
            "distributionDomainName": "d111111abcdef8.cloudfront.net",
            "distributionId": "EDFDVBD6EXAMPLE",
            "eventType": "viewer-request",
            "requestId": "4TyzHTaYWb1GX1qTfsHhEqV6HUDd_BzoBZnwfnvQc_1oF26ClkoUSEQ==",
        },
        "viewer": {"ip": "198.51.100.11"},
        "request": {
            "method": "GET",
            "uri": uri,
            "querystring": querystring or {},
            "headers": {
                "host": {"value": "d111111abcdef8.cloudfront.net"},
                "accept": {"value": "text/html"},
                "accept-encoding": {"value": "gzip, br"},
            },
            "cookies": {"theme": {"value": "dark"}},
        },
    }


def run(*events: dict[str, Any]) -> list[dict[str, Any]]:
    return run_function(APP_SHELL_FUNCTION.read_text(encoding="utf-8"), list(events))


def rewritten(uris: Iterable[str]) -> dict[str, str]:
    """Each uri -> the uri the function hands on; one node process for all of them (starting node costs
    about 50 ms of CPU, the function a few microseconds)."""
    distinct = list(dict.fromkeys(uris))
    requests = run(*(viewer_request(uri) for uri in distinct))
    return {uri: request["uri"] for uri, request in zip(distinct, requests, strict=True)}


def test_a_deep_link_asks_for_the_app_shell_and_keeps_everything_else() -> None:
    query = {"t": {"value": "30"}, "tag": {"value": "a", "multiValue": [{"value": "a"}, {"value": "b"}]}}
    event = viewer_request("/videos/12", query)
    (request,) = run(event)
    assert request["uri"] == APP_SHELL
    # The query string, headers, cookies and method are the viewer's, untouched (and no response of its own).
    assert {k: v for k, v in request.items() if k != "uri"} == {k: v for k, v in event["request"].items() if k != "uri"}
    assert "statusCode" not in request


EXTENSION_LESS = [
    "/",  # the catalog (router index)
    "/videos/12",
    "/videos/12/",
    "/no/such/page",  # the router's not-found page, as nginx's fallback serves it today
    "/health/",  # not nginx's exact /health location: nginx falls back to index.html too
    "/apiary",
    "/assets",  # no trailing slash: not under /assets/
]
UNTOUCHED = [
    "/index.html",
    "/favicon.svg",
    "/favicon.ico",
    "/robots.txt",
    "/videos/1.5",  # a dot in the last segment is a file name: nginx answers as it does today
    "/assets/index-0a1b2c3d.js",
    "/assets/missing",  # nginx's 404 for a missing asset stays a 404
    "/errors/404.html",
    "/api",
    "/api/videos",
    "/api/videos/12",
    "/media/12/v1/master.m3u8",
    "/media/12/v1/720p/",
    "/health",
]


@functools.cache
def listed_rewrites() -> dict[str, str]:
    """What the function makes of every uri of the two lists above, from one node run."""
    return rewritten([*EXTENSION_LESS, *UNTOUCHED])


@pytest.mark.parametrize("uri", EXTENSION_LESS)
def test_extension_less_paths_ask_for_the_app_shell(uri: str) -> None:
    assert listed_rewrites()[uri] == APP_SHELL


@pytest.mark.parametrize("uri", UNTOUCHED)
def test_files_and_the_origins_own_paths_are_untouched(uri: str) -> None:
    assert listed_rewrites()[uri] == uri


def router_paths(source: Path = FRONTEND / "src" / "App.tsx") -> list[str]:
    """A concrete path for every <Route> of the web app (`:param` -> 12, `*` -> an unknown path)."""
    text = source.read_text()
    paths = ["/" for _ in re.findall(r"<Route index\b", text)]
    for pattern in re.findall(r'<Route path="([^"]+)"', text):
        paths.append("/" + re.sub(r":\w+", "12", pattern.replace("*", "no/such/page")))
    return paths


def test_every_route_of_the_web_apps_router_asks_for_the_app_shell() -> None:
    paths = router_paths()
    assert {"/", "/videos/12", "/no/such/page"} <= set(paths), f"App.tsx's routes have changed: {paths}"
    assert rewritten(paths) == dict.fromkeys(paths, APP_SHELL)


def nginx_locations(conf: Path = FRONTEND / "nginx" / "default.conf") -> list[tuple[str, str]]:
    """(modifier, path) of every exact (=) and prefix (^~) location nginx answers on its own."""
    return re.findall(r"^\s*location (=|\^~) (\S+) \{", conf.read_text(), re.M)


def test_what_nginx_answers_on_its_own_is_never_rewritten() -> None:
    locations = nginx_locations()
    assert ("=", "/health") in locations and ("^~", "/assets/") in locations
    paths = [path for _, path in locations if path != APP_SHELL]
    paths += [path + "x" for modifier, path in locations if modifier == "^~"]
    assert rewritten(paths) == {uri: uri for uri in paths}


def test_every_file_the_build_serves_from_the_root_has_an_extension() -> None:
    # An extension-less file in public/ would be hidden behind the app shell.
    files = [p.relative_to(FRONTEND / "public") for p in (FRONTEND / "public").rglob("*") if p.is_file()]
    assert files
    assert [str(f) for f in files if "." not in f.name] == []
