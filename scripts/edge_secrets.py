#!/usr/bin/env python3
"""Rotate the edge secrets with no downtime: origin-verify, the web API key and the blue/green test token.

CloudFormation copies these values into the ALB rules, CloudFront, API Gateway and WAF at deploy
time and resolves a dynamic reference again only when its text changes. Every reference is pinned
to one Secrets Manager version id (context `edgeSecretVersion`, reported by the stack as the
output `EdgeSecretVersion`), and a rotation moves that version in steps:

    python scripts/edge_secrets.py status  --suffix dev   # what is deployed and staged
    python scripts/edge_secrets.py stage   --suffix dev   # 1. new values as version V, label AWSPENDING
    python scripts/edge_secrets.py context --suffix dev --step switch
        # 2. prints `--context edgeSecretVersion=V --context edgeSecretPreviousVersion=<old>` for
        #    `cdk deploy`: the ALB rules and WAF accept old and new, CloudFront and API Gateway send V
    python scripts/edge_secrets.py promote --suffix dev   # 3. AWSCURRENT -> V (AWSPENDING removed)
    python scripts/edge_secrets.py context --suffix dev --step finish
        # 4. prints `--context edgeSecretVersion=V` for `cdk deploy`: only V is accepted
    python scripts/edge_secrets.py context --suffix dev --step keep
        # what any other deploy must pass to keep the deployed version (empty before the first rotation)

`make rotate-edge-secrets SUFFIX=dev` runs the steps with the two deploys. Each step checks that
the previous one is done (exit 3 otherwise), so a rotation that stopped can be resumed.

Exit codes: 0 OK; 1 AWS error; 2 bad input or resources not found; 3 the step does not fit the
current state (the message says which step comes next).
"""

from __future__ import annotations

import argparse
import secrets
import sys
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from lib.config import ConfigError, validate_suffix  # noqa: E402  (the repository root is put on the path first)
from lib.contract import (  # noqa: E402
    EDGE_SECRET_LENGTHS,
    EDGE_SECRET_VERSION_PATTERN,
    EDGE_VERSION_RULE,
    INITIAL_EDGE_VERSION,
    NO_PREVIOUS_EDGE_VERSION,
    REGION,
    Names,
    Output,
)
from scripts.cli import EXIT_AWS, EXIT_INPUT, EXIT_OK, AwsError, InputError, exits_on  # noqa: E402

CURRENT = "AWSCURRENT"
PENDING = "AWSPENDING"
STEPS = ("switch", "finish", "keep")

EXIT_STATE = 3


class StateError(Exception):
    """The step does not fit the current state. Exit code 3."""


def secret_names(suffix: str) -> list[str]:
    """`origin-verify-<suffix>`, `api-key-web-<suffix>`, `blue-green-test-<suffix>`."""
    return [Names(suffix).edge_secret(kind) for kind in EDGE_SECRET_LENGTHS]


def new_value(kind: str) -> str:
    """A random value of the kind's length: lowercase hex, so no ALB wildcard and nothing to escape."""
    length = EDGE_SECRET_LENGTHS[kind]
    return secrets.token_hex(length // 2 + 1)[:length]


# --------------------------------------------------------------------------- reading AWS


@dataclass(frozen=True)
class Deployed:
    """The edge-secret versions of the deployed stack (its outputs)."""

    version: str
    previous: str

    @property
    def switching(self) -> bool:
        return self.previous != NO_PREVIOUS_EDGE_VERSION


@dataclass(frozen=True)
class SecretState:
    name: str
    current: str
    pending: str | None
    versions: frozenset[str]


def _call(client: Any, operation: str, **params: Any) -> dict[str, Any]:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        response: dict[str, Any] = getattr(client, operation)(**params)
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        message = error.response.get("Error", {}).get("Message", "")
        if code == "ResourceNotFoundException" or (code == "ValidationError" and "does not exist" in message):
            raise InputError(f"{operation}: {error}") from error
        raise AwsError(f"{operation}: {error}") from error
    except BotoCoreError as error:
        raise AwsError(f"{operation}: {error}") from error
    return response


def read_deployed(cloudformation: Any, suffix: str) -> Deployed | None:
    """The deployed stack's versions; None when the stack does not exist yet."""
    try:
        stacks = _call(cloudformation, "describe_stacks", StackName=Names(suffix).stack)["Stacks"]
    except InputError:
        return None
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}
    return Deployed(
        outputs.get(Output.EDGE_SECRET_VERSION, INITIAL_EDGE_VERSION),
        outputs.get(Output.EDGE_SECRET_PREVIOUS_VERSION, NO_PREVIOUS_EDGE_VERSION),
    )


def require_deployed(cloudformation: Any, suffix: str) -> Deployed:
    deployed = read_deployed(cloudformation, suffix)
    if deployed is None:
        raise InputError(f"stack {Names(suffix).stack} is not deployed; nothing to rotate (run `make deploy SUFFIX={suffix}`)")
    return deployed


def read_secret(secretsmanager: Any, name: str) -> SecretState:
    response = _call(secretsmanager, "list_secret_version_ids", SecretId=name, MaxResults=100)
    current = pending = None
    versions = set()
    for version in response.get("Versions", []):
        versions.add(version["VersionId"])
        stages = version.get("VersionStages", [])
        if CURRENT in stages:
            current = version["VersionId"]
        if PENDING in stages:
            pending = version["VersionId"]
    if current is None:
        raise InputError(f"secret {name} has no {CURRENT} version")
    return SecretState(name, current, pending, frozenset(versions))


def read_secrets(secretsmanager: Any, suffix: str) -> list[SecretState]:
    return [read_secret(secretsmanager, name) for name in secret_names(suffix)]


def common_pending(states: Sequence[SecretState]) -> str | None:
    """The version staged as AWSPENDING on every secret, None if none is; StateError if they differ."""
    pending = {s.pending for s in states}
    if pending == {None}:
        return None
    if len(pending) == 1:
        return next(iter(pending))
    details = ", ".join(f"{s.name}: {s.pending or 'none'}" for s in states)
    fixes = "; ".join(
        f"aws secretsmanager update-secret-version-stage --secret-id {s.name} --version-stage {PENDING} "
        f"--remove-from-version-id {s.pending}"
        for s in states
        if s.pending
    )
    raise StateError(f"the secrets have different {PENDING} versions ({details}). Clear them and stage again: {fixes}")


# --------------------------------------------------------------------------- commands


def command_status(cloudformation: Any, secretsmanager: Any, args: argparse.Namespace) -> int:
    deployed = require_deployed(cloudformation, args.suffix)
    states = read_secrets(secretsmanager, args.suffix)
    print(f"stack {Names(args.suffix).stack}: edgeSecretVersion {deployed.version}, previous {deployed.previous}")
    for s in states:
        print(f"  {s.name}: {CURRENT} {s.current}, {PENDING} {s.pending or 'none'}")
    pending = common_pending(states)
    if deployed.switching:
        promoted = all(s.current == deployed.version for s in states)
        step = "finish (deploy with only the new version)" if promoted else "promote"
        print(f"switch to {deployed.version} deployed; next step: {step}")
    elif pending:
        print(f"version {pending} staged; next step: switch (deploy with both versions accepted)")
    else:
        print("no rotation in progress")
    return EXIT_OK


def command_stage(cloudformation: Any, secretsmanager: Any, args: argparse.Namespace) -> int:
    deployed = require_deployed(cloudformation, args.suffix)
    if deployed.switching:
        raise StateError(
            f"the switch to {deployed.version} is not finished (previous {deployed.previous} still accepted); "
            "run promote and finish first"
        )
    states = read_secrets(secretsmanager, args.suffix)
    pending = common_pending(states)
    if pending is not None:
        if args.version and args.version != pending:
            raise StateError(f"version {pending} is already staged; switch to it, or clear it before staging {args.version}")
        print(f"version {pending} is already staged on every edge secret; next step: switch")
        return EXIT_OK
    version = args.version or str(uuid.uuid4())
    if version == deployed.version or any(version in s.versions for s in states):
        raise InputError(f"version {version} already exists; a new rotation needs a new version id")
    for state, kind in zip(states, EDGE_SECRET_LENGTHS, strict=True):
        # A new version labelled AWSPENDING only: AWSCURRENT, which any unpinned reference
        # resolves, stays on the live value until every consumer has switched.
        _call(
            secretsmanager,
            "put_secret_value",
            SecretId=state.name,
            ClientRequestToken=version,
            SecretString=new_value(kind),
            VersionStages=[PENDING],
        )
        print(f"{state.name}: new version {version} ({PENDING})")
    print(f"staged {version}; next step: switch")
    return EXIT_OK


def command_promote(cloudformation: Any, secretsmanager: Any, args: argparse.Namespace) -> int:
    deployed = require_deployed(cloudformation, args.suffix)
    if not deployed.switching:
        raise StateError(
            f"no switch is deployed (edgeSecretVersion {deployed.version}, no previous version); "
            "run stage and the switch deploy first"
        )
    version = deployed.version
    states = read_secrets(secretsmanager, args.suffix)
    missing = [s.name for s in states if version not in s.versions]
    if missing:
        raise InputError(f"version {version} does not exist in {', '.join(missing)}")
    for s in states:
        if s.current != version:
            _call(
                secretsmanager,
                "update_secret_version_stage",
                SecretId=s.name,
                VersionStage=CURRENT,
                MoveToVersionId=version,
                RemoveFromVersionId=s.current,
            )
            print(f"{s.name}: {CURRENT} {s.current} -> {version}")
        if s.pending == version:
            _call(
                secretsmanager, "update_secret_version_stage", SecretId=s.name, VersionStage=PENDING, RemoveFromVersionId=version
            )
    print(f"{version} is {CURRENT} on every edge secret; next step: finish")
    return EXIT_OK


def context_args(version: str, previous: str | None = None) -> str:
    args = f"--context edgeSecretVersion={version}"
    return args + (f" --context edgeSecretPreviousVersion={previous}" if previous else "")


def command_context(cloudformation: Any, secretsmanager: Any, args: argparse.Namespace) -> int:
    """Print the `cdk deploy` context arguments of a step (on stdout, alone, for a shell to use)."""
    if args.step == "keep":
        deployed = read_deployed(cloudformation, args.suffix)
        if deployed is None or deployed.version == INITIAL_EDGE_VERSION:
            print("")
        else:
            print(context_args(deployed.version, deployed.previous if deployed.switching else None))
        return EXIT_OK
    deployed = require_deployed(cloudformation, args.suffix)
    states = read_secrets(secretsmanager, args.suffix)
    if args.step == "switch":
        pending = common_pending(states)
        if deployed.switching and pending in (None, deployed.version):
            # The switch is deployed already (a resumed rotation): the same arguments again.
            print(context_args(deployed.version, deployed.previous))
            return EXIT_OK
        if deployed.switching:
            raise StateError(f"the switch to {deployed.version} is not finished; run promote and finish first")
        if pending is None:
            raise StateError("no new version is staged; run stage first")
        print(context_args(pending, deployed.version))
        return EXIT_OK
    # finish
    if not deployed.switching:
        raise StateError(f"no switch is deployed (edgeSecretVersion {deployed.version}); nothing to finish")
    behind = [s.name for s in states if s.current != deployed.version]
    if behind:
        raise StateError(f"{', '.join(behind)}: {CURRENT} is not {deployed.version} yet; run promote first")
    print(context_args(deployed.version))
    return EXIT_OK


COMMANDS = {"status": command_status, "stage": command_stage, "promote": command_promote, "context": command_context}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="edge_secrets.py", description=__doc__.split("\n\n")[0])
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--suffix", required=True, help="environment suffix of the stack, e.g. dev or pr123")
    common.add_argument("--region", default=REGION, help=f"AWS region (default {REGION})")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("status", parents=[common], help="deployed and staged versions, and the next step")
    stage = commands.add_parser("stage", parents=[common], help="put new values as a new version labelled AWSPENDING")
    stage.add_argument("--version", help=f"version id to use (default: a new UUID); {EDGE_VERSION_RULE}")
    commands.add_parser("promote", parents=[common], help="after the switch deploy: move AWSCURRENT to the new version")
    context = commands.add_parser("context", parents=[common], help="print the cdk deploy context arguments of a step")
    context.add_argument("--step", required=True, choices=STEPS)
    args = parser.parse_args(argv)
    try:
        validate_suffix(args.suffix)
    except ConfigError as error:
        parser.error(str(error))
    version = getattr(args, "version", None)
    if version is not None and not EDGE_SECRET_VERSION_PATTERN.match(version):
        parser.error(f"--version must be {EDGE_VERSION_RULE}; got {version!r}")
    return args


@exits_on({InputError: ("error", EXIT_INPUT), StateError: ("not now", EXIT_STATE), AwsError: ("AWS error", EXIT_AWS)})
def main(argv: Sequence[str] | None = None, *, cloudformation: Any = None, secretsmanager: Any = None) -> int:
    """Run one command. Tests pass stubbed clients; otherwise boto3 creates them."""
    args = parse_args(argv)
    if cloudformation is None or secretsmanager is None:
        import boto3

        cloudformation = cloudformation or boto3.client("cloudformation", region_name=args.region)
        secretsmanager = secretsmanager or boto3.client("secretsmanager", region_name=args.region)
    return COMMANDS[args.command](cloudformation, secretsmanager, args)


if __name__ == "__main__":
    sys.exit(main())
