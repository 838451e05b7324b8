"""mqtt_bridge: read a device's JSON messages from its own broker, map them to the profile.

The subscription uses a persistent session and manual acknowledgements: a message is acked
to the device's broker only after its reading is committed to our buffer.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import orjson
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from gateway.drivers.base import Batch, DriverContext
from gateway.drivers.mqtt_bridge.config import MqttBridgeSettings
from gateway.errors import DriverError
from telemetry.broker_url import parse_broker_url


def _lookup(data: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        if not isinstance(data, dict) or part not in data:
            return None
        data = data[part]
    return data


class MqttBridgeDriver:
    """One subscription on the device's broker."""

    def __init__(self, ctx: DriverContext, settings: MqttBridgeSettings) -> None:
        self.ctx = ctx
        self.settings = settings

    def _client(self, loop: asyncio.AbstractEventLoop, queue: asyncio.Queue[Any]) -> mqtt.Client:
        client_id = (
            self.settings.client_id
            or f"innotrial-bridge-{self.ctx.gateway_id}-{self.ctx.device_id}"
        )
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False, manual_ack=True
        )
        if self.settings.username is not None:
            secret = self.settings.password.get_secret_value() if self.settings.password else None
            client.username_pw_set(self.settings.username, secret)

        def on_connect(c: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
            if not reason.is_failure:
                c.subscribe(self.settings.topic, qos=1)

        def on_message(_c: mqtt.Client, _u: Any, message: mqtt.MQTTMessage) -> None:
            loop.call_soon_threadsafe(queue.put_nowait, message)

        client.on_connect = on_connect
        client.on_message = on_message
        client.reconnect_delay_set(1, 30)
        return client

    def _map(self, payload: bytes) -> dict[str, Any] | None:
        try:
            data = orjson.loads(payload)
        except orjson.JSONDecodeError:
            self.ctx.log.warning("%s: payload is not JSON: %r", self.ctx.device_id, payload[:80])
            return None
        raw: dict[str, Any] = {}
        for name, key in self.settings.fields.items():
            value = _lookup(data, key)
            if value is not None:
                raw[name] = value
        raw["ts_ms"] = self._ts_ms(
            _lookup(data, self.settings.ts_key) if self.settings.ts_key else None
        )
        return raw

    def _ts_ms(self, value: Any) -> Any:
        if value is None and self.settings.ts_key is None:
            return time.time_ns() // 1_000_000
        if self.settings.ts_format == "epoch_s" and isinstance(value, int | float):
            return round(value * 1000)
        if self.settings.ts_format == "rfc3339" and isinstance(value, str):
            with contextlib.suppress(ValueError):
                return int(datetime.fromisoformat(value).timestamp() * 1000)
        return value

    async def readings(self) -> AsyncIterator[Batch]:
        """Yield one batch per device message; ack it to the device broker after commit."""
        queue: asyncio.Queue[mqtt.MQTTMessage] = asyncio.Queue()
        client = self._client(asyncio.get_running_loop(), queue)
        broker = parse_broker_url(self.settings.broker_url)
        try:
            client.connect_async(broker.host, broker.port)
            client.loop_start()
            while True:
                message = await queue.get()
                raw = self._map(bytes(message.payload))
                reading = self.ctx.reading(raw) if raw is not None else None
                yield Batch([reading] if reading else [])
                client.ack(message.mid, message.qos)
        finally:
            client.disconnect()
            client.loop_stop()

    async def check(self) -> str:
        """Connect to the device's broker once."""
        broker = parse_broker_url(self.settings.broker_url)
        client = mqtt.Client(CallbackAPIVersion.VERSION2)
        try:
            await asyncio.to_thread(client.connect, broker.host, broker.port)
        except OSError as exc:
            raise DriverError(
                self.ctx.device_id, f"cannot reach {self.settings.broker_url}: {exc}"
            ) from exc
        client.disconnect()
        return f"{self.settings.broker_url} reachable; topic {self.settings.topic}"
