#!/usr/bin/env python3
"""Draw one `make bench-backend` run: each server's throughput and p99 side by side.

    python scripts/backend_chart.py [RESULTS.json] [--out docs/backend-throughput.svg]

RESULTS.json is what `app/backend/bench/run_bench.py` wrote (default: the newest in
app/backend/bench/results/). Bars are the medians the run printed; dots are its rounds, so the
spread between rounds (another tenant's load on a shared core) is visible next to the gaps
between servers. Under the chart: the run's goal lines (met / NOT met per goal), or, for a run
that recorded none, its ratios. Runs in the root venv (matplotlib), not the backend's.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from scripts import charts  # noqa: E402

RESULTS_DIR = ROOT / "app" / "backend" / "bench" / "results"
DEFAULT_CHART = ROOT / "docs" / "backend-throughput.svg"


class ResultsError(Exception):
    """The results file is missing or is not a run of run_bench.py."""


def newest_results(directory: Path = RESULTS_DIR) -> Path:
    found = sorted(directory.glob("bench-*.json"))
    if not found:
        raise ResultsError(f"no bench-*.json in {directory}: run `make bench-backend` first")
    return found[-1]


def load(path: Path) -> dict[str, Any]:
    try:
        data: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise ResultsError(f"cannot read {path}: {error}") from error
    runs = data.get("runs")
    if not isinstance(runs, dict) or not runs or not all(isinstance(r, list) and r for r in runs.values()):
        raise ResultsError(f"{path} has no rounds per server ('runs'): not a run_bench.py result")
    return data


def server_summary(runs: dict[str, list[dict[str, float]]]) -> list[tuple[str, float, list[float], float]]:
    """(label, median req/s, req/s of each round, median p99 ms) per server, in the run's order."""
    return [
        (
            " ".join(name.split()),
            statistics.median(r["rps"] for r in rounds),
            [r["rps"] for r in rounds],
            statistics.median(r["p99_ms"] for r in rounds),
        )
        for name, rounds in runs.items()
    ]


def chart(data: dict[str, Any], path: Path, title: str) -> None:
    plt = charts.pyplot()
    servers = server_summary(data["runs"])
    labels = [s[0].replace(" ", "\n") for s in servers]
    colors = ["#9aa5b1" if s[0].startswith("floor") else "#2b6cb0" for s in servers]
    fig, (rps_ax, p99_ax) = plt.subplots(1, 2, figsize=(10, 5), dpi=110, gridspec_kw={"width_ratios": [3, 2]})
    x = range(len(servers))
    rps_ax.bar(x, [s[1] for s in servers], color=colors)
    for i, s in enumerate(servers):
        rps_ax.plot([i] * len(s[2]), s[2], "o", color="black", markersize=3)
        top = max(s[1], *s[2])
        rps_ax.annotate(f"{s[1]:,.0f}", (i, top), xytext=(0, 5), textcoords="offset points", ha="center", fontsize=8)
    rps_ax.set_xticks(list(x), labels, fontsize=7)
    rps_ax.set_ylabel("requests/s on one core (median; dots: rounds)")
    rps_ax.set_title("GET /api/videos throughput", fontsize=10)
    rps_ax.grid(axis="y", alpha=0.3)
    p99_ax.bar(x, [s[3] for s in servers], color=colors)
    for i, s in enumerate(servers):
        p99_ax.annotate(f"{s[3]:.2f}", (i, s[3]), xytext=(0, 4), textcoords="offset points", ha="center", fontsize=8)
    p99_ax.set_xticks(list(x), labels, fontsize=7)
    p99_ax.set_ylabel("p99 latency (ms, median of rounds)")
    p99_ax.set_title("p99", fontsize=10)
    p99_ax.grid(axis="y", alpha=0.3)
    lines = data.get("goals") or [
        f"{name}: {value:.2f}x" for name, value in data.get("ratios", {}).items() if not name.startswith("p99")
    ]
    fig.suptitle(title, fontsize=10)
    fig.text(0.01, 0.01, "\n".join(lines), fontsize=7, family="monospace", va="bottom")
    fig.tight_layout(rect=(0, 0.025 * len(lines), 1, 1))
    charts.save(fig, path, "backend-throughput")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("results", nargs="?", type=Path, help="a run_bench.py result (default: the newest)")
    parser.add_argument("--out", type=Path, default=DEFAULT_CHART)
    args = parser.parse_args(argv)
    try:
        path = args.results or newest_results()
        data = load(path)
    except ResultsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    run = data.get("args", {})
    title = (
        f"make bench-backend ({path.stem.removeprefix('bench-')}): {run.get('rounds', '?')} rounds of "
        f"{run.get('duration', '?')} s, one worker x {run.get('threads', '?')} threads per server on one core"
    )
    chart(data, args.out, title)
    print(f"wrote {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out} from {path.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
