"""scripts/bench_cdn.py's charts: written from the sweeps' figures, the same bytes for the same figures."""

from __future__ import annotations

from pathlib import Path

from scripts import bench_cdn

HOUR = bench_cdn.HOUR


def point(requests: float, byte: float) -> dict[str, float]:
    return {"request_offload": requests, "byte_offload": byte}


AUDIENCES = {250_000: point(0.85, 0.85), 1_000_000: point(0.94, 0.95), 4_000_000: point(0.97, 0.99)}
SHIELD: dict[float | None, dict[str, float]] = {6 * HOUR: point(0.91, 0.92), 24 * HOUR: point(0.94, 0.95), None: point(0.98, 1.0)}


def test_the_trade_off_chart_is_written_and_byte_stable(tmp_path: Path) -> None:
    first, second, other = tmp_path / "a.svg", tmp_path / "b.svg", tmp_path / "c.svg"
    bench_cdn.trade_off_chart(AUDIENCES, SHIELD, 1_000_000, first)
    bench_cdn.trade_off_chart(AUDIENCES, SHIELD, 1_000_000, second)
    assert first.read_bytes() == second.read_bytes() and first.stat().st_size > 10_000
    bench_cdn.trade_off_chart({**AUDIENCES, 16_000_000: point(0.98, 0.997)}, SHIELD, 1_000_000, other)
    assert other.read_bytes() != first.read_bytes()


def test_the_sweeps_cover_the_shipped_assumptions() -> None:
    """The shipped audience and the assumed shield idle time are points of their sweeps (computed once, reused)."""
    from scripts import cdn_traffic

    assert cdn_traffic.SESSIONS_PER_DAY in bench_cdn.AUDIENCE_SWEEP
    assert bench_cdn.EVICTION.shield in bench_cdn.SHIELD_IDLE_SWEEP and None in bench_cdn.SHIELD_IDLE_SWEEP
    assert list(bench_cdn.AUDIENCE_SWEEP) == sorted(bench_cdn.AUDIENCE_SWEEP)
