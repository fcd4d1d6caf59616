#!/usr/bin/env python3
"""`make synth` (warm) and the infrastructure unit suite, before and after, side by side in one run.

    python scripts/compare_speed.py --base <git-ref> [--rounds 3] [--jobs synth,unit,unit-nocov,unit-nocov-cold]

The base commit is exported (`git archive`) next to the working tree and shares its
.venv and node_modules, so both sides run the same toolchain. Each round runs the
base then the working tree, alternating, after one warm-up synth each. For the unit
suite each side runs the pytest command its own Makefile's `test-infra` target
runs; `unit-nocov` is the same command without its coverage options (what
coverage costs); `unit-nocov-cold` also clears pytest's cache first (all of it:
last failures too), so nothing remembered from an earlier run (the cfn-lint passes
of tests/unit/cfn_lint.py) is used, as on a clean clone (other caches, mypy's or
jsii's, stay warm). Printed: median wall seconds and median CPU seconds (user + sys)
of all processes, the pytest workers and the jsii node kernels included, per side.
On a shared machine compare CPU: wall time moves with the other load, CPU much less.
"""

from __future__ import annotations

import argparse
import os
import resource
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = (".venv", "node_modules")


def timed(argv: list[str], cwd: Path) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        sys.exit(f"{shlex.join(argv)} failed in {cwd}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def unit_suite_command(tree: Path) -> list[str]:
    """The pytest line of the tree's own `make test-infra` (dry run)."""
    plan = subprocess.run(["make", "-n", "test-infra"], cwd=tree, capture_output=True, text=True, check=True).stdout
    line = next(line for line in plan.splitlines() if "pytest" in line and "tests/unit" in line)
    return shlex.split(line)


def make_synth() -> list[str]:
    """`make synth`, the shared toolchain counted as installed (-o): an exported tree's requirement files carry its
    commit's time, which can be newer than the stamps, and make would then try to recreate the shared .venv in it."""
    return ["make", "--no-print-directory", *(f"-o{name}/.installed" for name in SHARED), "synth"]


def without_coverage(argv: list[str]) -> list[str]:
    return [arg for arg in argv if not arg.startswith("--cov")]


JOBS: dict[str, tuple[str, Callable[[Path], list[str]]]] = {
    "synth": ("make synth (warm)", lambda tree: make_synth()),
    "unit": ("unit suite (make test-infra's pytest)", unit_suite_command),
    "unit-nocov": ("unit suite without coverage", lambda tree: without_coverage(unit_suite_command(tree))),
    "unit-nocov-cold": (
        "the same, pytest's cache cleared first (nothing remembered, as on a clean clone)",
        lambda tree: [*without_coverage(unit_suite_command(tree)), "--cache-clear"],
    ),
}


def export(ref: str, into: Path) -> None:
    archive = subprocess.run(["git", "archive", ref], cwd=ROOT, capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    # An empty repository around the export: the tests that ask git what it ignores (the .gitignore files
    # came with the archive) answer as in the working tree.
    subprocess.run(["git", "init", "--quiet", str(into)], check=True)
    for name in SHARED:
        (into / name).symlink_to(ROOT / name)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", required=True, help="git ref of the 'before' side, e.g. main")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--jobs", default="synth,unit", help=f"comma-separated, of {', '.join(JOBS)}")
    args = parser.parse_args()
    chosen = [job.strip() for job in args.jobs.split(",") if job.strip()]
    unknown = sorted(set(chosen) - set(JOBS))
    if unknown or not chosen:
        parser.error(f"--jobs: unknown {unknown or 'empty list'}; choose from {', '.join(JOBS)}")
    os.environ["JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION"] = "20"
    with tempfile.TemporaryDirectory(prefix="speed-base-") as tmp:
        base = Path(tmp)
        export(args.base, base)
        trees = {f"before ({args.base})": base, "after (working tree)": ROOT}
        jobs = dict(JOBS[job] for job in chosen)
        results: dict[tuple[str, str], list[tuple[float, float]]] = {}
        for tree in trees.values() if "synth" in chosen else ():
            timed(make_synth(), tree)  # warm-up: assets staged, caches filled
        for _ in range(args.rounds):
            for job, command in jobs.items():
                for side, tree in trees.items():
                    results.setdefault((job, side), []).append(timed(command(tree), tree))
        print(f"median of {args.rounds} alternating rounds; {os.cpu_count()} CPUs; load average now {os.getloadavg()[0]:.1f}")
        print("CPU s = user + sys of every process of the run (pytest workers, node kernels); less load-sensitive than wall")
        print(f"{'':40} {'side':28} {'wall s':>8} {'CPU s':>8}   all rounds (wall/CPU)")
        for (job, side), runs in results.items():
            wall = statistics.median(r[0] for r in runs)
            cpu = statistics.median(r[1] for r in runs)
            every = ", ".join(f"{w:.1f}/{c:.1f}" for w, c in runs)
            print(f"{job:40} {side:28} {wall:8.1f} {cpu:8.1f}   {every}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
