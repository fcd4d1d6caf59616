"""Session fixtures: the synthesized template, look-alike bases, and the two images built once."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from scripts import container_bases
from tests.containers.harness import (
    BASE_ARGS,
    IMAGES,
    REPO,
    TIMINGS,
    BuildSettings,
    TaskContainer,
    build_image,
    host_build_settings,
    podman,
    task_containers,
)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if TIMINGS:
        terminalreporter.section("container timings (s)")
        for key, value in TIMINGS.items():
            terminalreporter.write_line(f"{key:<28}{value:8.1f}")


@pytest.fixture(scope="session")
def template() -> dict[str, Any]:
    suffix = os.environ.get("SUFFIX") or os.environ.get("ENVIRONMENT_SUFFIX") or "dev"
    path = Path(os.environ.get("TAP_TEMPLATE", REPO / "cdk.out" / f"TapStack{suffix}.template.json"))
    assert path.is_file(), f"{path} is missing: run `make synth` first (make test-containers does)"
    return dict(json.loads(path.read_text()))


@pytest.fixture(scope="session")
def specs(template: dict[str, Any]) -> dict[str, TaskContainer]:
    found = task_containers(template)
    assert set(found) == set(IMAGES), f"task definitions in the template: {sorted(found)}"
    return found


@pytest.fixture(scope="session")
def bases() -> dict[str, str]:
    start = time.monotonic()
    log: list[str] = []
    images = {base.arg: container_bases.ensure(base, log) for base in container_bases.bases()}
    TIMINGS["look-alike bases"] = time.monotonic() - start
    print("\n".join(log))
    return images


@pytest.fixture(scope="session")
def build_settings(tmp_path_factory: pytest.TempPathFactory) -> BuildSettings:
    return host_build_settings(tmp_path_factory.mktemp("build-settings"))


@pytest.fixture(scope="session")
def images(bases: dict[str, str], build_settings: BuildSettings) -> dict[str, str]:
    for name, tag in IMAGES.items():
        args = {arg: bases[arg] for arg in BASE_ARGS[name]}
        TIMINGS[f"build {name}"] = build_image(REPO / "app" / name, tag, args, build_settings)
    return IMAGES


@pytest.fixture(scope="session")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    path = tmp_path_factory.mktemp("task-volumes")
    yield path
    # Containers left behind by a failed test.
    for name in podman("ps", "--all", "--format", "{{.Names}}", check=False).stdout.split():
        if name.startswith("tap-test-"):
            podman("rm", "--force", "--volumes", name, check=False)
