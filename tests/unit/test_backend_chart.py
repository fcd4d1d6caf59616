"""scripts/backend_chart.py: one bench-backend run drawn side by side, from the results file run_bench.py writes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from scripts import backend_chart


def result(rps: dict[str, list[float]], **extra: Any) -> dict[str, Any]:
    runs = {name: [{"rps": r, "p99_ms": r / 1000} for r in rounds] for name, rounds in rps.items()}
    return {"args": {"rounds": 3, "duration": 10, "threads": 4}, "runs": runs, **extra}


RUN = result(
    {
        "floor   granian": [4700, 4695, 4863],
        "catalog granian": [4030, 4000, 3979],
        "catalog gunicorn @abc1234": [2368, 2365, 2227],
    },
    ratios={"catalog/floor on granian": 0.85, "p99 catalog granian/gunicorn": 0.52},
    goals=["goal by req/s: catalog >= 0.9x floor on granian: 0.85x NOT met"],
)


def test_each_server_gets_its_median_its_rounds_and_its_p99() -> None:
    summary = backend_chart.server_summary(RUN["runs"])
    assert [s[0] for s in summary] == ["floor granian", "catalog granian", "catalog gunicorn @abc1234"]
    assert [s[1] for s in summary] == [4700, 4000, 2365]
    assert summary[0][2] == [4700, 4695, 4863]
    assert summary[1][3] == pytest.approx(4.0)


def test_the_chart_is_written_and_the_same_results_give_the_same_bytes(tmp_path: Path) -> None:
    source = tmp_path / "bench-20261127T100021.json"
    source.write_text(json.dumps(RUN))
    first, second = tmp_path / "a.svg", tmp_path / "b.svg"
    assert backend_chart.main([str(source), "--out", str(first)]) == 0
    assert backend_chart.main([str(source), "--out", str(second)]) == 0
    assert first.read_bytes() == second.read_bytes() and first.stat().st_size > 10_000
    # Another result draws another chart.
    source.write_text(json.dumps(result({"floor   granian": [1000, 1100, 1200]})))
    assert backend_chart.main([str(source), "--out", str(second)]) == 0
    assert first.read_bytes() != second.read_bytes()


@pytest.mark.parametrize("content", ["not json", json.dumps({"runs": {}}), json.dumps({"runs": {"floor": []}}), json.dumps({})])
def test_a_file_that_is_not_a_run_exits_2_saying_so(tmp_path: Path, content: str, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "bench-x.json"
    source.write_text(content)
    assert backend_chart.main([str(source), "--out", str(tmp_path / "c.svg")]) == 2
    assert capsys.readouterr().err.startswith("error: ")
    assert not (tmp_path / "c.svg").exists()


def test_without_results_it_says_to_run_the_benchmark(tmp_path: Path) -> None:
    with pytest.raises(backend_chart.ResultsError, match="run `make bench-backend` first"):
        backend_chart.newest_results(tmp_path)
    (tmp_path / "bench-20261127T090000.json").write_text("{}")
    (tmp_path / "bench-20261127T100000.json").write_text("{}")
    assert backend_chart.newest_results(tmp_path).name == "bench-20261127T100000.json"
