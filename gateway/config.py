"""Gateway configuration: one YAML file validated by pydantic (extra="forbid" everywhere)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    field_validator,
)

from device_profiles import builtin_profiles
from gateway.drivers import DRIVERS
from telemetry.broker_url import BrokerAddress, BrokerUrl, parse_broker_url
from telemetry.settings import ConfigError
from telemetry.wire import IdStr


class TlsConfig(BaseModel):
    """TLS towards the broker: CA bundle and optional client certificate."""

    model_config = ConfigDict(extra="forbid")

    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None


class BatchConfig(BaseModel):
    """How readings are packed into messages."""

    model_config = ConfigDict(extra="forbid")

    max_readings: Annotated[int, Field(ge=1, le=5000)] = 100
    max_delay_ms: Annotated[int, Field(ge=0, le=600_000)] = 1000


class DeviceConfig(BaseModel):
    """One device on this gateway; `settings` are validated by the driver's own model."""

    model_config = ConfigDict(extra="forbid")

    id: IdStr
    profile: str
    driver: str
    settings: dict[str, Any] = Field(default_factory=dict)

    @field_validator("profile")
    @classmethod
    def _known_profile(cls, value: str) -> str:
        known = builtin_profiles()
        if value not in known:
            raise ValueError(f"unknown profile {value!r} (known: {', '.join(sorted(known))})")
        return value

    @field_validator("driver")
    @classmethod
    def _known_driver(cls, value: str) -> str:
        if value not in DRIVERS:
            raise ValueError(f"unknown driver {value!r} (known: {', '.join(sorted(DRIVERS))})")
        return value


class GatewayConfig(BaseModel):
    """The whole gateway configuration file."""

    model_config = ConfigDict(extra="forbid")

    gateway_id: IdStr
    broker_url: BrokerUrl
    buffer_path: Path
    username: str | None = None
    password: SecretStr | None = None
    tls: TlsConfig | None = None
    client_id: str | None = None
    buffer_max_mb: Annotated[float, Field(gt=0)] = 1024.0
    buffer_sync: Literal["full", "normal"] = "full"
    batch: BatchConfig = BatchConfig()
    max_inflight: Annotated[int, Field(ge=1, le=10_000)] = 500
    delivery: Literal["confirm", "puback"] = "confirm"
    confirm_timeout_s: Annotated[float, Field(gt=0, le=86_400)] = 30.0
    confirm_timeout_max_s: Annotated[float, Field(gt=0, le=86_400)] = 600.0
    keepalive_s: Annotated[int, Field(ge=5, le=3600)] = 30
    status_interval_s: Annotated[float, Field(gt=0)] = 30.0
    reconnect_min_s: Annotated[float, Field(gt=0)] = 0.5
    reconnect_max_s: Annotated[float, Field(gt=0)] = 30.0
    shutdown_drain_s: Annotated[float, Field(ge=0)] = 5.0
    devices: list[DeviceConfig]
    _driver_settings: dict[str, BaseModel] = PrivateAttr(default_factory=dict)

    @field_validator("devices")
    @classmethod
    def _unique_ids(cls, value: list[DeviceConfig]) -> list[DeviceConfig]:
        seen: set[str] = set()
        for device in value:
            if device.id in seen:
                raise ValueError(f"device id {device.id!r} appears twice")
            seen.add(device.id)
        return value

    def settings_for(self, device_id: str) -> BaseModel:
        """The validated driver settings of one device."""
        return self._driver_settings[device_id]

    @property
    def broker(self) -> BrokerAddress:
        """The parsed broker URL."""
        return parse_broker_url(self.broker_url)

    @property
    def broker_host(self) -> str:
        """Host name of the broker."""
        return self.broker.host

    @property
    def broker_port(self) -> int:
        """TCP port of the broker (1883, or 8883 for mqtts)."""
        return self.broker.port

    @property
    def uses_tls(self) -> bool:
        """True for an mqtts:// broker or when a TLS section is given."""
        return self.broker.tls or self.tls is not None

    @property
    def buffer_max_bytes(self) -> int:
        """The buffer size limit in bytes of stored payloads."""
        return int(self.buffer_max_mb * 1024 * 1024)


def _key(loc: tuple[int | str, ...], prefix: str = "") -> str:
    return prefix + (".".join(str(part) for part in loc) or "(top level)")


def parse_config(data: Any, source: str = "gateway config") -> GatewayConfig:
    """Validate a config mapping and each device's driver settings; raise ConfigError."""
    if not isinstance(data, Mapping):
        raise ConfigError("(top level)", "expected a mapping of gateway settings", source)
    try:
        config = GatewayConfig.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ConfigError(_key(first["loc"]), first["msg"], source) from exc
    for index, device in enumerate(config.devices):
        model = DRIVERS[device.driver].settings_model()
        try:
            config._driver_settings[device.id] = model.model_validate(device.settings)
        except ValidationError as exc:
            first = exc.errors()[0]
            key = _key(first["loc"], f"devices.{index}.settings.")
            raise ConfigError(key, first["msg"], source) from exc
        except ValueError as exc:
            raise ConfigError(f"devices.{index}.settings", str(exc), source) from exc
    return config


def load_config(path: Path | str) -> GatewayConfig:
    """Read and validate a gateway YAML file; raise ConfigError naming the file and key."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError("(file)", f"cannot read: {exc.strerror}", str(path)) from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "(file)"
        raise ConfigError(
            where, f"not valid YAML: {getattr(exc, 'problem', exc)}", str(path)
        ) from exc
    return parse_config(data, str(path))
