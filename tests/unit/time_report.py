"""pytest plugin: where the unit suite's time goes, in wall and CPU seconds.

    pytest tests/unit -p tests.unit.time_report --time-report DIR [-n 2 --dist loadscope]

Each test process (each xdist worker) writes DIR/<worker>.txt: its total, every synthesis
(variant, wall and CPU), the CPU per test module and the costliest tests. CPU counts this
process, its running descendants (the jsii node kernel, a cfn-lint run working in the
background: its CPU lands on whichever tests run meanwhile) and the children it waited for
(`python tap.py`, the offline integration runs); on a shared machine it is the figure to
compare, wall time moves with the other load. The xdist controller writes nothing.
"""

from __future__ import annotations

import os
import resource
import time
from collections import defaultdict
from collections.abc import Generator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from scripts.profile_synth import cpu_of_descendants

if TYPE_CHECKING:
    from lib.config import PlatformConfig
    from tests.unit import support


def cpu_seconds() -> float:
    own, children = os.times(), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.user + own.system + children.ru_utime + children.ru_stime + cpu_of_descendants()


class TimeReport:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.started = (time.perf_counter(), cpu_seconds())
        self.tests: list[tuple[str, float, float]] = []
        self.syntheses: list[tuple[str, float, float]] = []
        from tests.unit import support

        original = support.Synthesized.__init__

        def timed_init(synthesized: support.Synthesized, config: PlatformConfig) -> None:
            wall, cpu = time.perf_counter(), cpu_seconds()
            original(synthesized, config)
            label = f"{config.environment_suffix}: {os.environ.get('PYTEST_CURRENT_TEST', '?').split(' ')[0]}"
            self.syntheses.append((label, time.perf_counter() - wall, cpu_seconds() - cpu))

        setattr(support.Synthesized, "__init__", timed_init)  # noqa: B010 - replacing a method for the report

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item, nextitem: Any) -> Generator[None, None, None]:
        wall, cpu = time.perf_counter(), cpu_seconds()
        yield
        self.tests.append((item.nodeid, time.perf_counter() - wall, cpu_seconds() - cpu))

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if not self.tests:  # the xdist controller runs no test
            return
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        wall, cpu = time.perf_counter() - self.started[0], cpu_seconds() - self.started[1]
        modules: dict[str, list[float]] = defaultdict(lambda: [0, 0.0, 0.0])
        for nodeid, test_wall, test_cpu in self.tests:
            entry = modules[nodeid.split("::")[0]]
            entry[0] += 1
            entry[1] += test_wall
            entry[2] += test_cpu
        lines = [f"{worker}: {len(self.tests)} tests, session wall {wall:.1f} s, CPU {cpu:.1f} s (from plugin start)"]
        lines.append(f"syntheses: {len(self.syntheses)}, CPU {sum(s[2] for s in self.syntheses):.1f} s")
        lines += [f"  wall {w:6.2f}  CPU {c:6.2f}  {label}" for label, w, c in self.syntheses]
        lines.append("per module (tests, wall s, CPU s), by CPU:")
        for module, (count, module_wall, module_cpu) in sorted(modules.items(), key=lambda m: -m[1][2]):
            lines.append(f"  {count:4.0f} {module_wall:7.2f} {module_cpu:7.2f}  {module}")
        lines.append("costliest tests (wall s, CPU s; a test's CPU includes the fixtures it set up first):")
        lines += [f"  {w:6.2f} {c:6.2f}  {n}" for n, w, c in sorted(self.tests, key=lambda t: -t[2])[:25]]
        self.directory.mkdir(parents=True, exist_ok=True)
        (self.directory / f"{worker}.txt").write_text("\n".join(lines) + "\n")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--time-report", metavar="DIR", help="write each test process's wall/CPU breakdown into DIR")


def pytest_configure(config: pytest.Config) -> None:
    directory = config.getoption("--time-report")
    xdist_controller = config.getoption("dist", "no") != "no" and not hasattr(config, "workerinput")
    if directory and not xdist_controller:  # the controller runs no test (and need not import aws-cdk-lib)
        config.pluginmanager.register(TimeReport(Path(directory)), "time-report")
