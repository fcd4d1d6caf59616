"""What the unit tests share: the synthesized variants (one synthesis per distinct configuration
per test process) and the configuration values the variants are built from.

Fixtures live in conftest.py; tests import helpers and constants from here, never from conftest.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template

import tap
from lib.config import AlarmThresholds, PlatformConfig, ServiceSize, from_context
from lib.contract import MAX_SUFFIX_LENGTH
from tap import build_app, feature_flags
from tests.unit.cfn_lint import CfnLint

ROOT = Path(__file__).resolve().parents[2]

SUFFIX = "test"
ORIGIN_DOMAIN = "origin.media.example.com"
CERTIFICATE_ARN = "arn:aws:acm:ap-southeast-1:123456789012:certificate/0f1e2d3c-4b5a-6978-8695-a4b3c2d1e0f9"


class Synthesized:
    """A synthesized stack: the assertions `Template` plus the raw template dict."""

    def __init__(self, config: PlatformConfig) -> None:
        # The same feature flags as `cdk synth`: they change the template.
        app = cdk.App(context=feature_flags())
        self.config = config
        self.stack = build_app(app, config)
        # Template.from_stack runs the cdk-nag validation plugin: an
        # unacknowledged finding raises here and fails every test of the variant.
        self.template = Template.from_stack(self.stack)
        self.json: dict[str, Any] = dict(self.template.to_json())
        self.resources: dict[str, dict[str, Any]] = self.json["Resources"]
        self.assembly_dir = Path(app.synth().directory)
        self._cfn_lint: CfnLint | None = None

    def cfn_lint(self) -> CfnLint:
        """cfn-lint over this template, started on the first call: the fixtures that lint a variant start it
        when they synthesize it, so it runs while the tests go on."""
        if self._cfn_lint is None:
            self._cfn_lint = CfnLint(self.json, self.assembly_dir / "cfn-lint.template.json")
        return self._cfn_lint

    def asset_manifest(self) -> dict[str, Any]:
        manifest: dict[str, Any] = json.loads((self.assembly_dir / f"{self.stack.stack_name}.assets.json").read_text())
        return manifest

    def of_type(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.resources.items() if v["Type"] == resource_type}

    def one(self, resource_type: str) -> tuple[str, dict[str, Any]]:
        found = self.of_type(resource_type)
        assert len(found) == 1, f"expected one {resource_type}, found {sorted(found)}"
        return next(iter(found.items()))

    def logical_id(self, resource_type: str, **properties: Any) -> str:
        """The logical id of the one resource of `resource_type` whose properties include `properties`.

        Tests find resources this way (or by construct path), never by a hashed logical id: only the pin
        table in test_database.py names those.
        """
        found = [
            key
            for key, resource in self.of_type(resource_type).items()
            if all(resource.get("Properties", {}).get(name) == value for name, value in properties.items())
        ]
        assert len(found) == 1, f"expected one {resource_type} with {properties}, found {sorted(found)}"
        return found[0]

    def dumps(self) -> str:
        return json.dumps(self.json)


_cache: dict[tuple[tuple[str, Any], ...], Synthesized] = {}


def synthesize(**overrides: Any) -> Synthesized:
    """The stack of `PlatformConfig(environment_suffix=SUFFIX, **overrides)`, synthesized once per process."""
    key = tuple(sorted(overrides.items()))
    if key not in _cache:
        _cache[key] = Synthesized(PlatformConfig(**{"environment_suffix": SUFFIX, **overrides}))
    return _cache[key]


def lean_overrides() -> dict[str, Any]:
    """The PlatformConfig fields the lean profile sets, as `from_context` builds them."""
    lean = from_context({"profile": "lean"}.get, {})
    base = from_context(dict[str, str]().get, {})
    return {f: getattr(lean, f) for f in lean.__dataclass_fields__ if getattr(lean, f) != getattr(base, f)}


# One variant that moves every setting the tests check away from its default,
# so all "comes from config" assertions share a single synthesis.
TUNED: dict[str, Any] = {
    "nat_gateways": 1,
    "db_instance_class": "t4g.medium",
    "backend": ServiceSize(1024, 2048),
    "frontend": ServiceSize(512, 1024),
    "backend_request_scaling": True,
    "backend_requests_per_target": 500,
    "bake_time_minutes": 15,
    "log_level": "DEBUG",
    "cache_max_age_seconds": 120,
    "image_tag": "3f2c1ab",
    "price_class": "PriceClass_100",
    "alarm_email": "oncall@example.com",
    "alarms": AlarmThresholds(db_cpu_percent=70, p99_latency_seconds=0.5),
    "api_throttle_rate": 750,
    "api_throttle_burst": 300,
    "partner_quota_per_day": 2500,
    "per_ip_limit_per_minute": 200,
    # A signing-key rotation under way: generation 1 still trusted, 2 signing.
    "media_key_generations": (1, 2),
    "certificate_arn": CERTIFICATE_ARN,
    "domain_name": ORIGIN_DOMAIN,
}

# The longest suffix the configuration accepts, with a hyphen and digits in it.
LONGEST_SUFFIX = ("p-" + "9" * MAX_SUFFIX_LENGTH)[:MAX_SUFFIX_LENGTH]
# The variant with that suffix also states a blue/green live context (frontend production on green, as after
# a release), so one synthesis serves the naming tests and the blue/green one: the context moves listener-rule
# weights and changes no name.
BLUE_GREEN_LIVE = (("frontend", "green"),)
LONGEST_SUFFIX_VARIANT: dict[str, Any] = {"environment_suffix": LONGEST_SUFFIX, "blue_green_live": BLUE_GREEN_LIVE}


# What every bucket of the platform sets: no public ACL or policy, ever.
BLOCK_ALL_PUBLIC_ACCESS = {
    "BlockPublicAcls": True,
    "BlockPublicPolicy": True,
    "IgnorePublicAcls": True,
    "RestrictPublicBuckets": True,
}


def run_tap(context: dict[str, str], outdir: str) -> subprocess.CompletedProcess[str]:
    """`python tap.py` as `cdk synth --no-validation` (`make synth`) runs it: `context` in CDK_CONTEXT_JSON, the
    output folder in CDK_OUTDIR, CDK_VALIDATION=false (the variants the tests synthesize in-process keep the
    built-in validator; tests/unit/test_synth_validation.py)."""
    env = dict(os.environ, CDK_CONTEXT_JSON=json.dumps(context), CDK_OUTDIR=outdir, CDK_VALIDATION="false")
    return subprocess.run([sys.executable, "tap.py"], cwd=ROOT, env=env, capture_output=True, text=True, check=False)


def run_tap_main(context: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> int:
    """`tap.main()` in this process, `context` added to the app's context as CDK_CONTEXT_JSON adds it for
    `python tap.py` (test_account_setup.py runs that path as a subprocess). CDK_OUTDIR is set, as the CLI sets
    it, so main() does not pick ./cdk.out."""
    monkeypatch.setattr(tap, "feature_flags", lambda: {**feature_flags(), **context})
    monkeypatch.setenv("CDK_OUTDIR", "/nonexistent")
    return tap.main()
