"""Media through CloudFront: entitled by the API's signed cookies, cached at the edge, private at the origin.

The video is the first demo clip (app/backend/catalog/demo_media.json), which every
fresh deploy has: the stack deploys its files and the demo seed marks it playable.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from urllib.parse import urljoin

import requests

from lib.contract import Output
from tests.integration.harness import CheckFailed, Http, Outputs, describe_response, join_url, require_cache_hit

DEMO_MEDIA = Path(__file__).resolve().parents[2] / "app" / "backend" / "catalog" / "demo_media.json"
SIGNED_COOKIES = ("CloudFront-Policy", "CloudFront-Signature", "CloudFront-Key-Pair-Id")


def demo_video_id() -> int:
    video_id: int = json.loads(DEMO_MEDIA.read_text())["videos"][0]["id"]
    return video_id


def start_playback(outputs: Outputs, http: Http) -> tuple[str, dict[str, str]]:
    """POST /api/videos/<id>/play through CloudFront: the manifest URL and the signed cookies it set."""
    url = join_url(outputs[Output.CLOUDFRONT_URL], f"/api/videos/{demo_video_id()}/play")
    response = http.request("POST", url, data="{}", headers={"Content-Type": "application/json"})
    if response.status_code != 200:
        raise CheckFailed(f"POST {url}: expected status 200, found {describe_response(response)}")
    cookies = {name: response.cookies.get(name) for name in SIGNED_COOKIES}
    missing = [name for name, value in cookies.items() if not value]
    if missing:
        raise CheckFailed(f"POST {url}: expected Set-Cookie {missing}, found headers {dict(response.headers)}")
    manifest: str = response.json()["manifest_url"]
    return join_url(outputs[Output.CLOUDFRONT_URL], manifest), {k: v for k, v in cookies.items() if v}


def get(url: str, cookies: dict[str, str] | None = None) -> requests.Response:
    """A GET with exactly these cookies (a fresh session, so nothing else is sent)."""
    with requests.Session() as session:
        try:
            return session.get(url, cookies=cookies or {}, timeout=(5, 20), allow_redirects=False)
        except requests.RequestException as error:
            raise CheckFailed(f"GET {url} failed: {type(error).__name__}: {error}") from None


def test_manifest_is_403_without_signature_and_200_with(outputs: Outputs, http: Http) -> None:
    manifest, cookies = start_playback(outputs, http)
    unsigned = get(manifest)
    assert unsigned.status_code == 403, f"GET {manifest} without cookies: expected 403, found {describe_response(unsigned)}"
    signed = get(manifest, cookies)
    found = describe_response(signed)
    assert signed.status_code == 200, f"GET {manifest} with the signed cookies: expected 200, found {found}"
    assert signed.headers.get("Content-Type") == "application/vnd.apple.mpegurl", f"GET {manifest}: found {found}"
    assert signed.text.startswith("#EXTM3U"), f"GET {manifest}: expected an HLS playlist, found {found}"
    # The cookies of one video do not open another.
    other = manifest.replace(f"/media/{demo_video_id()}/", f"/media/{demo_video_id() + 1}/")
    foreign = get(other, cookies)
    assert foreign.status_code == 403, (
        f"GET {other} with video {demo_video_id()}'s cookies: expected 403, found {describe_response(foreign)}"
    )


def test_segment_is_a_cache_hit_on_the_second_request(outputs: Outputs, http: Http) -> None:
    manifest, cookies = start_playback(outputs, http)
    master = get(manifest, cookies)
    variant_uri = next((line for line in master.text.splitlines() if line and not line.startswith("#")), None)
    if master.status_code != 200 or variant_uri is None:
        raise CheckFailed(f"GET {manifest}: expected a master playlist, found {describe_response(master)}")
    variant_url = urljoin(manifest, variant_uri)
    variant = get(variant_url, cookies)
    segment_uri = next((line for line in variant.text.splitlines() if line.endswith(".ts")), None)
    if variant.status_code != 200 or segment_uri is None:
        raise CheckFailed(f"GET {variant_url}: expected a media playlist, found {describe_response(variant)}")
    segment = urljoin(variant_url, segment_uri)
    first = get(segment, cookies)
    assert first.status_code == 200, f"GET {segment}: expected 200, found {describe_response(first)}"
    assert first.headers.get("Content-Type") == "video/mp2t", f"GET {segment}: found {describe_response(first)}"
    require_cache_hit(segment, first, lambda: get(segment, cookies))


def test_media_bucket_refuses_direct_requests(outputs: Outputs, http: Http) -> None:
    manifest, _ = start_playback(outputs, http)
    key = manifest.split("/media/", 1)[1]
    bucket, region = outputs[Output.MEDIA_BUCKET_NAME], outputs[Output.REGION]
    # An S3 endpoint override (as boto3 reads it) is used path-style; otherwise the regional endpoint.
    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    base = f"{endpoint.rstrip('/')}/{bucket}" if endpoint else f"https://{bucket}.s3.{region}.amazonaws.com"
    url = f"{base}/media/{key}"
    response = get(url)
    assert response.status_code == 403, (
        f"GET {url} (the bucket, not CloudFront): expected 403, found {describe_response(response)}"
    )
