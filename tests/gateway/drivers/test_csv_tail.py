"""csv_tail follows a file across appends, rotation and restarts without re-sending or skipping."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.gateway.drivers.harness import as_wire, collect, make_driver

HEADER = "ts_ms,rain_mm,battery_v\n"


def _line(i: int) -> str:
    return f"{1_750_000_000_000 + i * 60_000},{i / 10:.1f},3.6\n"


def _ts(readings) -> list[int]:
    return [r.ts_ms for r in readings]


def _expected(rng: range) -> list[int]:
    return [1_750_000_000_000 + i * 60_000 for i in rng]


def test_follows_rotation_and_restart(tmp_path: Path) -> None:
    path = tmp_path / "logger.csv"
    path.write_text(HEADER + "".join(_line(i) for i in range(5)) + "99")  # partial last line
    settings = {"path": str(path), "poll_interval_s": 0.05}

    async def scenario() -> None:
        driver, ctx = make_driver("csv_tail", "rain_gauge", settings)
        got = await collect(driver, ctx, lambda r: len(r) >= 5)
        assert _ts(got) == _expected(range(5))
        assert as_wire(got)[1] == {
            "ts_ms": _expected(range(1, 2))[0],
            "rain_mm": 0.1,
            "battery_v": 3.6,
        }
        # complete the partial line, append, rotate, write the new file: one driver run
        with path.open("a") as handle:
            handle.write("\n")  # "99" alone is an invalid line: skipped, not re-read
            handle.write("".join(_line(i) for i in range(5, 8)))
        path.rename(tmp_path / "logger.csv.1")
        path.write_text(HEADER + "".join(_line(i) for i in range(8, 10)))
        got = await collect(driver, ctx, lambda r: len(r) >= 5)
        assert _ts(got) == _expected(range(5, 10))
        assert ctx.rejected == 1  # the "99" line
        saved = dict(ctx.state)
        # while the gateway is down: lines appended, then the file rotated again
        with path.open("a") as handle:
            handle.write("".join(_line(i) for i in range(10, 12)))
        path.rename(tmp_path / "logger.csv.2")
        path.write_text(HEADER + _line(12))
        driver, ctx = make_driver("csv_tail", "rain_gauge", settings, state=saved)
        got = await collect(driver, ctx, lambda r: len(r) >= 3)
        assert _ts(got) == _expected(range(10, 13))

    asyncio.run(scenario())


def test_truncated_file_starts_over(tmp_path: Path) -> None:
    path = tmp_path / "logger.csv"
    path.write_text(HEADER + "".join(_line(i) for i in range(3)))
    settings = {"path": str(path), "poll_interval_s": 0.05}

    async def scenario() -> None:
        driver, ctx = make_driver("csv_tail", "rain_gauge", settings)
        await collect(driver, ctx, lambda r: len(r) >= 3)
        with path.open("r+") as handle:  # copytruncate-style rotation
            handle.truncate(0)
            handle.write(HEADER + _line(20))
        driver, ctx = make_driver("csv_tail", "rain_gauge", settings, state=dict(ctx.state))
        got = await collect(driver, ctx, lambda r: len(r) >= 1)
        assert _ts(got) == _expected(range(20, 21))

    asyncio.run(scenario())
