"""WAF per-IP rate limit (opt-in: set TAP_RUN_RATE_LIMIT_TEST=1).

Off by default because it costs about a minute and, when it passes, the WAF then
blocks this machine's IP on the API Gateway endpoint for a few minutes (until
its request rate over the 60 s window falls below the limit). Run it last, alone:
`TAP_RUN_RATE_LIMIT_TEST=1 pytest tests/integration/test_rate_limit.py`.
"""

from __future__ import annotations

import os
import threading
from typing import Any

import pytest
import requests

from lib.contract import Output
from tests.integration.harness import (
    HTTP_TIMEOUT,
    RATE_LIMIT_OPT_IN_ENV,
    USER_AGENT,
    AwsClients,
    Outputs,
    api_key_value,
    describe_response,
    join_url,
    paced_burst,
)

LIMIT_PER_MINUTE = 1000
MAX_REQUESTS = 1300  # the limit plus headroom for WAF's detection delay; never more
WINDOW_SECONDS = 60.0  # spread over the WAF evaluation window, so the rate is per minute
CONCURRENCY = 20
# The other checks send a few requests to the API in the same minute; a 429 before
# this many means a lower limit, or this IP still blocked by an earlier run.
EARLIEST_EXPECTED_429 = 900
OPT_IN_REASON = (
    f"opt-in: set {RATE_LIMIT_OPT_IN_ENV}=1 to send up to {MAX_REQUESTS} requests in about a minute "
    "(trips the WAF rate rule for this IP for a few minutes)"
)


def test_waf_rate_limits_one_ip(outputs: Outputs, aws: AwsClients) -> None:
    if os.environ.get(RATE_LIMIT_OPT_IN_ENV) != "1":
        pytest.skip(OPT_IN_REASON)
    url = join_url(outputs[Output.API_GATEWAY_ENDPOINT], "api/health")
    headers = {"x-api-key": api_key_value(aws, outputs[Output.PARTNER_API_KEY_ID]), "User-Agent": USER_AGENT}
    local = threading.local()

    def send(_: int) -> Any:
        if not hasattr(local, "session"):
            local.session = requests.Session()
        return local.session.get(url, headers=headers, timeout=HTTP_TIMEOUT, allow_redirects=False)

    result = paced_burst(send, total=MAX_REQUESTS, duration=WINDOW_SECONDS, workers=CONCURRENCY)
    seen = f"{result.sent} responses in {result.elapsed:.0f} s, statuses {dict(result.statuses)}"
    assert result.error is None, f"GET {url} (rate-limit burst): {result.error}; before that: {seen}"
    assert result.stop_index is not None, (
        f"GET {url}: expected 429 after more than {LIMIT_PER_MINUTE} requests in a minute from one IP, found none: {seen}"
    )
    assert result.stop_index > EARLIEST_EXPECTED_429, (
        f"GET {url}: expected the first 429 only after about {LIMIT_PER_MINUTE} requests in a minute, found it at "
        f"response {result.stop_index} (a lower limit, or this IP still blocked by an earlier run: wait a few minutes); {seen}"
    )
    response = result.stop_response
    try:
        code = response.json().get("error", {}).get("code")
    except (ValueError, AttributeError):
        code = None
    assert code == "rate_limited", (
        f"GET {url}: expected the WAF's 429 body {{'error': {{'code': 'rate_limited'}}}} at response {result.stop_index}, "
        f"found {describe_response(response)} (a usage-plan throttle answers 'Too Many Requests'); {seen}"
    )
