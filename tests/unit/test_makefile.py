"""The Makefile's deploying targets, as `make -n` prints them: every deploy synthesizes once with the environment's
profile, runs the quota preflight on that template, and deploys that same assembly."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from tests.unit.support import ROOT

DEPLOYING_TARGETS = ("deploy", "edge-secrets-switch", "edge-secrets-finish")


def dry_run(*args: str) -> str:
    result = subprocess.run(["make", "-n", *args], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True)
    return result.stdout


@pytest.mark.parametrize("target", DEPLOYING_TARGETS)
def test_every_deploy_checks_quotas_on_the_template_it_deploys(target: str) -> None:
    out = dry_run(target, "SUFFIX=pr1", "PROFILE=lean", "QUOTA_ARGS=--quota EIP=10")
    synth = re.search(
        r"cdk synth --quiet --output cdk\.out/deploy-pr1 --context environmentSuffix=pr1 --context profile=lean\s+"
        r"\$edge \$live TapStackpr1;",
        out,
    )
    preflight = re.search(
        r"account_quotas\.py preflight --suffix pr1 --template cdk\.out/deploy-pr1/TapStackpr1\.template\.json --quota EIP=10;",
        out,
    )
    deploy = re.search(r"cdk deploy --app cdk\.out/deploy-pr1 TapStackpr1\n", out)
    assert synth and preflight and deploy, out
    assert synth.start() < preflight.start() < deploy.start()
    # No other deploy of the environment (one that would synthesize again, unchecked).
    assert len(re.findall(r"cdk deploy .*TapStackpr1", out)) == 1


def test_without_profile_the_apps_default_is_used() -> None:
    out = dry_run("deploy", "SUFFIX=pr1")
    assert re.search(r"cdk synth --quiet --output cdk\.out/deploy-pr1 --context environmentSuffix=pr1\s+\$edge", out), out
    assert "profile=" not in out


def test_more_context_reaches_the_synthesis_a_deploy_checks() -> None:
    out = dry_run("deploy", "SUFFIX=pr1", "CONTEXT=--context imageTag=3f2c1ab")
    assert re.search(
        r"cdk synth --quiet --output cdk\.out/deploy-pr1 --context environmentSuffix=pr1\s+--context imageTag=3f2c1ab\s+\$edge",
        out,
    ), out


def test_destroy_and_template_diff_take_the_profile() -> None:
    destroy = dry_run("destroy", "SUFFIX=pr1", "PROFILE=lean")
    assert re.search(r"cdk destroy TapStackpr1 --context environmentSuffix=pr1 --context profile=lean\s+--force", destroy)
    assert """CDK_CONTEXT_JSON='{"profile": "lean"}'""" in dry_run("template-diff", "SUFFIX=pr1", "PROFILE=lean")


def test_the_cost_comparison_names_both_profiles_whatever_the_suffix() -> None:
    """A pull-request suffix defaults to lean (lib/config.py default_profile): the production column must say so."""
    out = dry_run("cost", "SUFFIX=pr1")
    assert re.search(
        r"cdk synth .*--context environmentSuffix=pr1 --context profile=production --output cdk\.out/production", out
    ), out
    assert re.search(r"cdk synth .*--context environmentSuffix=pr1 --context profile=lean --output cdk\.out/lean", out), out


def fake(directory: Path, name: str, exit_code: int) -> str:
    """A stand-in command that logs its arguments (one line) and exits with `exit_code`."""
    path = directory / name
    path.write_text(f'#!/bin/sh\necho "{name} $*" >> "{directory}/calls.log"\nexit {exit_code}\n')
    path.chmod(0o755)
    return str(path)


@pytest.mark.parametrize(("preflight_exit", "deployed"), [(0, True), (3, False)])
def test_a_refused_preflight_stops_the_deploy(tmp_path: Path, preflight_exit: int, deployed: bool) -> None:
    """`make deploy` run for real with stand-ins for the CDK CLI and the scripts: a preflight refusal (exit 3) stops
    the recipe before `cdk deploy`; a pass goes on to deploy the checked assembly and write the outputs."""
    ok = fake(tmp_path, "ok", 0)
    stand_ins = {"CDK": ok, "EDGE": ok, "BLUE_GREEN": ok, "PY": ok, "QUOTAS": fake(tmp_path, "quotas", preflight_exit)}
    args = ["make", "--no-print-directory", "-o", "install", "-o", "account-setup", "deploy", "SUFFIX=pr1"]
    result = subprocess.run(
        [*args, *(f"{k}={v}" for k, v in stand_ins.items())], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    calls = (tmp_path / "calls.log").read_text().splitlines()
    assert (result.returncode == 0) is deployed, result.stderr
    assert calls[2].startswith("ok synth --quiet --output cdk.out/deploy-pr1") and calls[3].startswith("quotas preflight")
    assert any(c.startswith("ok deploy --app cdk.out/deploy-pr1 TapStackpr1") for c in calls) is deployed
    assert any("flatten_outputs.py" in c for c in calls) is deployed


# What `npx cdk` runs: bin/cdk requires the package's bundled lib/index.js.
CLI_SOURCE = ROOT / "node_modules" / "aws-cdk" / "lib" / "index.js"


def test_every_cdk_deploy_is_non_interactive_and_writes_its_outputs_by_cdk_json() -> None:
    """The pipeline runs a plain `cdk deploy --context environmentSuffix=pr123`: with no TTY, the CLI's default
    approval level stops a first deploy (IAM changes) and exits 1, and no outputs file is written. cdk.json settles
    both for every deploy of the app, the Makefile's included (which restates neither)."""
    settings = json.loads((ROOT / "cdk.json").read_text())
    assert settings["requireApproval"] == "never"
    assert settings["outputsFile"] == "cfn-outputs/all-outputs.json"
    # The pinned CLI reads both keys from its configuration (cdk.json), as spelled here.
    cli = CLI_SOURCE.read_text()
    for key in ("requireApproval", "outputsFile"):
        assert f'settings.get(["{key}"])' in cli, f"the pinned CDK CLI no longer reads {key} from cdk.json"
    out = dry_run("deploy", "SUFFIX=pr1")
    assert "--require-approval" not in out and "--outputs-file" not in out, out
    assert f"flatten_outputs.py --cdk-outputs {settings['outputsFile']} --stack-name TapStackpr1" in out, out
