"""`gateway check`: config, clock, broker reachability and credentials, each driver."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from gateway.buffer import Buffer
from gateway.config import GatewayConfig
from gateway.errors import BrokerError, GatewayError
from gateway.publisher import connect, make_client
from gateway.runner import build_drivers
from gateway.status import clock_is_plausible

DRIVER_CHECK_TIMEOUT_S = 10.0


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One row of the check table."""

    name: str
    ok: bool
    detail: str


def check_clock() -> CheckResult:
    """Is the system clock plausible (after 2024)?"""
    now = datetime.now(UTC).isoformat(timespec="seconds")
    if clock_is_plausible():
        return CheckResult("clock", True, f"{now} (MQTT gives no broker time to compare with)")
    return CheckResult("clock", False, f"{now} is before 2024: enable NTP")


def check_broker(config: GatewayConfig, timeout_s: float = 5.0) -> CheckResult:
    """Connect with the configured credentials and TLS, then disconnect."""
    client = make_client(config, f"innotrial-check-{config.gateway_id}")
    try:
        connect(config, client, timeout_s)
    except BrokerError as exc:
        return CheckResult("broker", False, exc.problem)
    client.disconnect()
    auth = "with credentials" if config.username else "anonymous"
    return CheckResult("broker", True, f"{config.broker_url} accepted the connection ({auth})")


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
    results.append(check_broker(config))
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
    lines += [f"{r.name:<{width}}  {'ok' if r.ok else 'FAIL':<6}  {r.detail}" for r in results]
    return "\n".join(lines)
