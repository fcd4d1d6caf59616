"""The benchmark's baseline runs under the server its revision shipped.

Its goal lines say what they compare.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.run_bench import (
    BACKEND,
    FLOOR_GOAL,
    SERVER_GOAL,
    BaselineError,
    extract_backend,
    goal_lines,
    shipped_server,
)


def dockerfile(tmp_path: Path, cmd: str) -> Path:
    (tmp_path / "Dockerfile").write_text(f'FROM python:3.11-slim\nCMD ["echo"]\n{cmd}\n')
    return tmp_path


def test_this_tree_ships_granian_through_serve_py() -> None:
    server, command = shipped_server(BACKEND)
    assert server == "granian"
    assert command[-1] == str(BACKEND / "serve.py")
    assert command[:3] == ["taskset", "-c", "0"]


def test_a_gunicorn_revision_runs_with_its_own_config(tmp_path: Path) -> None:
    backend = dockerfile(
        tmp_path, 'CMD ["gunicorn", "--config", "/app/gunicorn.conf.py", "catalog.wsgi:app"]'
    )
    server, command = shipped_server(backend)
    assert server == "gunicorn"
    assert command[-4:] == ["gunicorn", "-c", str(backend / "gunicorn.conf.py"), "catalog.wsgi:app"]


@pytest.mark.parametrize(
    "cmd",
    ["", 'CMD ["uwsgi", "--http", ":8000"]', "CMD python serve.py"],
    ids=["no-cmd", "unknown-server", "shell-form"],
)
def test_an_unknown_entry_point_is_refused_with_the_dockerfile_named(
    tmp_path: Path, cmd: str
) -> None:
    backend = dockerfile(tmp_path, cmd) if cmd else tmp_path
    if not cmd:
        (backend / "Dockerfile").write_text("FROM python:3.11-slim\n")
    with pytest.raises(ValueError, match="Dockerfile"):
        shipped_server(backend)


RATIOS = {
    "catalog/floor on granian": FLOOR_GOAL - 0.01,
    "per cpu: catalog/floor on granian": FLOOR_GOAL,
    "catalog granian/gunicorn": SERVER_GOAL - 0.1,
    "per cpu: catalog granian/gunicorn": SERVER_GOAL - 0.1,
    "catalog granian / catalog gunicorn @abc123": SERVER_GOAL,
    "per cpu: catalog granian / catalog gunicorn @abc123": SERVER_GOAL - 0.01,
}


def test_goal_lines_judge_each_ratio_on_both_bases() -> None:
    lines = goal_lines(RATIOS, "catalog gunicorn @abc123")
    assert lines == [
        "goal by req/s: catalog >= 0.9x floor on granian: 0.89x NOT met",
        "goal by req/s: catalog granian / catalog gunicorn @abc123 >= 1.6x: 1.60x met",
        "goal by req/s: catalog granian/gunicorn >= 1.6x: 1.50x NOT met",
        "goal by per cpu: catalog >= 0.9x floor on granian: 0.90x met",
        "goal by per cpu: catalog granian / catalog gunicorn @abc123 >= 1.6x: 1.59x NOT met",
        "goal by per cpu: catalog granian/gunicorn >= 1.6x: 1.50x NOT met",
    ]


def test_a_granian_baseline_is_no_gunicorn_figure() -> None:
    ratios = {k.replace("gunicorn @", "granian @"): v for k, v in RATIOS.items()}
    lines = goal_lines(ratios, "catalog granian @abc123")
    assert not any("@abc123" in line for line in lines)
    assert len(lines) == 4


def test_a_baseline_this_clone_lacks_is_refused_with_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(
        BaselineError,
        match=r"--baseline 0{40}: no such commit in this clone .*git fetch --unshallow",
    ):
        extract_backend("0" * 40, tmp_path)


def test_a_baseline_in_the_history_is_unpacked(tmp_path: Path) -> None:
    old = extract_backend("HEAD", tmp_path)
    assert (old / "catalog" / "api.py").is_file()
    assert (old / "Dockerfile").is_file()
