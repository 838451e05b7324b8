"""One settings model for every innotrial command.

Sources, highest priority first: keyword arguments (command-line flags), `INNOTRIAL_*`
environment variables (nested sections with `__`, e.g. `INNOTRIAL_INGEST__CLIENT_ID`), the
YAML settings file (`--settings FILE`, `INNOTRIAL_SETTINGS_FILE`, or `./innotrial.yaml` when it
exists), then defaults.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from telemetry.broker_url import BrokerUrl
from telemetry.errors import UserError

DEFAULT_SETTINGS_FILE = Path("innotrial.yaml")
SETTINGS_FILE_ENV = "INNOTRIAL_SETTINGS_FILE"


class ConfigError(UserError):
    """Bad configuration: names the key and the problem. Commands exit with status 2."""

    def __init__(self, key: str, problem: str, source: str = "settings") -> None:
        self.key = key
        self.problem = problem
        self.source = source
        super().__init__(f"{source}: {key}: {problem}")


class IngestSettings(BaseModel):
    """The ingest worker's section (`ingest:` in the file, `INNOTRIAL_INGEST__*`)."""

    model_config = ConfigDict(extra="forbid")

    client_id: Annotated[str, Field(min_length=1, max_length=128)] = "innotrial-ingest"
    shared_group: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")] | None = None
    mqtt_username: str | None = None
    mqtt_password: SecretStr | None = None
    batch_max_readings: Annotated[int, Field(ge=1, le=1_000_000)] = 20_000
    batch_max_delay_ms: Annotated[int, Field(ge=1, le=60_000)] = 200
    max_inflight_messages: Annotated[int, Field(ge=1, le=65_535)] = 1_000
    metrics_port: Annotated[int, Field(ge=0, le=65_535)] | None = None
    registry_refresh_s: Annotated[float, Field(gt=0, le=3600)] = 2.0
    mqtt_version: int = 5
    metrics_host: str = "127.0.0.1"
    session_expiry_s: Annotated[int, Field(ge=0, le=4_294_967_295)] = 7 * 24 * 3600

    @field_validator("mqtt_version")
    @classmethod
    def _known_mqtt_version(cls, value: int) -> int:
        if value not in (5, 311, 4):  # 4 is MQTT 3.1.1's protocol level (paho's MQTTv311)
            raise ValueError("must be 5 (MQTT 5) or 311 (MQTT 3.1.1)")
        return value


IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(entries: Sequence[str]) -> tuple[IPNetwork, ...]:
    """CIDR strings as networks; ValueError naming the entry that is not one."""
    networks = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError as exc:
            raise ValueError(f"{entry!r} is not an IP network (CIDR, e.g. 10.1.2.0/24)") from exc
    return tuple(networks)


class ApiSettings(BaseModel):
    """The portal API's section (`api:` in the file, `INNOTRIAL_API__*`)."""

    model_config = ConfigDict(extra="forbid")

    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=0, le=65_535)] = 8000
    public_url: str | None = None
    metrics_cache_ttl_s: Annotated[float, Field(ge=0, le=3600)] = 10.0
    metrics_check_interval_s: Annotated[float, Field(ge=0, le=3600)] = 1.0
    notify_interval_s: Annotated[float, Field(ge=0, le=3600)] = 5.0
    notify_max_attempts: Annotated[int, Field(ge=1, le=100)] = 8
    notify_backoff_base_s: Annotated[float, Field(gt=0, le=3600)] = 2.0
    notify_backoff_max_s: Annotated[float, Field(gt=0, le=86_400)] = 3600.0
    notify_timeout_s: Annotated[float, Field(gt=0, le=300)] = 5.0
    webhook_allowed_networks: list[str] = []
    webhook_max_response_bytes: Annotated[int, Field(ge=0, le=16_777_216)] = 65_536
    webhook_max_subscriptions: Annotated[int, Field(ge=1, le=10_000)] = 20
    cookie_secure: bool | None = None

    @field_validator("webhook_allowed_networks")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        parse_networks(value)
        return value

    @property
    def webhook_networks(self) -> tuple[IPNetwork, ...]:
        """`webhook_allowed_networks` as networks."""
        return parse_networks(self.webhook_allowed_networks)

    @property
    def session_cookie_secure(self) -> bool:
        """Mark the session cookie Secure: `cookie_secure`, else when public_url is https."""
        if self.cookie_secure is not None:
            return self.cookie_secure
        return (self.public_url or "").lower().startswith("https://")


class Settings(BaseSettings):
    """Settings shared by every innotrial command."""

    model_config = SettingsConfigDict(
        env_prefix="INNOTRIAL_", env_nested_delimiter="__", extra="forbid", validate_default=True
    )

    data_dir: Path = Path("./innotrial-data")
    database_url: str | None = None
    store_url: str | None = None
    broker_url: BrokerUrl = "mqtt://127.0.0.1:1883"
    log_level: str = "INFO"
    settings_file: Path | None = None
    trusted_keys_dir: Path | None = None
    ingest: IngestSettings = IngestSettings()
    api: ApiSettings = ApiSettings()

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR")
        return level

    @field_validator("trusted_keys_dir")
    @classmethod
    def _absolute_keys_dir(cls, value: Path | None) -> Path | None:
        if value is not None and not value.expanduser().is_absolute():
            raise ValueError("must be an absolute path (never relative to the current directory)")
        return None if value is None else value.expanduser()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings)

    @property
    def effective_database_url(self) -> str:
        """The registry database URL (default: SQLite file in the data dir)."""
        return self.database_url or f"sqlite:///{(self.data_dir / 'registry.db').resolve()}"

    @property
    def effective_store_url(self) -> str:
        """The time-series store URL (default: SQLite file in the data dir)."""
        return self.store_url or f"sqlite:///{(self.data_dir / 'readings.db').resolve()}"


def _read_settings_file(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError("(file)", f"cannot read: {exc.strerror}", str(path)) from exc
    except yaml.YAMLError as exc:
        raise ConfigError("(file)", f"not valid YAML: {exc}", str(path)) from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError("(top level)", "expected a mapping of settings", str(path))
    return data


def load_settings(
    settings_file: Path | None = None, *, cwd_file: bool = True, **overrides: Any
) -> Settings:
    """Build Settings from file, environment and overrides; raise ConfigError naming the key.

    `cwd_file=False` ignores `./innotrial.yaml` (for `report verify`, whose trust must never
    come from the directory it runs in)."""
    path = settings_file
    if path is None and os.environ.get(SETTINGS_FILE_ENV):
        path = Path(os.environ[SETTINGS_FILE_ENV])
    if path is None and cwd_file and DEFAULT_SETTINGS_FILE.exists():
        path = DEFAULT_SETTINGS_FILE
    file_values = _read_settings_file(path) if path is not None else {}
    given = {key: value for key, value in overrides.items() if value is not None}
    try:
        env_only = Settings()
        env_set = env_only.model_fields_set
        merged = {**file_values}
        for key in env_set:
            merged[key] = getattr(env_only, key)
        merged.update(given)
        if path is not None:
            merged["settings_file"] = path
        return Settings.model_validate(merged)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(part) for part in first["loc"]) or "(top level)"
        source = str(path) if path is not None else "settings"
        env_name = "INNOTRIAL_" + key.replace(".", "__").upper()
        raise ConfigError(key, f"{first['msg']} (file key {key!r} or {env_name})", source) from exc
