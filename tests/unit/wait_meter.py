"""pytest plugin for the offline integration run (`-p tests.unit.wait_meter`): how long each check slept.

Every `time.sleep` of a check (botocore's retry back-off, urllib3's, a check's own polling) is
added up per test and written into the JUnit report as the property `slept_seconds`. Requested
sleep does not depend on how busy the machine is, so a bound on it stays meaningful under load.
"""

from __future__ import annotations

import time
from collections.abc import Generator
from typing import Any, SupportsIndex

import pytest

SLEPT_PROPERTY = "slept_seconds"

_slept: dict[str, float] = {}
_current: list[str] = []
_real_sleep = time.sleep


def _metered_sleep(seconds: float | SupportsIndex) -> None:
    if _current:
        _slept[_current[-1]] = _slept.get(_current[-1], 0.0) + float(seconds)
    _real_sleep(seconds)


time.sleep = _metered_sleep


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: Any) -> Generator[None, None, None]:
    _current.append(item.nodeid)
    try:
        yield
    finally:
        _current.pop()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, None, None]:
    if call.when == "teardown":
        item.user_properties.append((SLEPT_PROPERTY, f"{_slept.get(item.nodeid, 0.0):.3f}"))
    yield
