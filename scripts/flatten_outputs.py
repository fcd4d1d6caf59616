#!/usr/bin/env python3
"""Write cfn-outputs/flat-outputs.json (output key → value) for the integration tests.

Two sources:
  from the file `cdk deploy --outputs-file` wrote ({"TapStackpr123": {"Key": "Value", ...}}):
      python scripts/flatten_outputs.py --cdk-outputs cfn-outputs/all-outputs.json [--stack-name TapStackpr123]
  from CloudFormation, for a stack that is already deployed (boto3 describe_stacks):
      python scripts/flatten_outputs.py --stack-name TapStackpr123 [--region ap-southeast-1]

Exit codes: 0 written; 2 bad input (missing/invalid file, unknown or missing stack,
no outputs); 1 any other AWS error (credentials, network).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from lib.contract import REGION  # noqa: E402  (the repository root is put on the path first)
from scripts.cli import EXIT_AWS, EXIT_INPUT, AwsError, exits_on  # noqa: E402

DEFAULT_OUTPUT = Path("cfn-outputs/flat-outputs.json")


class OutputsError(Exception):
    """Bad input: the message says what was wrong and what is expected. Exit code 2."""


def _flat(outputs: Mapping[str, Any], source: str) -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in outputs.items():
        if isinstance(value, dict | list):
            raise OutputsError(f"{source}: output {key!r} is not a scalar value ({type(value).__name__})")
        flat[str(key)] = "" if value is None else str(value)
    return flat


def flatten_cdk_outputs(document: Any, stack_name: str | None = None) -> dict[str, str]:
    """The outputs of one stack from a `cdk deploy --outputs-file` document.

    With `stack_name` that stack is taken; without it the document must hold exactly one stack.
    """
    if not isinstance(document, dict) or not all(isinstance(v, dict) for v in document.values()):
        raise OutputsError('expected a cdk outputs document {"<StackName>": {"<OutputKey>": "<value>", ...}}')
    if stack_name is not None:
        if stack_name not in document:
            raise OutputsError(
                f"stack {stack_name} not in the cdk outputs; stacks present: {', '.join(sorted(document)) or 'none'}"
            )
        chosen = stack_name
    elif len(document) == 1:
        chosen = next(iter(document))
    else:
        raise OutputsError(
            f"the cdk outputs hold {len(document)} stacks ({', '.join(sorted(document)) or 'none'}); choose one with --stack-name"
        )
    outputs = _flat(document[chosen], f"stack {chosen}")
    if not outputs:
        raise OutputsError(f"stack {chosen} has no outputs in the cdk outputs file")
    return outputs


def flatten_stack_description(stack: Mapping[str, Any]) -> dict[str, str]:
    """The outputs of one stack of a describe_stacks response (`Outputs: [{OutputKey, OutputValue}]`)."""
    name = stack.get("StackName", "?")
    entries = stack.get("Outputs") or []
    if not entries:
        raise OutputsError(f"stack {name} has no outputs (status {stack.get('StackStatus', 'unknown')})")
    return _flat({e["OutputKey"]: e.get("OutputValue") for e in entries}, f"stack {name}")


def read_cdk_outputs(path: Path, stack_name: str | None = None) -> dict[str, str]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise OutputsError(f"cannot read cdk outputs file {path}: {error.strerror or error}") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise OutputsError(f"{path} is not valid JSON: {error}") from None
    try:
        return flatten_cdk_outputs(document, stack_name)
    except OutputsError as error:
        raise OutputsError(f"{path}: {error}") from None


def describe_stack_outputs(cloudformation: Any, stack_name: str) -> dict[str, str]:
    """Outputs of a deployed stack through `describe_stacks` (a boto3 CloudFormation client)."""
    from botocore.exceptions import BotoCoreError, ClientError

    region = cloudformation.meta.region_name
    try:
        response = cloudformation.describe_stacks(StackName=stack_name)
    except ClientError as error:
        message = error.response.get("Error", {}).get("Message", "")
        if error.response.get("Error", {}).get("Code") == "ValidationError" and "does not exist" in message:
            raise OutputsError(
                f"stack {stack_name} not found in {region} (deploy it first: make deploy SUFFIX=<suffix>)"
            ) from None
        raise AwsError(f"describe_stacks({stack_name}) in {region} failed: {error}") from None
    except BotoCoreError as error:
        raise AwsError(f"describe_stacks({stack_name}) in {region} failed: {error}") from None
    stacks = response.get("Stacks", [])
    if not stacks:
        raise OutputsError(f"stack {stack_name} not found in {region}")
    return flatten_stack_description(stacks[0])


def write_outputs(path: Path, outputs: Mapping[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(dict(sorted(outputs.items())), indent=2) + "\n", encoding="utf-8")


def default_client_factory(region: str) -> Any:
    import boto3

    return boto3.session.Session().client("cloudformation", region_name=region)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Write the flat stack outputs file (key → value) the integration tests read.",
    )
    parser.add_argument(
        "--cdk-outputs",
        type=Path,
        metavar="FILE",
        help="the file `cdk deploy --outputs-file` wrote; without it the outputs come from describe_stacks",
    )
    parser.add_argument(
        "--stack-name", help="the stack (TapStack<suffix>); required without --cdk-outputs, or when the file holds several"
    )
    parser.add_argument("--region", default=REGION, help=f"region of the stack for describe_stacks (default {REGION})")
    parser.add_argument("--output", "-o", type=Path, default=DEFAULT_OUTPUT, help=f"file to write (default {DEFAULT_OUTPUT})")
    args = parser.parse_args(argv)
    if args.cdk_outputs is None and not args.stack_name:
        parser.error("give --cdk-outputs FILE, or --stack-name to read the outputs of a deployed stack")
    return args


@exits_on({OutputsError: ("error", EXIT_INPUT), AwsError: ("error", EXIT_AWS)})
def main(argv: Sequence[str] | None = None, client_factory: Callable[[str], Any] = default_client_factory) -> int:
    args = parse_args(argv)
    if args.cdk_outputs is not None:
        outputs = read_cdk_outputs(args.cdk_outputs, args.stack_name)
    else:
        outputs = describe_stack_outputs(client_factory(args.region), args.stack_name)
    write_outputs(args.output, outputs)
    print(f"wrote {len(outputs)} outputs to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
