"""cfn-lint over a synthesized template, as the tests run it (the venv's own cfn-lint, repo config).

A run starts as a subprocess when a fixture synthesizes the template and is awaited by the lint test,
so it runs on the other core while the synthesizing worker goes on with other tests.

A template that passed is remembered by content (the template's bytes, the cfn-lint version, the resource-schema
sets it chooses between (bundled, and a user's `cfn-lint --update-specs` cache), the settings files cfn-lint reads
(the repository's .cfnlintrc.yaml, a user's ~/.cfnlintrc) and the command's options; conftest.py points CACHE_DIR into pytest's cache, so
`pytest --cache-clear` forgets it): linting the same bytes again with the same linter and settings gives
the same answer, and a run of the suite whose templates did not change skips about 2.7 s of CPU per
template. A failing run is never remembered: it runs, and reports, every time.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
from importlib.metadata import version
from importlib.util import find_spec
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT_SECONDS = 300
OPTIONS = ("--format", "parseable")
# Where passing results are remembered; None remembers nothing (set by conftest.py's pytest_configure).
CACHE_DIR: Path | None = None


CONFIG_NAMES = (".cfnlintrc", ".cfnlintrc.yaml", ".cfnlintrc.yml")


def config_texts() -> list[str]:
    """The settings files cfn-lint reads, as it finds them: the first of CONFIG_NAMES in the user's home
    directory, then in the directory it runs in (ROOT); "" where there is none."""
    found = []
    for directory in (Path.home(), ROOT):
        path = next((directory / name for name in CONFIG_NAMES if (directory / name).is_file()), None)
        found.append(f"{path.name}\n{path.read_text()}" if path else "")
    return found


def schema_versions() -> list[str]:
    """The two resource-schema sets cfn-lint chooses between, by their version.json: the one bundled with the
    package and the user's cache (filled by `cfn-lint --update-specs`, under $XDG_CACHE_HOME); it uses the newer.
    Either changing changes the key, whichever is in use."""
    from cfnlint.helpers import get_cache_dir  # costs ~0.3 s: imported only when a template is linted

    spec = find_spec("cfnlint")
    assert spec is not None and spec.origin is not None
    bundled = Path(spec.origin).parent / "data" / "schemas"
    found = []
    for directory in (bundled, Path(get_cache_dir())):
        path = directory / "version.json"
        found.append(f"{path}\n{path.read_text()}" if path.is_file() else f"{path}\n(none)")
    return found


def cache_key(text: str) -> str:
    """What decides cfn-lint's answer on this template text."""
    digest = hashlib.sha256()
    for part in (version("cfn-lint"), *schema_versions(), *config_texts(), json.dumps(OPTIONS), text):
        digest.update(part.encode())
        digest.update(b"\0")
    return digest.hexdigest()


class CfnLint:
    """A cfn-lint run of `template` (written to `path`), started at once; `result()` waits for it."""

    def __init__(self, template: dict[str, Any], path: Path) -> None:
        text = json.dumps(template)
        path.write_text(text)
        self.args = [str(Path(sys.executable).parent / "cfn-lint"), *OPTIONS, str(path)]
        self._remembered = CACHE_DIR / f"{cache_key(text)}.json" if CACHE_DIR is not None else None
        self._result: subprocess.CompletedProcess[str] | None = None
        self.process: subprocess.Popen[str] | None = None
        if self._remembered is not None and self._remembered.is_file():
            passed = json.loads(self._remembered.read_text())
            self._result = subprocess.CompletedProcess(self.args, 0, passed["stdout"], passed["stderr"])
            return
        self.process = subprocess.Popen(
            self.args, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )

    @property
    def cached(self) -> bool:
        """True when the answer came from a remembered pass, not from a run."""
        return self.process is None

    def result(self) -> subprocess.CompletedProcess[str]:
        if self._result is None:
            assert self.process is not None
            stdout, stderr = self.process.communicate(timeout=TIMEOUT_SECONDS)
            self._result = subprocess.CompletedProcess(self.args, self.process.returncode, stdout, stderr)
            if self._result.returncode == 0 and self._remembered is not None:
                self._remember(stdout, stderr)
        return self._result

    def _remember(self, stdout: str, stderr: str) -> None:
        assert self._remembered is not None
        self._remembered.parent.mkdir(parents=True, exist_ok=True)
        # Written whole, then renamed: a worker reading at the same time sees all of it or nothing.
        fd, tmp = tempfile.mkstemp(dir=self._remembered.parent, suffix=".tmp")
        with os.fdopen(fd, "w") as out:
            json.dump({"stdout": stdout, "stderr": stderr}, out)
        os.replace(tmp, self._remembered)
