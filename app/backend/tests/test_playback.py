"""Entitled playback: POST /api/videos/<id>/play and the CloudFront signed cookies it sets.

The cookies are checked the way CloudFront checks them: the policy is decoded
from CloudFront's base64 variant, the RSA-SHA1 signature verified with the
public key, and the policy's resource and expiry evaluated for a URL.
"""

from __future__ import annotations

import fnmatch
import json
import re
import time
from http.cookies import SimpleCookie
from typing import Any

import boto3
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from flask import Flask
from flask.testing import FlaskClient
from moto import mock_aws

from catalog import create_app
from catalog.config import ConfigError
from catalog.playback import (
    MediaSigner,
    cloudfront_b64decode,
    cloudfront_b64encode,
    signer_from_config,
)
from catalog.seed import demo_media
from tests.conftest import KEY_PAIR_ID, MEDIA_BASE_URL, SIGNING_KEY, make_config

DEMO = demo_media()[0]
NOT_PLAYABLE_ID = 500  # a seeded demo video without clips
JSON = {"Content-Type": "application/json"}


def play(client: FlaskClient, video_id: int | str) -> Any:
    return client.post(f"/api/videos/{video_id}/play", data="{}", headers=JSON)


def set_cookies(response: Any) -> dict[str, Any]:
    jar: dict[str, Any] = {}
    for header in response.headers.getlist("Set-Cookie"):
        cookie = SimpleCookie()
        cookie.load(header)
        for name, morsel in cookie.items():
            jar[name] = morsel
    return jar


def cloudfront_allows(
    cookies: dict[str, str], url: str, public_key: rsa.RSAPublicKey, now: float
) -> bool:
    """What CloudFront decides for a request to `url` carrying these signed cookies."""
    policy = cloudfront_b64decode(cookies["CloudFront-Policy"])
    try:
        public_key.verify(
            cloudfront_b64decode(cookies["CloudFront-Signature"]),
            policy,
            padding.PKCS1v15(),
            hashes.SHA1(),  # noqa: S303 - CloudFront's signature format
        )
    except InvalidSignature:
        return False
    (statement,) = json.loads(policy)["Statement"]
    expires = statement["Condition"]["DateLessThan"]["AWS:EpochTime"]
    return now < expires and fnmatch.fnmatchcase(url, statement["Resource"])


def test_play_counts_one_view_and_answers_the_manifest(client: FlaskClient, conforms: Any) -> None:
    before = client.get(f"/api/videos/{DEMO['id']}").get_json()
    assert before["playable"] is True
    assert before["poster_url"] == f"/media/{DEMO['id']}/{DEMO['version']}/poster.jpg"
    response = conforms(play(client, DEMO["id"]))
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert body["manifest_url"] == f"/media/{DEMO['id']}/{DEMO['version']}/master.m3u8"
    assert body["views"] == before["views"] + 1


def test_cookies_are_scoped_to_the_video_path_and_not_readable_by_scripts(
    client: FlaskClient,
) -> None:
    jar = set_cookies(play(client, DEMO["id"]))
    assert set(jar) == {"CloudFront-Policy", "CloudFront-Signature", "CloudFront-Key-Pair-Id"}
    for morsel in jar.values():
        assert morsel["path"] == f"/media/{DEMO['id']}/"
        assert morsel["httponly"]
        assert morsel["secure"]
        assert morsel["samesite"] == "Lax"
        # Session cookies, as CloudFront recommends; the signed policy carries the expiry.
        assert not morsel["max-age"]
        assert not morsel["expires"]
    assert jar["CloudFront-Key-Pair-Id"].value == KEY_PAIR_ID
    for name in ("CloudFront-Policy", "CloudFront-Signature"):
        assert re.fullmatch(r"[A-Za-z0-9~_-]+", jar[name].value), (
            f"{name} is not in CloudFront's base64 variant"
        )


def test_signature_verifies_with_the_public_key_for_this_video_only(client: FlaskClient) -> None:
    vid, version = DEMO["id"], DEMO["version"]
    cookies = {k: v.value for k, v in set_cookies(play(client, vid)).items()}
    public = SIGNING_KEY.public_key()
    now = time.time()
    for path in ("master.m3u8", "360p/index.m3u8", "240p/seg_00002.ts"):
        assert cloudfront_allows(
            cookies, f"{MEDIA_BASE_URL}/media/{vid}/{version}/{path}", public, now
        )
    # Another video (also one whose id starts with the same digits), another host or key: refused.
    for url in (
        f"{MEDIA_BASE_URL}/media/{vid + 1}/{version}/master.m3u8",
        f"{MEDIA_BASE_URL}/media/{vid}0/{version}/master.m3u8",
        f"https://evil.example/media/{vid}/{version}/master.m3u8",
    ):
        assert not cloudfront_allows(cookies, url, public, now), url
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    assert not cloudfront_allows(
        cookies, f"{MEDIA_BASE_URL}/media/{vid}/{version}/master.m3u8", other, now
    )


def test_policy_format_is_cloudfronts_custom_policy() -> None:
    signer = MediaSigner(
        SIGNING_KEY,
        KEY_PAIR_ID,
        base_url=MEDIA_BASE_URL,
        ttl_seconds=600,
        clock=lambda: 1_700_000_000,
    )
    cookies = signer.cookies_for(7)
    # No whitespace, Statement → Resource + Condition.DateLessThan.AWS:EpochTime (an integer).
    assert cloudfront_b64decode(cookies.policy) == (
        b'{"Statement":[{"Resource":"https://d111111abcdef8.cloudfront.net/media/7/*",'
        b'"Condition":{"DateLessThan":{"AWS:EpochTime":1700000600}}}]}'
    )
    assert cloudfront_b64encode(b"\xfb\xff\xfe") == "-~~-"
    assert cloudfront_b64encode(b"a") == "YQ__"


def test_signature_expires_within_an_hour() -> None:
    issued = 1_700_000_000.0
    signer = MediaSigner(
        SIGNING_KEY, KEY_PAIR_ID, base_url=MEDIA_BASE_URL, ttl_seconds=3600, clock=lambda: issued
    )
    cookies = signer.cookies_for(3).as_dict()
    url = f"{MEDIA_BASE_URL}/media/3/v/master.m3u8"
    public = SIGNING_KEY.public_key()
    assert cloudfront_allows(cookies, url, public, issued + 3599)
    assert not cloudfront_allows(cookies, url, public, issued + 3600)


def test_lifetime_over_an_hour_is_refused(pg: Any) -> None:
    with pytest.raises(ConfigError, match="MEDIA_COOKIE_TTL must be 60-3600 seconds"):
        make_config(pg, MEDIA_COOKIE_TTL="3601")


def test_video_without_media_is_a_409_and_counts_nothing(
    client: FlaskClient, conforms: Any
) -> None:
    before = client.get(f"/api/videos/{NOT_PLAYABLE_ID}").get_json()
    assert before["playable"] is False
    assert before["poster_url"] is None
    response = conforms(play(client, NOT_PLAYABLE_ID))
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "not_playable"
    assert "Set-Cookie" not in response.headers
    assert client.get(f"/api/videos/{NOT_PLAYABLE_ID}").get_json()["views"] == before["views"]


@pytest.mark.parametrize(
    ("video_id", "data", "headers", "status", "code"),
    [
        ("999999", "{}", JSON, 404, "not_found"),
        ("abc", "{}", JSON, 400, "invalid_id"),
        ("0", "{}", JSON, 400, "invalid_id"),
        ("1", "{}", {"Content-Type": "text/plain"}, 400, "unsupported_content_type"),
        ("1", "{nope", JSON, 400, "invalid_json"),
        ("1", "[1]", JSON, 400, "invalid_body"),
    ],
)
def test_bad_play_requests_are_json_errors(
    client: FlaskClient,
    conforms: Any,
    video_id: str,
    data: str,
    headers: dict[str, str],
    status: int,
    code: str,
) -> None:
    response = conforms(client.post(f"/api/videos/{video_id}/play", data=data, headers=headers))
    assert response.status_code == status
    assert response.get_json()["error"]["code"] == code
    assert "Set-Cookie" not in response.headers


# ---------------------------------------------------------------- startup


def test_missing_key_material_fails_startup_with_the_variable_named(pg: Any) -> None:
    with pytest.raises(ConfigError, match=r"MEDIA_SIGNING_SECRET_ARN \(or MEDIA_SIGNING_KEY_FILE"):
        make_config(pg, MEDIA_SIGNING_KEY_FILE="")


def test_unreadable_or_wrong_key_fails_startup(pg: Any, tmp_path: Any) -> None:
    with pytest.raises(ConfigError, match="cannot be read"):
        create_app(
            make_config(
                pg, MEDIA_SIGNING_KEY_FILE=str(tmp_path / "absent.pem"), RUN_MIGRATIONS="false"
            )
        )
    not_a_key = tmp_path / "not-a-key.pem"
    not_a_key.write_text("hello")
    with pytest.raises(ConfigError, match="not a PEM private key"):
        create_app(make_config(pg, MEDIA_SIGNING_KEY_FILE=str(not_a_key), RUN_MIGRATIONS="false"))
    small = tmp_path / "small.pem"
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505 - the bad input
    small.write_bytes(
        weak.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    with pytest.raises(ConfigError, match="at least 2048 bits"):
        create_app(make_config(pg, MEDIA_SIGNING_KEY_FILE=str(small), RUN_MIGRATIONS="false"))


@mock_aws
def test_key_is_read_from_secrets_manager(pg: Any) -> None:
    client = boto3.client("secretsmanager", region_name="ap-southeast-1")
    pem = SIGNING_KEY.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    arn = client.create_secret(Name="media-signing-key-1-test", SecretString=pem)["ARN"]
    config = make_config(
        pg, MEDIA_SIGNING_KEY_FILE="", MEDIA_SIGNING_SECRET_ARN=arn, AWS_REGION="ap-southeast-1"
    )
    signer = signer_from_config(config, client=client)
    cookies = signer.cookies_for(1).as_dict()
    assert cloudfront_allows(
        cookies, f"{MEDIA_BASE_URL}/media/1/x/master.m3u8", SIGNING_KEY.public_key(), time.time()
    )

    missing = make_config(
        pg,
        MEDIA_SIGNING_KEY_FILE="",
        MEDIA_SIGNING_SECRET_ARN=arn + "-gone",
        AWS_REGION="ap-southeast-1",
    )
    gone = r"secret .* cannot be read \(ResourceNotFoundException\)"
    with pytest.raises(ConfigError, match=gone):
        signer_from_config(missing, client=client)


def test_secret_value_never_appears_in_errors(pg: Any) -> None:
    class Leaky:
        def get_secret_value(self, SecretId: str) -> dict[str, str]:  # noqa: N803 - boto3's name
            marker = "PRIVATE KEY-----"  # split, so no PEM block appears in the repository
            return {"SecretString": f"-----BEGIN {marker}\nc2VjcmV0\n-----END {marker}\n"}

    config = make_config(
        pg, MEDIA_SIGNING_KEY_FILE="", MEDIA_SIGNING_SECRET_ARN="arn:x", AWS_REGION="ap-southeast-1"
    )
    with pytest.raises(ConfigError) as raised:
        signer_from_config(config, client=Leaky())
    assert "c2VjcmV0" not in str(raised.value)


def test_app_refuses_to_start_without_a_key(pg: Any, app: Flask) -> None:
    assert isinstance(app.extensions["media_signer"], MediaSigner)
    with pytest.raises(ConfigError, match="MEDIA_SIGNING"):
        create_app(make_config(pg, MEDIA_SIGNING_KEY_FILE="", MEDIA_SIGNING_SECRET_ARN=""))


@pytest.mark.parametrize(
    "bad", ["d111.cloudfront.net", "https://d111.cloudfront.net/media", "ftp://x.example"]
)
def test_bad_media_base_url_is_refused_with_what_is_allowed(pg: Any, bad: str) -> None:
    with pytest.raises(ConfigError, match="MEDIA_BASE_URL must be an origin like https://"):
        make_config(pg, MEDIA_BASE_URL=bad)
