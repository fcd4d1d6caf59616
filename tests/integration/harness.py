"""Helpers of the integration checks: outputs, region, AWS and HTTP calls, response parsing.

Everything here is either pure (unit-tested in tests/unit/test_integration_harness.py)
or a thin wrapper that turns a transport error into an `CheckFailed` whose message
says which call failed, where, and why. Once the outputs file exists every problem
is a failure, never a skip.
"""

from __future__ import annotations

import json
import math
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import boto3
import requests
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from lib.contract import REGION, Output

DEFAULT_OUTPUTS_FILE = "cfn-outputs/flat-outputs.json"
OUTPUTS_FILE_ENV = "TAP_OUTPUTS_FILE"
RATE_LIMIT_OPT_IN_ENV = "TAP_RUN_RATE_LIMIT_TEST"

USER_AGENT = "tap-integration-tests/1.0 (+tests/integration)"
# (connect, read) seconds: a healthy edge answers in well under a second; the read
# timeout leaves room for a cold API path (Aurora reader warm-up).
HTTP_TIMEOUT = (5.0, 30.0)
AWS_CONFIG = Config(connect_timeout=5, read_timeout=30, user_agent_extra="tap-integration-tests")

HOW_TO_CREATE_OUTPUTS = (
    "create it with `make deploy SUFFIX=<suffix>` (cdk deploy, then scripts/flatten_outputs.py); after a plain "
    "`cdk deploy` (cdk.json has it write its outputs to cfn-outputs/all-outputs.json) with "
    "`python scripts/flatten_outputs.py --cdk-outputs cfn-outputs/all-outputs.json --stack-name TapStack<suffix>`; "
    "for a stack that is already deployed `make outputs SUFFIX=<suffix>` "
    "(python scripts/flatten_outputs.py --stack-name TapStack<suffix>); "
    f"or point {OUTPUTS_FILE_ENV} at an existing flat outputs file"
)


class CheckFailed(AssertionError):
    """A check could not be made or its result was wrong; the message says what and why."""


# --------------------------------------------------------------------------- outputs


def outputs_path(environ: Mapping[str, str] | None = None, root: Path | None = None) -> Path:
    """The flat outputs file: `$TAP_OUTPUTS_FILE` or cfn-outputs/flat-outputs.json of the repo root."""
    environ = os.environ if environ is None else environ
    configured = environ.get(OUTPUTS_FILE_ENV, "").strip()
    path = Path(configured) if configured else Path(DEFAULT_OUTPUTS_FILE)
    if not path.is_absolute():
        path = (root or Path.cwd()) / path
    return path


def absent_outputs_reason(path: Path) -> str:
    """Why every check fails when the outputs file does not exist."""
    return f"no stack outputs: {path} does not exist; {HOW_TO_CREATE_OUTPUTS}"


def parse_outputs(text: str, source: str) -> dict[str, str]:
    """Parse a flat outputs document (JSON object of key → string)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise CheckFailed(f"{source} is not valid JSON: {error}") from None
    if not isinstance(data, dict):
        raise CheckFailed(f"{source}: expected a JSON object of output key → value, found {type(data).__name__}")
    nested = sorted(k for k, v in data.items() if isinstance(v, dict))
    if nested:
        raise CheckFailed(
            f"{source}: expected a flat object of output key → value, found nested objects under {nested} "
            "(a `cdk deploy --outputs-file` document? flatten it with scripts/flatten_outputs.py)"
        )
    return {str(k): "" if v is None else str(v) for k, v in data.items()}


class Outputs:
    """The stack outputs, loaded on first use so a broken file fails each check instead of erroring."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._values: dict[str, str] | None = None

    @property
    def values(self) -> dict[str, str]:
        if self._values is None:
            try:
                text = self.path.read_text(encoding="utf-8")
            except OSError as error:
                raise CheckFailed(f"cannot read stack outputs {self.path}: {error}") from None
            self._values = parse_outputs(text, str(self.path))
        return self._values

    def get(self, key: Output) -> str | None:
        value = self.values.get(key)
        return value if value else None

    def __getitem__(self, key: Output) -> str:
        values = self.values
        if key not in values:
            raise CheckFailed(
                f"stack outputs {self.path} have no key {str(key)!r} (the outputs contract requires it); "
                f"keys present: {', '.join(sorted(values)) or 'none'}"
            )
        if not values[key].strip():
            raise CheckFailed(f"stack outputs {self.path}: key {str(key)!r} is empty")
        return values[key]


def resolve_region(outputs: Outputs | Mapping[str, str], environ: Mapping[str, str] | None = None) -> str:
    """The region of the stack: output `Region`, else `$AWS_REGION`, else the platform's region."""
    environ = os.environ if environ is None else environ
    from_outputs = outputs.get(Output.REGION)
    if from_outputs and from_outputs.strip():
        return from_outputs.strip()
    from_env = environ.get("AWS_REGION", "").strip()
    return from_env or REGION


def repository_name(uri: str) -> str:
    """ECR repository name from its URI (`<acct>.dkr.ecr.<region>.amazonaws.com/<name>`)."""
    host, sep, name = uri.partition("/")
    if not sep or not name or ".dkr.ecr." not in host:
        raise CheckFailed(f"expected an ECR repository URI '<account>.dkr.ecr.<region>.amazonaws.com/<name>', found {uri!r}")
    return name


def join_url(base: str, path: str) -> str:
    """`base` + `path` with exactly one slash between them (the API stage URL ends with one)."""
    return base.rstrip("/") + "/" + path.lstrip("/")


# --------------------------------------------------------------------------- AWS


class AwsClients:
    """boto3 clients of one region, created on first use and reused."""

    def __init__(self, region_of: Callable[[], str]) -> None:
        self._region_of = region_of
        self._clients: dict[str, Any] = {}
        self._session: boto3.session.Session | None = None
        self._lock = threading.Lock()

    def __call__(self, service: str) -> Any:
        with self._lock:
            if service not in self._clients:
                # One session for every client: it loads the endpoint and model files once (a session
                # is not thread-safe; the lock serializes client creation).
                if self._session is None:
                    self._session = boto3.session.Session()
                self._clients[service] = self._session.client(service, region_name=self._region_of(), config=AWS_CONFIG)
            return self._clients[service]


def _format_params(params: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in params.items())


def _aws_failure(client: Any, operation: str, params: Mapping[str, Any], error: Exception) -> CheckFailed:
    service = client.meta.service_model.service_name
    return CheckFailed(
        f"AWS call {service}.{operation}({_format_params(params)}) in {client.meta.region_name} failed: "
        f"{type(error).__name__}: {error}"
    )


def aws_call(client: Any, operation: str, **params: Any) -> dict[str, Any]:
    """Call `client.<operation>(**params)`; any botocore error becomes a `CheckFailed` naming the call."""
    try:
        response: dict[str, Any] = getattr(client, operation)(**params)
    except (BotoCoreError, ClientError) as error:
        raise _aws_failure(client, operation, params, error) from None
    return response


def aws_collect(client: Any, operation: str, key: str, **params: Any) -> list[Any]:
    """Every item under `key` of every page of a paginated call."""
    try:
        items: list[Any] = []
        for page in client.get_paginator(operation).paginate(**params):
            items.extend(page.get(key, []))
    except (BotoCoreError, ClientError) as error:
        raise _aws_failure(client, operation, params, error) from None
    return items


def api_key_value(aws: AwsClients, key_id: str) -> str:
    """The value of an API Gateway key (never put it in a message)."""
    value = aws_call(aws("apigateway"), "get_api_key", apiKey=key_id, includeValue=True).get("value")
    if not value:
        raise CheckFailed(f"API key {key_id}: expected a value from apigateway.get_api_key(includeValue=True), found none")
    return str(value)


def production_target_groups(rule: Mapping[str, Any]) -> set[str]:
    """Target groups a listener rule sends traffic to (forward actions, weight > 0).

    ECS blue/green moves the production rule's weight from the blue to the green
    target group; the one with weight is the production one.
    """
    arns: set[str] = set()
    for action in rule.get("Actions", []):
        if action.get("Type") != "forward":
            continue
        groups = action.get("ForwardConfig", {}).get("TargetGroups")
        if groups:
            arns.update(g["TargetGroupArn"] for g in groups if g.get("Weight", 1) > 0)
        elif action.get("TargetGroupArn"):
            arns.add(action["TargetGroupArn"])
    return arns


def summarize_targets(descriptions: Iterable[Mapping[str, Any]]) -> list[str]:
    """`id:port=state (reason)` per target, for failure messages."""
    summary = []
    for d in descriptions:
        target = d.get("Target", {})
        health = d.get("TargetHealth", {})
        text = f"{target.get('Id', '?')}:{target.get('Port', '?')}={health.get('State', '?')}"
        if health.get("Reason"):
            text += f" ({health['Reason']})"
        summary.append(text)
    return summary


# --------------------------------------------------------------------------- HTTP


class Http:
    """A requests session with a User-Agent and timeouts; transport errors become `CheckFailed`."""

    def __init__(self, timeout: tuple[float, float] = HTTP_TIMEOUT) -> None:
        self.timeout = timeout
        self.session = requests.Session()
        self.session.headers["User-Agent"] = USER_AGENT

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self.timeout)
        kwargs.setdefault("allow_redirects", False)
        try:
            return self.session.request(method, url, **kwargs)
        except requests.RequestException as error:
            raise CheckFailed(f"{method} {url} failed: {type(error).__name__}: {error}") from None

    def get(self, url: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", url, **kwargs)

    def close(self) -> None:
        self.session.close()


def describe_response(response: requests.Response, body_chars: int = 200) -> str:
    """Status, the headers that matter here and the start of the body, for failure messages."""
    parts = [f"status {response.status_code}"]
    for header in ("Content-Type", "Cache-Control", "X-Cache", "Location"):
        if header in response.headers:
            parts.append(f"{header}: {response.headers[header]!r}")
    body = response.text[:body_chars].replace("\n", " ")
    parts.append(f"body starts {body!r}")
    return ", ".join(parts)


def is_html(response: requests.Response) -> bool:
    return response.headers.get("Content-Type", "").split(";")[0].strip().lower() == "text/html"


# A repeat request can reach another edge server before the first one's copy is shared.
CACHE_HIT_RETRIES = 3
CACHE_HIT_RETRY_DELAY = 1.0
# Seconds between the repeats instead of CACHE_HIT_RETRY_DELAY; the offline harness tests set 0
# (their fake CloudFront counts requests, not time).
CACHE_HIT_RETRY_DELAY_ENV = "TAP_CACHE_HIT_RETRY_DELAY"


def cache_hit_retry_delay(environ: Mapping[str, str] | None = None) -> float:
    """Seconds between cache-hit repeats: `$TAP_CACHE_HIT_RETRY_DELAY` if set, else CACHE_HIT_RETRY_DELAY."""
    environ = os.environ if environ is None else environ
    configured = environ.get(CACHE_HIT_RETRY_DELAY_ENV, "").strip()
    if not configured:
        return CACHE_HIT_RETRY_DELAY
    try:
        delay = float(configured)
    except ValueError:
        delay = math.nan
    if not 0 <= delay <= CACHE_HIT_RETRY_DELAY * 60:
        raise CheckFailed(
            f"{CACHE_HIT_RETRY_DELAY_ENV} must be a number of seconds from 0 to {CACHE_HIT_RETRY_DELAY * 60:g}, got {configured!r}"
        )
    return delay


def require_cache_hit(url: str, first: Any, fetch: Callable[[], Any]) -> None:
    """Repeat `fetch` (a GET of `url`, answered first by `first`) until CloudFront serves it from its cache.

    Raises CheckFailed, with every X-Cache value seen, when no repeat is a 200 cache hit.
    """
    delay = cache_hit_retry_delay()
    seen = [first.headers.get("X-Cache")]
    for attempt in range(1 + CACHE_HIT_RETRIES):
        if attempt:
            time.sleep(delay)
        again = fetch()
        seen.append(again.headers.get("X-Cache"))
        if again.status_code == 200 and is_cache_hit(again.headers):
            return
    raise CheckFailed(f"GET {url} repeated: expected 'X-Cache: Hit from cloudfront' on a repeat request, found X-Cache {seen}")


def is_cache_hit(headers: Mapping[str, str]) -> bool:
    """True when CloudFront served the response from its cache (`X-Cache: Hit from cloudfront`)."""
    value = headers.get("X-Cache") or headers.get("x-cache") or ""
    return value.strip().lower() == "hit from cloudfront"


def cache_control_directives(value: str | None) -> dict[str, str | None]:
    """`public, max-age=31536000, immutable` → {"public": None, "max-age": "31536000", "immutable": None}."""
    directives: dict[str, str | None] = {}
    for part in (value or "").split(","):
        name, sep, arg = part.strip().partition("=")
        if name:
            directives[name.lower()] = arg.strip('"') if sep else None
    return directives


class _AssetParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.references: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "link"):
            for name, value in attrs:
                if name in ("src", "href") and value:
                    self.references.append(value)


def extract_asset_urls(html: str, base_url: str, suffix: str = ".js") -> list[str]:
    """Absolute URLs of the hashed build assets (`/assets/*<suffix>`) an HTML page references.

    Only same-site references count: an asset on another host says nothing about this
    distribution's cache.
    """
    parser = _AssetParser()
    parser.feed(html)
    base = urlsplit(base_url)
    urls: list[str] = []
    for reference in parser.references:
        absolute = urljoin(base_url if base_url.endswith("/") else base_url + "/", reference)
        parsed = urlsplit(absolute)
        if parsed.netloc != base.netloc:
            continue
        if parsed.path.startswith("/assets/") and parsed.path.endswith(suffix) and absolute not in urls:
            urls.append(absolute)
    return urls


# --------------------------------------------------------------------------- rate limit


@dataclass
class BurstResult:
    """What a paced burst of requests saw."""

    sent: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    stop_index: int | None = None  # 1-based number of the first response with the stop status
    stop_response: Any = None
    error: str | None = None
    elapsed: float = 0.0


def paced_burst(
    send: Callable[[int], Any],
    *,
    total: int,
    duration: float,
    workers: int,
    stop_status: int = 429,
) -> BurstResult:
    """Send up to `total` requests spread evenly over `duration` seconds by `workers` threads.

    Stops at the first response whose `status_code` is `stop_status` or at the first
    exception (recorded in `error`), so a broken endpoint fails fast instead of
    being hammered. Bounded: never more than `total` requests.
    """
    result = BurstResult()
    stop = threading.Event()
    lock = threading.Lock()
    interval = duration / total if total else 0.0
    start = time.monotonic()

    def one(index: int) -> None:
        if stop.is_set():
            return
        delay = start + index * interval - time.monotonic()
        if delay > 0 and stop.wait(delay):
            return
        try:
            response = send(index)
        except Exception as error:
            with lock:
                if result.error is None:
                    result.error = f"request {index + 1} failed: {error}"
            stop.set()
            return
        with lock:
            result.sent += 1
            result.statuses[response.status_code] += 1
            if response.status_code == stop_status and result.stop_index is None:
                result.stop_index = result.sent
                result.stop_response = response
                stop.set()

    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(one, range(total)))
    result.elapsed = time.monotonic() - start
    return result
