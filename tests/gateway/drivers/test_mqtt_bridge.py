"""mqtt_bridge maps a device's own JSON to the profile, reading it from the device's broker."""

from __future__ import annotations

import asyncio
import uuid

import orjson
import paho.mqtt.publish as publish

from tests.gateway.drivers.harness import as_wire, collect, make_driver
from tests.services import Mosquitto


def test_maps_device_json(mosquitto: Mosquitto) -> None:
    topic = f"vendor/{uuid.uuid4().hex[:8]}/lift"
    settings = {
        "broker_url": mosquitto.url,
        "topic": topic,
        "fields": {"event_type": "evt.kind", "firmware": "fw"},
        "ts_key": "time",
        "ts_format": "epoch_s",
    }
    driver, ctx = make_driver("mqtt_bridge", "lift_monitor", settings, device_id="lm-1")

    async def scenario() -> list:
        async def send() -> None:
            await asyncio.sleep(1.0)
            for body in (
                {"time": 1_750_000_000, "evt": {"kind": "fault_door"}, "fw": "1.2"},
                {"time": 1_750_000_060, "evt": {"kind": "exploded"}},  # not in the enum
                {"time": 1_750_000_120, "evt": {"kind": "in_service"}},
            ):
                publish.single(
                    topic, orjson.dumps(body), qos=1, hostname="127.0.0.1", port=mosquitto.port
                )

        sender = asyncio.create_task(send())
        readings = await collect(driver, ctx, lambda r: len(r) >= 2)
        await sender
        return readings

    readings = asyncio.run(scenario())
    assert as_wire(readings) == [
        {"ts_ms": 1_750_000_000_000, "event_type": "fault_door", "firmware": "1.2"},
        {"ts_ms": 1_750_000_120_000, "event_type": "in_service"},
    ]
    assert ctx.rejected == 1
