"""Device drivers, registered explicitly by name (no folder scanning).

Each driver is a folder `gateway/drivers/<name>/` with `config.py` (a pydantic settings model,
extra="forbid"), `driver.py`, `sample.yaml`, `README.md` and `testcases/`. The registry holds
import paths so that `gateway check` of a simulator-only config never imports pymodbus.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from gateway.drivers.base import Batch, Driver, DriverContext


@dataclass(frozen=True, slots=True)
class DriverSpec:
    """Where a driver's settings model and implementation live."""

    name: str
    settings_path: str
    driver_path: str

    def settings_model(self) -> type[BaseModel]:
        """The pydantic model that validates this driver's `settings`."""
        model = _load(self.settings_path)
        assert isinstance(model, type) and issubclass(model, BaseModel)
        return model

    def create(self, ctx: DriverContext, settings: BaseModel) -> Driver:
        """Build a driver for one device."""
        factory = _load(self.driver_path)
        driver: Driver = factory(ctx, settings)
        return driver


def _load(path: str) -> Any:
    module_name, _, attribute = path.partition(":")
    return getattr(importlib.import_module(module_name), attribute)


def _spec(name: str, settings_class: str, driver_class: str) -> DriverSpec:
    base = f"gateway.drivers.{name}"
    return DriverSpec(name, f"{base}.config:{settings_class}", f"{base}.driver:{driver_class}")


DRIVERS: dict[str, DriverSpec] = {
    "simulator": _spec("simulator", "SimulatorSettings", "SimulatorDriver"),
    "fake": _spec("fake", "FakeSettings", "FakeDriver"),
    "modbus_tcp": _spec("modbus_tcp", "ModbusSettings", "ModbusDriver"),
    "http_push": _spec("http_push", "HttpPushSettings", "HttpPushDriver"),
    "csv_tail": _spec("csv_tail", "CsvTailSettings", "CsvTailDriver"),
    "mqtt_bridge": _spec("mqtt_bridge", "MqttBridgeSettings", "MqttBridgeDriver"),
}

__all__ = ["DRIVERS", "Batch", "Driver", "DriverContext", "DriverSpec"]
