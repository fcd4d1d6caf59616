"""The Makefile's deploying targets, as `make -n` prints them: every deploy synthesizes once with the environment's
profile, runs the quota preflight on that template, and deploys that same assembly."""

from __future__ import annotations

import re
import subprocess

import pytest

from tests.unit.support import ROOT

DEPLOYING_TARGETS = ("deploy", "edge-secrets-switch", "edge-secrets-finish")


def dry_run(*args: str) -> str:
    result = subprocess.run(["make", "-n", *args], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True)
    return result.stdout


@pytest.mark.parametrize("target", DEPLOYING_TARGETS)
def test_every_deploy_checks_quotas_on_the_template_it_deploys(target: str) -> None:
    out = dry_run(target, "SUFFIX=pr1", "PROFILE=lean", "QUOTA_ARGS=--quota EIP=10")
    synth = re.search(r"cdk synth --quiet --context environmentSuffix=pr1 --context profile=lean \$edge \$live TapStackpr1;", out)
    preflight = re.search(
        r"account_quotas\.py preflight --suffix pr1 --template cdk\.out/TapStackpr1\.template\.json --quota EIP=10;", out
    )
    deploy = re.search(r"cdk deploy --app cdk\.out TapStackpr1 --require-approval never", out)
    assert synth and preflight and deploy, out
    assert synth.start() < preflight.start() < deploy.start()
    # No other deploy of the environment (one that would synthesize again, unchecked).
    assert len(re.findall(r"cdk deploy .*TapStackpr1", out)) == 1


def test_without_profile_the_apps_default_is_used() -> None:
    out = dry_run("deploy", "SUFFIX=pr1")
    assert "cdk synth --quiet --context environmentSuffix=pr1  $edge" in out and "profile=" not in out


def test_destroy_and_template_diff_take_the_profile() -> None:
    assert "cdk destroy TapStackpr1 --context environmentSuffix=pr1 --context profile=lean --force" in dry_run(
        "destroy", "SUFFIX=pr1", "PROFILE=lean"
    )
    assert """CDK_CONTEXT_JSON='{"profile": "lean"}'""" in dry_run("template-diff", "SUFFIX=pr1", "PROFILE=lean")
