#!/usr/bin/env python3
"""Print the widget grid of the synthesized dashboard (run `make synth` first)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scripts.dashboard_layout import dashboard_body, render


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("template", nargs="?", default="cdk.out/TapStackdev.template.json")
    args = parser.parse_args()
    path = Path(args.template)
    if not path.exists():
        print(f"{path} does not exist: run `make synth` first.", file=sys.stderr)
        return 2
    resources = json.loads(path.read_text())["Resources"]
    for resource in resources.values():
        if resource["Type"] == "AWS::CloudWatch::Dashboard":
            print(resource["Properties"].get("DashboardName"))
            print(render(dashboard_body(resource["Properties"]["DashboardBody"])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
