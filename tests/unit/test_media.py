"""The media path: private bucket behind OAC, signed-cookie behavior, signing keys, demo media."""

from __future__ import annotations

import json
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import aws_cloudfront as cloudfront

from lib.config import ConfigError, PlatformConfig, from_context
from lib.media import DEMO_MEDIA_DIR, KEY_PAIR_FUNCTION_DIR, MEDIA_PREFIX, POSTER_FILE, media_formats
from tests.unit.support import BLOCK_ALL_PUBLIC_ACCESS, SUFFIX, Synthesized
from tests.unit.test_cdn import behaviors, cache_policy, config, origin_of

ROOT = Path(__file__).resolve().parents[2]
DEMO_MANIFEST = ROOT / "app" / "backend" / "catalog" / "demo_media.json"


def media_bucket(stack: Synthesized) -> str:
    (bucket,) = [k for k in stack.of_type("AWS::S3::Bucket") if k.startswith("MediaBucket")]
    return bucket


def distribution_id(stack: Synthesized) -> str:
    distribution, _ = stack.one("AWS::CloudFront::Distribution")
    return distribution


def by_name(stack: Synthesized, resource_type: str, name: str, config_key: str) -> tuple[str, dict[str, Any]]:
    (found,) = [(k, v) for k, v in stack.of_type(resource_type).items() if v["Properties"][config_key]["Name"] == name]
    return found


def backend_environment(stack: Synthesized) -> dict[str, Any]:
    for task in stack.of_type("AWS::ECS::TaskDefinition").values():
        (container,) = task["Properties"]["ContainerDefinitions"]
        if container["Name"] == "backend":
            env = {e["Name"]: e["Value"] for e in container.get("Environment", [])}
            env.update({s["Name"]: s["ValueFrom"] for s in container.get("Secrets", [])})
            return env
    raise AssertionError("no backend container")


def backend_task_role(stack: Synthesized) -> str:
    for task in stack.of_type("AWS::ECS::TaskDefinition").values():
        if task["Properties"]["ContainerDefinitions"][0]["Name"] == "backend":
            role: str = task["Properties"]["TaskRoleArn"]["Fn::GetAtt"][0]
            return role
    raise AssertionError("no backend task")


def statements_on(stack: Synthesized, resource_ref: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(role logical id, statement) for every identity-policy statement naming `resource_ref`."""
    found = []
    for policy in stack.of_type("AWS::IAM::Policy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            if resource_ref in resources:
                found += [(role["Ref"], statement) for role in policy["Properties"]["Roles"]]
    return found


# ---------------------------------------------------------------- bucket


def test_media_bucket_is_private_encrypted_tls_only_and_destroyable(stack: Synthesized) -> None:
    bucket = stack.resources[media_bucket(stack)]
    props = bucket["Properties"]
    assert props["PublicAccessBlockConfiguration"] == BLOCK_ALL_PUBLIC_ACCESS
    assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
    assert props["LoggingConfiguration"]["LogFilePrefix"] == "media/"
    assert bucket["DeletionPolicy"] == "Delete"
    auto_delete = [
        r
        for r in stack.of_type("Custom::S3AutoDeleteObjects").values()
        if r["Properties"]["BucketName"] == {"Ref": media_bucket(stack)}
    ]
    assert len(auto_delete) == 1, "the media bucket must be emptied on destroy"


def test_media_bucket_is_readable_only_by_this_distribution(stack: Synthesized) -> None:
    """Every Allow of the bucket policy: CloudFront (this distribution only) reading, or the auto-delete role."""
    bucket = media_bucket(stack)
    (policy,) = [p for p in stack.of_type("AWS::S3::BucketPolicy").values() if p["Properties"]["Bucket"] == {"Ref": bucket}]
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    tls = [s for s in statements if s["Effect"] == "Deny"]
    assert tls and tls[0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    allows = [s for s in statements if s["Effect"] == "Allow"]
    readers = [s for s in allows if s["Principal"] == {"Service": "cloudfront.amazonaws.com"}]
    assert len(readers) == 1
    (reader,) = readers
    assert reader["Action"] == "s3:GetObject"
    source = json.dumps(reader["Condition"]["StringEquals"]["AWS:SourceArn"])
    assert distribution_id(stack) in source, "only this distribution may read through OAC"
    for other in allows:
        if other is reader:
            continue
        principal = other["Principal"]["AWS"]["Fn::GetAtt"][0]
        assert principal.startswith("CustomS3AutoDeleteObjects"), f"unexpected reader {other['Principal']}"
        assert not {"s3:GetObject", "s3:GetObject*", "s3:*"} & set(other["Action"]), other
    assert '"*"' not in json.dumps([s["Principal"] for s in allows])


def test_cloudfront_reads_it_through_origin_access_control_with_origin_shield(stack: Synthesized) -> None:
    origin = origin_of(stack, "/media/*")
    assert origin["DomainName"] == {"Fn::GetAtt": [media_bucket(stack), "RegionalDomainName"]}
    assert origin["S3OriginConfig"]["OriginAccessIdentity"] == ""
    oac = stack.resources[origin["OriginAccessControlId"]["Fn::GetAtt"][0]]["Properties"]["OriginAccessControlConfig"]
    assert oac["OriginAccessControlOriginType"] == "s3"
    assert oac["SigningBehavior"] == "always"
    assert oac["SigningProtocol"] == "sigv4"
    assert origin["OriginShield"] == {"Enabled": True, "OriginShieldRegion": "ap-southeast-1"}


# ---------------------------------------------------------------- behaviors


def test_media_behavior_requires_a_signature_from_the_key_group(stack: Synthesized) -> None:
    media = behaviors(stack)["/media/*"]
    (key_group, _) = stack.one("AWS::CloudFront::KeyGroup")
    assert media["TrustedKeyGroups"] == [{"Ref": key_group}]
    assert media["AllowedMethods"] == ["GET", "HEAD"]
    assert media["CachedMethods"] == ["GET", "HEAD"]
    assert media["Compress"] is False
    assert media["ViewerProtocolPolicy"] == "redirect-to-https"
    assert "OriginRequestPolicyId" not in media, "S3 needs no viewer headers, cookies or query strings"


def test_media_cache_key_has_no_cookies_or_query_strings_and_honours_long_object_ttls(stack: Synthesized) -> None:
    policy = cache_policy(stack, "/media/*")
    params = policy["ParametersInCacheKeyAndForwardedToOrigin"]
    assert params["CookiesConfig"] == {"CookieBehavior": "none"}
    assert params["QueryStringsConfig"] == {"QueryStringBehavior": "none"}
    assert params["HeadersConfig"] == {"HeaderBehavior": "none"}
    assert params["EnableAcceptEncodingGzip"] is False
    assert params["EnableAcceptEncodingBrotli"] is False
    # A year's MaxTTL: the objects' own Cache-Control (a year, immutable) decides. AWS's managed
    # CachingOptimizedForUncompressedObjects, so no custom policy counts against the account's quota.
    assert policy["MaxTTL"] == 365 * 24 * 3600
    assert (
        behaviors(stack)["/media/*"]["CachePolicyId"]
        == cloudfront.CachePolicy.CACHING_OPTIMIZED_FOR_UNCOMPRESSED_OBJECTS.cache_policy_id
    )
    for meta in media_formats().values():
        assert "max-age=31536000" in meta["cache_control"]
        assert "immutable" in meta["cache_control"]


def test_poster_and_prefix_agree_with_the_api() -> None:
    """The API builds poster and manifest URLs from its own constants (its image has no lib/)."""
    playback = (ROOT / "app" / "backend" / "catalog" / "playback.py").read_text()
    assert f'POSTER = "{POSTER_FILE}"' in playback
    assert f'MEDIA_PREFIX = "/{MEDIA_PREFIX}"' in playback


def test_posters_are_public_and_matched_before_the_signed_behavior(stack: Synthesized) -> None:
    order = [b["PathPattern"] for b in config(stack)["CacheBehaviors"]]
    assert order.index("/media/*/poster.jpg") < order.index("/media/*")
    poster = behaviors(stack)["/media/*/poster.jpg"]
    assert "TrustedKeyGroups" not in poster
    assert poster["TargetOriginId"] == behaviors(stack)["/media/*"]["TargetOriginId"]
    assert poster["AllowedMethods"] == ["GET", "HEAD"]
    assert poster["Compress"] is False


# ---------------------------------------------------------------- signing keys


def test_public_key_comes_from_the_key_pair_resource_and_is_in_the_key_group(stack: Synthesized) -> None:
    key_id, key = by_name(stack, "AWS::CloudFront::PublicKey", f"media-key-1-{SUFFIX}", "PublicKeyConfig")
    encoded = key["Properties"]["PublicKeyConfig"]["EncodedKey"]
    (pair_id, pair) = stack.one("Custom::MediaKeyPair")
    # A literal would put key material in the repository; a dynamic reference is not accepted here.
    assert encoded == {"Fn::GetAtt": [pair_id, "PublicKey"]}
    _, group = by_name(stack, "AWS::CloudFront::KeyGroup", f"media-keys-{SUFFIX}", "KeyGroupConfig")
    assert group["Properties"]["KeyGroupConfig"]["Items"] == [{"Ref": key_id}]
    (secret_id, _) = by_name_secret(stack, f"media-signing-key-1-{SUFFIX}")
    assert pair["Properties"] == {
        "ServiceToken": pair["Properties"]["ServiceToken"],
        "SecretArn": {"Ref": secret_id},
        "Generation": "1",
    }


def by_name_secret(stack: Synthesized, name: str) -> tuple[str, dict[str, Any]]:
    (found,) = [(k, v) for k, v in stack.of_type("AWS::SecretsManager::Secret").items() if v["Properties"]["Name"] == name]
    return found


def test_no_key_material_in_the_template_or_the_repository(stack: Synthesized) -> None:
    assert "PRIVATE KEY" not in stack.dumps()
    assert "BEGIN PUBLIC KEY" not in stack.dumps()
    pem_header = "-----BEGIN" + " [A-Z ]*PRIVATE KEY-----"  # split, so this file does not match itself
    tracked = subprocess.run(["git", "grep", "-l", "-e", pem_header], cwd=ROOT, capture_output=True, text=True)
    assert tracked.stdout.split() == [], "a private key is committed"
    _, secret = by_name_secret(stack, f"media-signing-key-1-{SUFFIX}")
    assert "SecretString" not in secret["Properties"]


def test_only_the_api_task_role_can_read_the_signing_key(stack: Synthesized) -> None:
    secret_id, _ = by_name_secret(stack, f"media-signing-key-1-{SUFFIX}")
    task_role = backend_task_role(stack)
    readers = {role for role, s in statements_on(stack, {"Ref": secret_id}) if "secretsmanager:GetSecretValue" in s["Action"]}
    assert readers == {task_role}
    (grant,) = [s for role, s in statements_on(stack, {"Ref": secret_id}) if role == task_role]
    assert grant["Sid"] == "ReadMediaSigningKey"
    assert grant["Action"] == "secretsmanager:GetSecretValue"
    assert grant["Resource"] == {"Ref": secret_id}
    (policy,) = [
        p
        for p in stack.of_type("AWS::SecretsManager::ResourcePolicy").values()
        if p["Properties"]["SecretId"] == {"Ref": secret_id}
    ]
    (deny,) = policy["Properties"]["ResourcePolicy"]["Statement"]
    assert deny["Effect"] == "Deny"
    assert deny["Action"] == "secretsmanager:GetSecretValue"
    assert deny["Principal"] == {"AWS": "*"}
    assert deny["Condition"] == {"ArnNotEquals": {"aws:PrincipalArn": {"Fn::GetAtt": [task_role, "Arn"]}}}
    # The key-pair function writes the key and cannot read it back.
    function = next(
        v
        for v in stack.of_type("AWS::Lambda::Function").values()
        if v["Properties"].get("FunctionName") == f"media-key-pair-{SUFFIX}"
    )
    writer_role = function["Properties"]["Role"]["Fn::GetAtt"][0]
    writer = [s for role, s in statements_on(stack, {"Ref": secret_id}) if role == writer_role]
    assert writer
    assert all("secretsmanager:GetSecretValue" not in s["Action"] for s in writer)
    assert "secretsmanager:PutSecretValue" in writer[0]["Action"]


def test_backend_signs_with_the_current_generation(stack: Synthesized) -> None:
    env = backend_environment(stack)
    secret_id, _ = by_name_secret(stack, f"media-signing-key-1-{SUFFIX}")
    key_id, _ = by_name(stack, "AWS::CloudFront::PublicKey", f"media-key-1-{SUFFIX}", "PublicKeyConfig")
    assert env["MEDIA_SIGNING_SECRET_ARN"] == {"Ref": secret_id}
    assert env["MEDIA_KEY_PAIR_ID"] == {"Ref": key_id}
    assert "MEDIA_BASE_URL" in env, "the cookie policy names the CloudFront URL (SSM parameter)"


def test_during_a_rotation_both_keys_are_trusted_and_the_new_one_signs(tuned: Synthesized) -> None:
    _, group = tuned.one("AWS::CloudFront::KeyGroup")
    keys = {by_name(tuned, "AWS::CloudFront::PublicKey", f"media-key-{g}-{SUFFIX}", "PublicKeyConfig")[0] for g in (1, 2)}
    assert {item["Ref"] for item in group["Properties"]["KeyGroupConfig"]["Items"]} == keys
    assert len(tuned.of_type("Custom::MediaKeyPair")) == 2
    env = backend_environment(tuned)
    new_secret, _ = by_name_secret(tuned, f"media-signing-key-2-{SUFFIX}")
    new_key, _ = by_name(tuned, "AWS::CloudFront::PublicKey", f"media-key-2-{SUFFIX}", "PublicKeyConfig")
    assert env["MEDIA_SIGNING_SECRET_ARN"] == {"Ref": new_secret}
    assert env["MEDIA_KEY_PAIR_ID"] == {"Ref": new_key}


@pytest.mark.parametrize(
    "generations",
    [(), (0,), (2, 1), (1, 1), (1, 2, 3)],
)
def test_bad_key_generations_fail_synth_with_what_is_allowed(generations: tuple[int, ...]) -> None:
    with pytest.raises(ConfigError, match="mediaKeyGenerations must be 1 or 2 ascending positive integers"):
        PlatformConfig(environment_suffix=SUFFIX, media_key_generations=generations)


def test_key_generations_from_context() -> None:
    assert from_context({"mediaKeyGenerations": "1, 2"}.get, {}).media_key_generations == (1, 2)
    assert from_context({"mediaKeyGenerations": [3]}.get, {}).media_key_generations == (3,)
    with pytest.raises(ConfigError, match="mediaKeyGenerations must be 1 or 2 ascending positive integers"):
        from_context({"mediaKeyGenerations": "2,1"}.get, {})


def test_key_pair_function_logs_30_days_and_runs_a_current_runtime(stack: Synthesized) -> None:
    (function,) = [
        v
        for v in stack.of_type("AWS::Lambda::Function").values()
        if v["Properties"].get("FunctionName") == f"media-key-pair-{SUFFIX}"
    ]
    group = function["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
    assert stack.resources[group]["Properties"]["RetentionInDays"] == 30
    assert stack.resources[group]["DeletionPolicy"] == "Delete"
    assert function["Properties"]["Runtime"] == "nodejs24.x"


def test_key_pair_handler_creates_a_matching_pair_and_stores_only_the_private_key() -> None:
    script = f"""
import {{ onEvent }} from '{(KEY_PAIR_FUNCTION_DIR / "index.mjs").as_posix()}';
import {{ createPrivateKey, createPublicKey, sign, verify }} from 'node:crypto';
const stored = [];
const put = async (arn, value) => stored.push([arn, value]);
const created = await onEvent({{ RequestType: 'Create', ResourceProperties: {{ SecretArn: 'arn:s', Generation: '1' }} }}, put);
const [[arn, privatePem]] = stored;
const sig = sign('sha1', Buffer.from('policy'), createPrivateKey(privatePem));
let updateError = null;
try {{ await onEvent({{ RequestType: 'Update', OldResourceProperties: {{ Generation: '1' }}, ResourceProperties: {{}} }}, put); }}
catch (e) {{ updateError = e.message; }}
const deleted = await onEvent({{ RequestType: 'Delete', PhysicalResourceId: 'media-key-pair-1', ResourceProperties: {{}} }}, put);
console.log(JSON.stringify({{
  arn, physicalId: created.PhysicalResourceId, dataKeys: Object.keys(created.Data),
  publicIsPem: created.Data.PublicKey.startsWith('-----BEGIN PUBLIC KEY-----'),
  bits: createPublicKey(created.Data.PublicKey).asymmetricKeyDetails.modulusLength,
  matches: verify('sha1', Buffer.from('policy'), createPublicKey(created.Data.PublicKey), sig),
  privateInData: JSON.stringify(created).includes('PRIVATE'),
  puts: stored.length, updateError, deleted,
}}));
"""
    out = subprocess.run(["node", "--input-type=module", "-e", script], capture_output=True, text=True, check=True).stdout
    result = json.loads(out)
    assert result["arn"] == "arn:s"
    assert result["physicalId"] == "media-key-pair-1"
    assert result["dataKeys"] == ["PublicKey"]
    assert result["publicIsPem"] is True
    assert result["bits"] == 2048  # CloudFront accepts RSA 2048 (or ECDSA P-256)
    assert result["matches"] is True
    assert result["privateInData"] is False
    assert result["puts"] == 1, "Update and Delete must not write a new key"
    assert "immutable" in result["updateError"]
    assert result["deleted"] == {"PhysicalResourceId": "media-key-pair-1", "Data": {}}


# ---------------------------------------------------------------- demo media


def test_demo_media_is_deployed_with_content_type_and_cache_control_without_pruning(stack: Synthesized) -> None:
    bucket = {"Ref": media_bucket(stack)}
    deployments = [
        v["Properties"]
        for v in stack.of_type("Custom::CDKBucketDeployment").values()
        if v["Properties"]["DestinationBucketName"] == bucket
    ]
    formats = media_formats()
    assert sorted(d["Include"][0] for d in deployments) == sorted(f"*.{ext}" for ext in formats)
    for d in deployments:
        ext = d["Include"][0].removeprefix("*.")
        assert d["Exclude"] == ["*"]
        assert d["DestinationBucketKeyPrefix"] == "media/"
        assert d["SystemMetadata"] == {
            "content-type": formats[ext]["content_type"],
            "cache-control": formats[ext]["cache_control"],
        }
        # Pruning would delete what operators published into the same bucket.
        assert d["Prune"] is False
    # Their function (aws-cdk-lib's) logs to a 30-day, destroyable group.
    (token,) = {d["ServiceToken"]["Fn::GetAtt"][0] for d in deployments}
    group = stack.resources[token]["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
    assert stack.resources[group]["Properties"]["RetentionInDays"] == 30
    assert stack.resources[group]["DeletionPolicy"] == "Delete"


def test_demo_media_asset_holds_every_seeded_package(stack: Synthesized) -> None:
    demo = json.loads(DEMO_MANIFEST.read_text())["videos"]
    assert len(demo) >= 2
    for video in demo:
        package = DEMO_MEDIA_DIR / str(video["id"]) / video["version"]
        assert (package / "master.m3u8").is_file()
        assert (package / "poster.jpg").is_file()
    # The deployed asset is that directory.
    deployment = next(
        v for v in stack.of_type("Custom::CDKBucketDeployment").values() if v["Properties"].get("Include") == ["*.m3u8"]
    )
    (key,) = deployment["Properties"]["SourceObjectKeys"]
    staged = stack.assembly_dir / f"asset.{key.removesuffix('.zip')}"
    if staged.is_dir():
        names = {str(p.relative_to(staged)) for p in staged.rglob("*") if p.is_file()}
    else:
        names = set(zipfile.ZipFile(stack.assembly_dir / key).namelist())
    for video in demo:
        assert f"{video['id']}/{video['version']}/master.m3u8" in names
    total = sum(p.stat().st_size for p in DEMO_MEDIA_DIR.rglob("*") if p.is_file())
    assert total < 10_000_000, f"demo media should stay a few MB, is {total / 1e6:.1f} MB"


def test_outputs_name_the_media_bucket_and_key_group(stack: Synthesized) -> None:
    outputs = stack.json["Outputs"]
    assert outputs["MediaBucketName"]["Value"] == {"Ref": media_bucket(stack)}
    key_group, _ = stack.one("AWS::CloudFront::KeyGroup")
    assert outputs["MediaKeyGroupId"]["Value"] == {"Ref": key_group}
