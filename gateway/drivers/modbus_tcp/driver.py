"""modbus_tcp: poll holding/input registers and turn them into one reading per poll.

Readings are stamped at the start of their poll interval (floor(now / interval) * interval),
so a periodic profile gets exactly one reading per period. A device that stops answering is
logged once, retried with exponential backoff (up to backoff_max_s) and the missed periods
stay missing: gaps are the truth, never filled in.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from pymodbus.client import AsyncModbusTcpClient
from pymodbus.exceptions import ModbusException

from gateway.drivers.base import Batch, DriverContext
from gateway.drivers.modbus_tcp.config import ModbusSettings, RegisterField
from gateway.errors import DriverError

DATATYPES = {
    name.lower(): member for name, member in AsyncModbusTcpClient.DATATYPE.__members__.items()
}


class ModbusDriver:
    """Polls one Modbus TCP device."""

    def __init__(self, ctx: DriverContext, settings: ModbusSettings) -> None:
        self.ctx = ctx
        self.settings = settings
        self._client: AsyncModbusTcpClient | None = None

    async def _connected(self) -> AsyncModbusTcpClient:
        if self._client is None or not self._client.connected:
            self._close()
            client = AsyncModbusTcpClient(
                self.settings.host,
                port=self.settings.port,
                timeout=self.settings.timeout_s,
                retries=0,
                reconnect_delay=0,
            )
            if not await client.connect():
                client.close()
                raise DriverError(
                    self.ctx.device_id,
                    f"cannot connect to {self.settings.host}:{self.settings.port}",
                )
            self._client = client
        return self._client

    def _close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    async def _read_field(self, client: AsyncModbusTcpClient, spec: RegisterField) -> float:
        read = (
            client.read_holding_registers
            if spec.table == "holding"
            else client.read_input_registers
        )
        try:
            response = await read(spec.address, count=spec.count, device_id=self.settings.unit_id)
        except ModbusException as exc:
            self._close()
            raise DriverError(self.ctx.device_id, f"no answer: {exc}") from exc
        if response.isError():
            raise DriverError(self.ctx.device_id, f"register {spec.address}: {response}")
        raw = client.convert_from_registers(
            response.registers, DATATYPES[spec.data_type], spec.word_order
        )
        assert isinstance(raw, int | float)
        return float(raw) * spec.scale + spec.offset

    async def poll(self) -> dict[str, Any]:
        """Read every configured field once (raises DriverError)."""
        client = await self._connected()
        return {
            name: await self._read_field(client, spec)
            for name, spec in self.settings.fields.items()
        }

    async def readings(self) -> AsyncIterator[Batch]:
        """Poll at each interval boundary; back off while the device does not answer."""
        interval_ms = int(self.settings.poll_interval_s * 1000)
        failures, last_tick_ms = 0, -1
        try:
            while True:
                tick_ms = time.time_ns() // 1_000_000 // interval_ms * interval_ms
                if tick_ms <= last_tick_ms:  # one reading per interval, even after a backoff
                    await asyncio.sleep(max(0.0, (last_tick_ms + interval_ms) / 1000 - time.time()))
                    continue
                try:
                    values = await self.poll()
                except DriverError as exc:
                    failures += 1
                    delay_s = min(
                        self.settings.backoff_max_s,
                        self.settings.timeout_s * 2 ** min(failures, 16),
                    )
                    if failures == 1:
                        self.ctx.log.warning("%s; retrying with backoff", exc)
                    await asyncio.sleep(delay_s)
                    continue
                if failures:
                    self.ctx.log.info(
                        "%s: device answers again after %d failures", self.ctx.device_id, failures
                    )
                    failures = 0
                last_tick_ms = tick_ms
                reading = self.ctx.reading({"ts_ms": tick_ms, **self._typed(values)})
                yield Batch([reading] if reading else [])
                next_ms = tick_ms + interval_ms
                await asyncio.sleep(max(0.0, next_ms / 1000 - time.time()))
        finally:
            self._close()

    def _typed(self, values: dict[str, Any]) -> dict[str, Any]:
        typed: dict[str, Any] = {}
        for name, value in values.items():
            spec = self.ctx.profile.fields.get(name)
            kind = spec.type.value if spec else "float"
            typed[name] = (
                round(value) if kind == "int" else bool(value) if kind == "bool" else value
            )
        return typed

    async def check(self) -> str:
        """Read every field once."""
        try:
            values = await self.poll()
        finally:
            self._close()
        return f"{self.settings.host}:{self.settings.port} unit {self.settings.unit_id}: {values}"
