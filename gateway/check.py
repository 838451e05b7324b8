"""`gateway check`: config, clock, broker reachability and credentials, ingest presence, each
driver."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import paho.mqtt.client as mqtt

from gateway.buffer import Buffer
from gateway.config import GatewayConfig
from gateway.errors import BrokerError, GatewayError
from gateway.publisher import connect, make_client
from gateway.runner import build_drivers
from gateway.status import clock_is_plausible
from telemetry.acks import PRESENCE_SUBSCRIPTION, AckError, decode_presence, presence_worker

DRIVER_CHECK_TIMEOUT_S = 10.0
PRESENCE_WAIT_S = 1.0
"""How long after the subscription is granted retained presence messages are collected."""


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One row of the check table; a `warning` is shown as WARN but does not fail the check."""

    name: str
    ok: bool
    detail: str
    warning: bool = False

    @property
    def result(self) -> str:
        """ok, WARN or FAIL."""
        if not self.ok:
            return "FAIL"
        return "WARN" if self.warning else "ok"


def check_clock() -> CheckResult:
    """Is the system clock plausible (after 2024)?"""
    now = datetime.now(UTC).isoformat(timespec="seconds")
    if clock_is_plausible():
        return CheckResult("clock", True, f"{now} (MQTT gives no broker time to compare with)")
    return CheckResult("clock", False, f"{now} is before 2024: enable NTP")


def check_broker(config: GatewayConfig, timeout_s: float = 5.0) -> list[CheckResult]:
    """Connect with the configured credentials and TLS; on the same connection, whether an
    ingest worker is online (`check_ingest`). The ingest row is left out when the connection
    fails."""
    client = make_client(config, f"innotrial-check-{config.gateway_id}")
    try:
        connect(config, client, timeout_s)
    except BrokerError as exc:
        return [CheckResult("broker", False, exc.problem)]
    try:
        auth = "with credentials" if config.username else "anonymous"
        accepted = CheckResult("broker", True, f"{config.broker_url} accepted the connection "
                                               f"({auth})")
        return [accepted, check_ingest(config, client, timeout_s)]
    finally:
        client.disconnect()


def _online_workers(client: mqtt.Client, timeout_s: float) -> set[str] | None:
    """The ingest workers whose retained presence says online, read on a connected client;
    None when the broker refuses the subscription. (Mosquitto grants a subscription its ACL
    denies and delivers nothing, which looks like no worker online; other brokers answer
    SUBACK with a failure.)"""
    online: set[str] = set()
    granted: list[bool] = []

    def on_subscribe(_c: mqtt.Client, _u: Any, _mid: int, reasons: Any, _p: Any) -> None:
        granted.append(not any(reason.is_failure for reason in reasons))

    def on_message(_c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        worker = presence_worker(msg.topic)
        try:
            if worker is not None and decode_presence(bytes(msg.payload)):
                online.add(worker)
        except AckError:
            pass  # not a worker's presence: not counted

    client.on_subscribe = on_subscribe
    client.on_message = on_message
    client.subscribe(PRESENCE_SUBSCRIPTION, qos=1)
    deadline = time.monotonic() + timeout_s
    while not granted and time.monotonic() < deadline:
        client.loop(0.05)
    settle = time.monotonic() + PRESENCE_WAIT_S
    while granted and time.monotonic() < settle:
        client.loop(0.05)
    return online if granted and granted[0] else None


def check_ingest(config: GatewayConfig, client: mqtt.Client, timeout_s: float) -> CheckResult:
    """Is an ingest worker online to confirm what this gateway sends (`delivery: confirm`)?
    Asked on `client`, connected to the broker."""
    if config.delivery == "puback":
        return CheckResult("ingest", True, "delivery: puback: messages are deleted on the "
                                           "broker's PUBACK, ingest presence is not needed")
    online = _online_workers(client, timeout_s)
    if online is None:
        return CheckResult("ingest", False, "the broker refused the subscription to ingest "
                                            "presence: its ACL must let this gateway read it "
                                            "(see `innotrial broker config`)")
    if not online:
        return CheckResult("ingest", True, "no ingest worker online: readings are kept in the "
                                           "buffer until one is (or the broker's ACL hides "
                                           "ingest presence from this gateway)", warning=True)
    names = ", ".join(sorted(online))
    return CheckResult("ingest", True, f"{len(online)} ingest worker(s) online: {names}")


async def _check_drivers(config: GatewayConfig, buffer: Buffer) -> list[CheckResult]:
    results = []
    for device_id, (driver, _ctx) in build_drivers(config, buffer).items():
        name = f"device {device_id}"
        try:
            detail = await asyncio.wait_for(driver.check(), DRIVER_CHECK_TIMEOUT_S)
            results.append(CheckResult(name, True, detail))
        except TimeoutError:
            results.append(CheckResult(name, False, f"no answer in {DRIVER_CHECK_TIMEOUT_S:.0f} s"))
        except GatewayError as exc:
            results.append(CheckResult(name, False, str(exc)))
        except OSError as exc:
            results.append(CheckResult(name, False, f"{type(exc).__name__}: {exc}"))
    return results


def run_checks(config: GatewayConfig, source: str) -> list[CheckResult]:
    """All checks, in table order."""
    results = [CheckResult("config", True, f"{source}: {len(config.devices)} devices")]
    results.append(check_clock())
    results.extend(check_broker(config))
    try:
        buffer = Buffer(config.buffer_path, config.buffer_max_bytes, config.buffer_sync)
    except GatewayError as exc:
        return [*results, CheckResult("buffer", False, str(exc))]
    try:
        results.append(
            CheckResult("buffer", True, f"{config.buffer_path}: {buffer.depth()} messages")
        )
        logging.getLogger("gateway.driver").setLevel(logging.ERROR)
        results.extend(asyncio.run(_check_drivers(config, buffer)))
    finally:
        buffer.close()
    return results


def format_table(results: list[CheckResult]) -> str:
    """The check results as an aligned text table."""
    width = max(len(r.name) for r in results)
    lines = [f"{'check':<{width}}  result  detail"]
    lines += [f"{r.name:<{width}}  {r.result:<6}  {r.detail}" for r in results]
    return "\n".join(lines)
