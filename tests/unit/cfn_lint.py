"""cfn-lint over a synthesized template, as the tests run it (the venv's own cfn-lint, repo config).

A run starts as a subprocess when a fixture synthesizes the template and is awaited by the lint test,
so it runs on the other core while the synthesizing worker goes on with other tests.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT_SECONDS = 300


class CfnLint:
    """A cfn-lint run of `template` (written to `path`), started at once; `result()` waits for it."""

    def __init__(self, template: dict[str, Any], path: Path) -> None:
        path.write_text(json.dumps(template))
        self.args = [str(Path(sys.executable).parent / "cfn-lint"), "--format", "parseable", str(path)]
        self.process = subprocess.Popen(
            self.args, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        self._result: subprocess.CompletedProcess[str] | None = None

    def result(self) -> subprocess.CompletedProcess[str]:
        if self._result is None:
            stdout, stderr = self.process.communicate(timeout=TIMEOUT_SECONDS)
            self._result = subprocess.CompletedProcess(self.args, self.process.returncode, stdout, stderr)
        return self._result


def cfn_lint(template: dict[str, Any], directory: Path, name: str = "template.json") -> subprocess.CompletedProcess[str]:
    """Write `template` into `directory` and lint it with the repository's `.cfnlintrc.yaml`."""
    return CfnLint(template, directory / name).result()
