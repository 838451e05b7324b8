"""Follow a CSV file like `tail -F`, committing the file identity and offset with the readings.

State persisted with every batch: {"dev", "ino", "offset"} of the file being read. After a
restart the driver reopens that file (by inode, so also when it was rotated meanwhile, as long
as it is still in the same folder), finishes it from the offset, then starts the current file.
"""

from __future__ import annotations

import asyncio
import csv
import os
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

from gateway.drivers.base import Batch, DriverContext
from gateway.drivers.convert import from_text
from gateway.drivers.csv_tail.config import CsvTailSettings
from gateway.errors import DriverError
from telemetry.wire import Reading


def _identity(stat: os.stat_result) -> tuple[int, int]:
    return stat.st_dev, stat.st_ino


class CsvTailDriver:
    """Yields readings from complete lines appended to the CSV file."""

    def __init__(self, ctx: DriverContext, settings: CsvTailSettings) -> None:
        self.ctx = ctx
        self.settings = settings

    def _find_by_identity(self, dev: int, ino: int) -> Path | None:
        folder = self.settings.path.parent
        for candidate in sorted(folder.iterdir()) if folder.is_dir() else ():
            try:
                if _identity(candidate.stat()) == (dev, ino):
                    return candidate
            except OSError:
                continue
        return None

    def _convert(self, header: list[str], cells: list[str]) -> Reading | None:
        raw: dict[str, Any] = {}
        for column, cell in zip(header, cells, strict=False):
            if column == self.settings.ts_column:
                raw["ts_ms"] = self._ts_ms(cell)
                continue
            name = self.settings.columns.get(column, column)
            value = from_text(self.ctx.profile, name, cell)
            if value is not None:
                raw[name] = value
        return self.ctx.reading(raw)

    def _ts_ms(self, cell: str) -> Any:
        try:
            if self.settings.ts_format == "epoch_ms":
                return int(cell)
            if self.settings.ts_format == "epoch_s":
                return round(float(cell) * 1000)
            return int(datetime.fromisoformat(cell).timestamp() * 1000)
        except ValueError:
            return cell

    async def _follow(self, handle: BinaryIO, offset: int, final: bool) -> AsyncIterator[Batch]:
        """Read complete lines from offset; stop at EOF when `final`, else when rotated."""
        dev, ino = _identity(os.fstat(handle.fileno()))
        handle.seek(0)
        header_line = handle.readline()
        header = next(csv.reader([header_line.decode()], delimiter=self.settings.delimiter), [])
        size = os.fstat(handle.fileno()).st_size
        offset = len(header_line) if offset > size else max(offset, len(header_line))
        handle.seek(offset)
        committed = offset
        while True:
            readings: list[Reading] = []
            for _ in range(self.settings.max_lines_per_batch):
                line = handle.readline()
                if not line.endswith(b"\n"):
                    handle.seek(offset)
                    break
                offset += len(line)
                cells = next(csv.reader([line.decode()], delimiter=self.settings.delimiter), [])
                reading = self._convert(header, cells) if cells else None
                if reading is not None:
                    readings.append(reading)
            if offset != committed:
                yield Batch(readings, {"dev": dev, "ino": ino, "offset": offset})
                committed = offset
            if readings:
                continue
            if final or self._rotated(dev, ino):
                if not final:  # drain what was appended just before the rotation
                    final = True
                    continue
                return
            await asyncio.sleep(self.settings.poll_interval_s)

    def _rotated(self, dev: int, ino: int) -> bool:
        try:
            return _identity(self.settings.path.stat()) != (dev, ino)
        except FileNotFoundError:
            return False

    async def readings(self) -> AsyncIterator[Batch]:
        """Finish the file read before a restart, then follow the current file forever."""
        state = self.ctx.state
        if "ino" in state:
            old = self._find_by_identity(int(state["dev"]), int(state["ino"]))
            current = self.settings.path.stat() if self.settings.path.exists() else None
            if old is not None and (current is None or _identity(current) != _identity(old.stat())):
                with old.open("rb") as handle:
                    async for batch in self._follow(handle, int(state["offset"]), final=True):
                        yield batch
                state = {}
        while True:
            if not self.settings.path.exists():
                await asyncio.sleep(self.settings.poll_interval_s)
                continue
            with self.settings.path.open("rb") as handle:
                same = "ino" in state and (int(state["dev"]), int(state["ino"])) == _identity(
                    os.fstat(handle.fileno())
                )
                offset = int(state["offset"]) if same else 0
                async for batch in self._follow(handle, offset, final=False):
                    yield batch
            state = {}

    async def check(self) -> str:
        """The file must exist and be readable."""
        try:
            with self.settings.path.open("rb") as handle:
                header = handle.readline().decode().strip()
        except OSError as exc:
            raise DriverError(
                self.ctx.device_id, f"cannot read {self.settings.path}: {exc}"
            ) from exc
        return f"{self.settings.path} columns: {header}"
