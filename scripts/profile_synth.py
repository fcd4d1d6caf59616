#!/usr/bin/env python3
"""Where the time of a synthesis goes: each phase measured in a fresh process.

    python scripts/profile_synth.py [--rounds 3]

Every configuration runs in its own interpreter (the jsii kernel and aws-cdk-lib's
validation engine are per-process singletons, so reusing one would hide their start-up
cost). Rounds alternate the configurations so a busy machine slows them all alike.
Printed per phase: median wall seconds and median CPU seconds (Python plus its node
kernel); CPU is the figure to compare on a shared machine.

Phases:
  import      `import aws_cdk` and cdk_nag (starts the jsii node kernel, loads the assemblies)
  construct   TapStack(...) for the default configuration (the construct tree)
  synth       app.synth(): template resolution, asset staging, validation plugins
with these switches (measurement only; the product always runs cdk-nag):
  nag=off          no AwsSolutionsChecks plugin
  validation=off   CDK_VALIDATION=false, aws-cdk-lib's built-in CloudFormation validator off
  assets=off       imageTag set, so no container image asset is fingerprinted
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CONFIGS: dict[str, dict[str, bool]] = {
    "as shipped (python tap.py)": {"nag": True, "validation": True, "assets": True},
    "validation=off (cdk synth --no-validation)": {"nag": True, "validation": False, "assets": True},
    "validation=off, nag=off": {"nag": False, "validation": False, "assets": True},
    "validation=off, assets=off": {"nag": True, "validation": False, "assets": False},
}


def cpu_of_descendants() -> float:
    """CPU seconds of this process's running descendants (the jsii node kernel and its worker)."""
    ticks = os.sysconf("SC_CLK_TCK")
    parent_of: dict[int, int] = {}
    cpu_of: dict[int, float] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid = int(stat.parent.name)
        parent_of[pid] = int(fields[1])
        cpu_of[pid] = (int(fields[11]) + int(fields[12])) / ticks  # utime + stime
    total = 0.0
    for pid, cpu in cpu_of.items():
        ancestor = parent_of.get(pid)
        while ancestor not in (None, 0, 1):
            if ancestor == os.getpid():
                total += cpu
                break
            ancestor = parent_of.get(ancestor)
    return total


def _cpu() -> float:
    usage = os.times()
    return usage.user + usage.system + cpu_of_descendants()


def child(nag: bool, assets: bool, outdir: str) -> None:
    """Build and synthesize in this process, printing a JSON line of phase timings."""
    sys.path.insert(0, str(ROOT))
    marks: list[tuple[str, float, float]] = [("start", time.perf_counter(), _cpu())]
    import aws_cdk as cdk
    from cdk_nag import AwsSolutionsChecks

    from lib.config import PlatformConfig
    from lib.tap_stack import TapStack
    from tap import feature_flags

    marks.append(("import", time.perf_counter(), _cpu()))
    app = cdk.App(outdir=outdir, context=feature_flags())
    config = PlatformConfig(environment_suffix="dev", image_tag=None if assets else "profile")
    TapStack(app, config.names.stack, config=config, env=cdk.Environment(region=config.region))
    if nag:
        cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    marks.append(("construct", time.perf_counter(), _cpu()))
    app.synth()
    marks.append(("synth", time.perf_counter(), _cpu()))
    phases = {name: {"wall": w - marks[i][1], "cpu": c - marks[i][2]} for i, (name, w, c) in enumerate(marks[1:])}
    print(json.dumps(phases))


def run(config: dict[str, bool]) -> dict[str, dict[str, float]]:
    env = dict(os.environ, JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION="20")
    if not config["validation"]:
        env["CDK_VALIDATION"] = "false"
    with tempfile.TemporaryDirectory() as outdir:
        argv = [sys.executable, __file__, "--child", json.dumps({"nag": config["nag"], "assets": config["assets"]}), outdir]
        started = time.perf_counter()
        done = subprocess.run(argv, env=env, capture_output=True, text=True, check=True, cwd=ROOT)
        phases: dict[str, dict[str, float]] = json.loads(done.stdout.strip().splitlines()[-1])
        phases["process"] = {"wall": time.perf_counter() - started, "cpu": float("nan")}
    return phases


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("outdir", nargs="?", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        options = json.loads(args.child)
        child(options["nag"], options["assets"], args.outdir)
        return 0
    results: dict[str, list[dict[str, dict[str, float]]]] = {name: [] for name in CONFIGS}
    for _ in range(args.rounds):
        for name, config in CONFIGS.items():
            results[name].append(run(config))
    print(f"median of {args.rounds} rounds, seconds wall / CPU (python + node); load average {os.getloadavg()[0]:.1f}")
    print(f"{'configuration':45} {'import':>13} {'construct':>13} {'synth':>13} {'process wall':>13}")
    for name, runs in results.items():
        cells = []
        for phase in ("import", "construct", "synth"):
            wall = statistics.median(r[phase]["wall"] for r in runs)
            cpu = statistics.median(r[phase]["cpu"] for r in runs)
            cells.append(f"{wall:5.1f} / {cpu:5.1f}")
        total = statistics.median(r["process"]["wall"] for r in runs)
        print(f"{name:45} {cells[0]:>13} {cells[1]:>13} {cells[2]:>13} {total:13.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
