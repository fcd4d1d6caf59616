"""scripts/run_local.py, which the frontend browser tests use, end to end."""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from catalog.logs import JsonFormatter
from devtools.local_pg import free_port
from tests.conftest import BACKEND


@pytest.fixture
def scratch() -> Iterator[Path]:
    """A temp dir the postgres user can traverse (pytest's tmp_path is 0700 root)."""
    path = Path(tempfile.mkdtemp(prefix="catalog-run-local-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_run_local_serves_and_cleans_up(scratch: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DB_")}
    env["CATALOG_PG_TMPDIR"] = str(scratch)  # the throwaway cluster lands here
    with (scratch / "stderr.log").open("w") as errlog:
        proc = subprocess.Popen(
            [sys.executable, str(BACKEND / "scripts" / "run_local.py"), "--port", str(port)],
            stdout=subprocess.PIPE,
            stderr=errlog,
            text=True,
            env=env,
        )
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 60
        ready = None
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            if line.startswith("READY "):
                ready = line.split()[1]
                break
        assert ready == f"http://127.0.0.1:{port}", (scratch / "stderr.log").read_text()[-3000:]
        with urllib.request.urlopen(f"{ready}/api/videos?limit=3", timeout=5) as resp:
            body = json.load(resp)
        assert len(body["items"]) == 3
        assert list(scratch.glob("catalog-pg-*"))
        # Keep reading stdout so the server never blocks on a full pipe.
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)
        assert proc.returncode == 0
        assert not list(scratch.glob("catalog-pg-*")), "PostgreSQL dir left behind"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


def test_json_log_lines() -> None:
    record = logging.LogRecord("catalog.access", logging.INFO, __file__, 1, "request", None, None)
    record.status = 200
    line = JsonFormatter().format(record)
    data = json.loads(line)
    assert data["message"] == "request"
    assert data["status"] == 200
    assert data["level"] == "INFO"
    assert re.match(r"^\d{4}-\d\d-\d\dT", data["ts"])
