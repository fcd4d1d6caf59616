#!/usr/bin/env python3
"""Fail when line or branch coverage is below its threshold; print both figures.

coverage.py's own `fail_under` checks one combined figure (lines and branches
pooled), so a well-covered file can hide untested branches. This reads the JSON
report (`coverage json` / `pytest --cov-report=json:...`) and checks each.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def percent(covered: int, total: int) -> float:
    return 100.0 if total == 0 else 100.0 * covered / total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report", type=Path, help="coverage JSON report")
    parser.add_argument("--label", default="coverage", help="what was measured, for the message")
    parser.add_argument("--lines", type=float, required=True, help="minimum line coverage, percent")
    parser.add_argument("--branches", type=float, required=True, help="minimum branch coverage, percent")
    args = parser.parse_args(argv)

    totals = json.loads(args.report.read_text())["totals"]
    if "num_branches" not in totals:
        print(f"{args.label}: the report has no branch data (run with --cov-branch)", file=sys.stderr)
        return 2
    lines = percent(totals["covered_lines"], totals["num_statements"])
    branches = percent(totals["covered_branches"], totals["num_branches"])
    failed = [
        f"{name} {value:.2f}% < {minimum:g}%"
        for name, value, minimum in (("lines", lines, args.lines), ("branches", branches, args.branches))
        if value < minimum
    ]
    print(
        f"{args.label}: lines {lines:.2f}% ({totals['covered_lines']}/{totals['num_statements']}, minimum {args.lines:g}%), "
        f"branches {branches:.2f}% ({totals['covered_branches']}/{totals['num_branches']}, minimum {args.branches:g}%)"
    )
    if failed:
        print(f"{args.label}: coverage below the gate: {'; '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
