"""cfn-lint over a synthesized template, as the tests run it (the venv's own cfn-lint, repo config)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def cfn_lint(template: dict[str, Any], directory: Path, name: str = "template.json") -> subprocess.CompletedProcess[str]:
    """Write `template` into `directory` and lint it with the repository's `.cfnlintrc.yaml`."""
    path = directory / name
    path.write_text(json.dumps(template))
    return subprocess.run(
        [str(Path(sys.executable).parent / "cfn-lint"), "--format", "parseable", str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
