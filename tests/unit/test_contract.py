"""The contract of lib/contract.py holds everywhere: outputs, region, suffix rule, parameters, log groups."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Template

from lib.config import ConfigError, PlatformConfig, validate_suffix
from lib.contract import API_PARAMETERS, MAX_SUFFIX_LENGTH, REGION, Names, Output
from lib.parameters import Parameters
from scripts import blue_green, edge_secrets
from tap import build_app, feature_flags
from tests.unit.support import Synthesized

ROOT = Path(__file__).resolve().parents[2]


# ---------------------------------------------------------------- outputs
def test_the_stack_outputs_exactly_the_contract(stack: Synthesized, tuned: Synthesized) -> None:
    """No output missing, none extra (RestApi's generated `Endpoint` output would be extra)."""
    for variant in (stack, tuned):
        outputs = variant.json["Outputs"]
        assert sorted(outputs) == sorted(key.value for key in Output)
        for key in Output:
            assert outputs[key.value]["Description"] == key.description


def test_the_readme_lists_the_contract_outputs() -> None:
    """The README's outputs table is the contract: same keys, same descriptions, same order."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("### Outputs", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `(\w+)` \| (.+?) \|$", section, re.M)
    assert rows == [(key.value, key.description) for key in Output]


# ---------------------------------------------------------------- region
def _string_constants(path: Path) -> list[tuple[int, str]]:
    """String literals of a module that are not docstrings."""
    tree = ast.parse(path.read_text())
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
    ]


def test_the_region_is_written_only_in_the_contract() -> None:
    sources = [ROOT / "tap.py", *sorted((ROOT / "lib").rglob("*.py")), *sorted((ROOT / "scripts").glob("*.py"))]
    sources += [ROOT / "tests" / "integration" / "harness.py"]
    restated = [
        f"{path.relative_to(ROOT)}:{line}"
        for path in sources
        if path != ROOT / "lib" / "contract.py"
        for line, text in _string_constants(path)
        if REGION in text
    ]
    assert restated == [], f"the region is restated (import lib.contract.REGION): {restated}"


# ---------------------------------------------------------------- suffix rule
SUFFIXES = [
    "dev",
    "pr123",
    "a-b-c",
    "a--b",
    "ends-",
    "Upper",
    "1abc",
    "a_b",
    "x" * MAX_SUFFIX_LENGTH,
    "x" * (MAX_SUFFIX_LENGTH + 1),
]


def _stack_accepts(suffix: str) -> bool:
    try:
        validate_suffix(suffix)
    except ConfigError:
        return False
    return True


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_the_scripts_accept_exactly_the_suffixes_the_stack_accepts(suffix: str, capsys: pytest.CaptureFixture[str]) -> None:
    expected = _stack_accepts(suffix)
    for parse_args in (blue_green.parse_args, edge_secrets.parse_args):
        try:
            parse_args(["status", "--suffix", suffix])
        except SystemExit:
            accepted = False
        else:
            accepted = True
        assert accepted == expected, suffix
    capsys.readouterr()


# ---------------------------------------------------------------- parameters
def test_parameters_take_exactly_the_contract_parameters() -> None:
    values = {parameter.env: "x" for parameter in API_PARAMETERS}
    for broken, words in (
        ({k: v for k, v in values.items() if k != "LOG_LEVEL"}, "missing ['LOG_LEVEL']"),
        ({**values, "NEW_SETTING": "1"}, "unknown ['NEW_SETTING']"),
    ):
        with pytest.raises(ValueError, match=re.escape(words)):
            Parameters(cdk.Stack(cdk.App()), "Parameters", names=Names("test"), values=broken)


# ---------------------------------------------------------------- function log groups
def test_a_function_added_after_the_stack_is_built_still_gets_its_log_group() -> None:
    """The log-group fix-up is an Aspect: it sees functions whenever they were added."""
    app = cdk.App(context=feature_flags())
    stack = build_app(app, PlatformConfig(environment_suffix="late"))
    late = lambda_.CfnFunction(
        stack,
        "LateFunction",
        code=lambda_.CfnFunction.CodeProperty(zip_file="def handler(event, context): return None"),
        role="arn:aws:iam::123456789012:role/late",
        handler="index.handler",
        runtime=lambda_.Runtime.PYTHON_3_14.name,
    )
    template = Template.from_stack(stack, skip_cyclical_dependencies_check=True).to_json()
    function = template["Resources"][stack.get_logical_id(late)]
    group_id = function["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
    group = template["Resources"][group_id]
    assert group["Type"] == "AWS::Logs::LogGroup"
    assert group["Properties"]["RetentionInDays"] == 30 and group["DeletionPolicy"] == "Delete"


# ---------------------------------------------------------------- README counts
def _readme_section(title: str) -> str:
    return (ROOT / "README.md").read_text().split(f"### {title}", 1)[1].split("\n#", 1)[0]


def test_the_readme_lists_every_alarm_of_the_stack(stack: Synthesized) -> None:
    suffix = f"-{stack.config.environment_suffix}"
    named = [a["Properties"].get("AlarmName") for a in stack.of_type("AWS::CloudWatch::Alarm").values()]
    expected = sorted(f"{name.removesuffix(suffix)}-<suffix>" for name in named if name)
    section = _readme_section("Alarms and secrets")
    assert sorted(re.findall(r"^\| `(alarm-[\w-]+<suffix>)` \|", section, re.M)) == expected
    words = {12: "Twelve"}
    assert section.lstrip().startswith(f"{words.get(len(expected), len(expected))} alarms")


def test_the_readme_counts_the_secrets(stack: Synthesized) -> None:
    managed = sum(1 for c in stack.of_type("AWS::RDS::DBCluster").values() if c["Properties"].get("ManageMasterUserPassword"))
    count = len(stack.of_type("AWS::SecretsManager::Secret")) + managed
    words = {5: "Five"}
    assert f"{words.get(count, count)} secrets per environment" in _readme_section("Alarms and secrets")


def test_the_readme_lists_the_contract_parameters() -> None:
    section = _readme_section("SSM parameters")
    rows = re.findall(r"^\| `/tap/<suffix>/([\w/-]+)` \| `(\w+)` \|", section, re.M)
    assert rows == [(parameter.path, parameter.env) for parameter in API_PARAMETERS]
