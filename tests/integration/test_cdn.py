"""CloudFront: the web app, the API behind /api, hashed assets cached at the edge, custom error pages."""

from __future__ import annotations

import uuid

import pytest
import requests

from lib.contract import Output
from tests.integration.harness import (
    CheckFailed,
    Http,
    Outputs,
    cache_control_directives,
    describe_response,
    extract_asset_urls,
    is_html,
    join_url,
    require_cache_hit,
)

# The custom error pages (app/error-pages, served from S3 at /errors/<code>.html)
# carry the product name and a page-specific heading; index.html carries neither heading.
PRODUCT_NAME_MARKER = "TAP Stream"
NOT_FOUND_PAGE_MARKER = "Page not found"
# Requests after the first one that may still miss (another edge host in the POP).


def get_ok(http: Http, url: str) -> requests.Response:
    response = http.get(url)
    if response.status_code != 200:
        raise CheckFailed(f"GET {url}: expected status 200, found {describe_response(response)}")
    return response


def test_home_page_is_html(outputs: Outputs, http: Http) -> None:
    url = join_url(outputs[Output.CLOUDFRONT_URL], "/")
    response = get_ok(http, url)
    assert is_html(response) and "<html" in response.text.lower(), (
        f"GET {url}: expected an HTML page, found {describe_response(response)}"
    )


@pytest.mark.parametrize("path", ["/health", "/api/health"])
def test_health_through_cloudfront(path: str, outputs: Outputs, http: Http) -> None:
    get_ok(http, join_url(outputs[Output.CLOUDFRONT_URL], path))


def test_videos_api_returns_items(outputs: Outputs, http: Http) -> None:
    url = join_url(outputs[Output.CLOUDFRONT_URL], "/api/videos")
    response = get_ok(http, url)
    try:
        body = response.json()
    except ValueError:
        raise CheckFailed(f"GET {url}: expected a JSON body, found {describe_response(response)}") from None
    assert isinstance(body, dict) and isinstance(body.get("items"), list), (
        f"GET {url}: expected a JSON object with an 'items' list, found {describe_response(response)}"
    )


def test_a_deep_link_is_the_app_shell_from_its_one_cache_object(outputs: Outputs, http: Http) -> None:
    base = outputs[Output.CLOUDFRONT_URL]
    home = get_ok(http, join_url(base, "/"))
    link = join_url(base, f"/videos/{uuid.uuid4().int % 10**12}")
    first = get_ok(http, link)
    assert is_html(first) and first.text == home.text, (
        f"GET {link}: expected the app shell (the body of /), found {describe_response(first)}"
    )
    # The viewer-request function serves every client route as /index.html: a deep link nobody has
    # asked for yet is the object the requests above put in the cache.
    require_cache_hit(link, first, lambda: get_ok(http, join_url(base, f"/videos/{uuid.uuid4().int % 10**12}")))


def test_hashed_asset_is_immutable_and_cached(outputs: Outputs, http: Http) -> None:
    home = join_url(outputs[Output.CLOUDFRONT_URL], "/")
    page = get_ok(http, home)
    assets = extract_asset_urls(page.text, home)
    assert assets, f"GET {home}: expected index.html to reference a hashed /assets/*.js, found none in {page.text[:300]!r}"
    asset = assets[0]
    first = get_ok(http, asset)
    directives = cache_control_directives(first.headers.get("Cache-Control"))
    assert "immutable" in directives, (
        f"GET {asset}: expected Cache-Control with 'immutable', found {first.headers.get('Cache-Control')!r}"
    )
    require_cache_hit(asset, first, lambda: get_ok(http, asset))


def test_unknown_api_path_shows_custom_404_page(outputs: Outputs, http: Http) -> None:
    url = join_url(outputs[Output.CLOUDFRONT_URL], f"/api/does-not-exist-{uuid.uuid4()}")
    response = http.get(url)
    found = describe_response(response)
    assert response.status_code == 404, f"GET {url}: expected status 404, found {found}"
    assert is_html(response), f"GET {url}: expected the HTML error page /errors/404.html, found {found}"
    missing = [m for m in (PRODUCT_NAME_MARKER, NOT_FOUND_PAGE_MARKER) if m not in response.text]
    assert not missing, f"GET {url}: expected the custom 404 page (markers {missing} not found), found {found}"
