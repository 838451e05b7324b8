"""modbus_tcp against a real pymodbus server: decoding, and a device that stops answering."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct

import pytest
from pymodbus.datastore import ModbusDeviceContext, ModbusSequentialDataBlock, ModbusServerContext
from pymodbus.server import ModbusTcpServer

from tests.gateway.drivers.harness import make_driver
from tests.services import free_port


def _float32_words(value: float, word_order: str) -> list[int]:
    high, low = struct.unpack(">HH", struct.pack(">f", value))
    return [high, low] if word_order == "big" else [low, high]


def _server(port: int) -> ModbusTcpServer:
    holding = [0] * 20
    holding[0] = 1234  # rain_mm x 100 (uint16)
    holding[2:4] = _float32_words(3.75, "little")  # battery_v float32, little word order
    inputs = [0] * 20
    inputs[4] = (-70) & 0xFFFF  # rssi_dbm int16
    device = ModbusDeviceContext(
        hr=ModbusSequentialDataBlock(1, holding), ir=ModbusSequentialDataBlock(1, inputs)
    )
    context = ModbusServerContext(devices={1: device}, single=False)
    return ModbusTcpServer(context, address=("127.0.0.1", port))


SETTINGS = {
    "poll_interval_s": 0.5,
    "timeout_s": 0.5,
    "backoff_max_s": 1.0,
    "fields": {
        "rain_mm": {"address": 0, "data_type": "uint16", "scale": 0.01},
        "battery_v": {"address": 2, "data_type": "float32", "word_order": "little"},
        "rssi_dbm": {"table": "input", "address": 4, "data_type": "int16"},
    },
}


async def _start(port: int) -> tuple[ModbusTcpServer, asyncio.Task]:
    server = _server(port)
    task = asyncio.create_task(server.serve_forever())
    await asyncio.sleep(0.3)
    return server, task


async def _stop(server: ModbusTcpServer, task: asyncio.Task) -> None:
    await server.shutdown()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def test_device_stops_answering_then_recovers(caplog: pytest.LogCaptureFixture) -> None:
    port = free_port()
    driver, _ctx = make_driver(
        "modbus_tcp", "rain_gauge", {"host": "127.0.0.1", "port": port, **SETTINGS}
    )
    readings: list = []

    async def scenario() -> int:
        server, task = await _start(port)
        consumer = asyncio.create_task(_consume(driver, readings))
        await _wait(lambda: len(readings) >= 2)
        await _stop(server, task)
        before = len(readings)
        await asyncio.sleep(2.5)  # device silent: the driver logs and backs off
        assert len(readings) <= before + 1
        server, task = await _start(port)
        await _wait(lambda: len(readings) >= before + 2)
        assert not consumer.done(), "the driver kept running"
        consumer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await consumer
        await _stop(server, task)
        return before

    with caplog.at_level(logging.WARNING):
        asyncio.run(scenario())
    first = readings[0]
    assert first.values == {"rain_mm": pytest.approx(12.34), "battery_v": 3.75, "rssi_dbm": -70.0}
    assert all(r.ts_ms % 500 == 0 for r in readings)
    assert len({r.ts_ms for r in readings}) == len(readings)
    assert any("retrying with backoff" in m for m in caplog.messages)


async def _consume(driver, readings: list) -> None:
    async for batch in driver.readings():
        readings.extend(batch.readings)


async def _wait(predicate, timeout_s: float = 20.0) -> None:
    for _ in range(int(timeout_s / 0.05)):
        if predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not reached")


def test_check_reports_unreachable_device() -> None:
    from gateway.errors import DriverError

    driver, _ctx = make_driver(
        "modbus_tcp", "rain_gauge", {"host": "127.0.0.1", "port": free_port(), **SETTINGS}
    )
    with pytest.raises(DriverError, match="cannot connect"):
        asyncio.run(driver.check())
