"""Everything one ingest worker needs to run, built from Settings or given directly."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from innotrial.settings import Settings
from telemetry.broker_url import BrokerAddress, parse_broker_url


@dataclass(frozen=True, slots=True)
class IngestConfig:
    """Configuration of one IngestWorker."""

    broker_url: str
    store_url: str
    database_url: str
    client_id: str = "innotrial-ingest"
    shared_group: str | None = None
    mqtt_username: str | None = None
    mqtt_password: str | None = None
    mqtt_version: int = 5  # 5, or 311 / 4 for MQTT 3.1.1
    batch_max_readings: int = 20_000
    batch_max_delay_ms: int = 200
    max_inflight_messages: int = 1_000
    metrics_port: int | None = None
    metrics_host: str = "127.0.0.1"
    registry_refresh_s: float = 2.0
    session_expiry_s: int = 7 * 24 * 3600
    keepalive_s: int = 30

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> IngestConfig:
        """Build from Settings; keyword overrides (not None) win."""
        section = settings.ingest
        password = section.mqtt_password.get_secret_value() if section.mqtt_password else None
        config = cls(
            broker_url=settings.broker_url,
            store_url=settings.effective_store_url,
            database_url=settings.effective_database_url,
            client_id=section.client_id,
            shared_group=section.shared_group,
            mqtt_username=section.mqtt_username,
            mqtt_password=password,
            mqtt_version=section.mqtt_version,
            batch_max_readings=section.batch_max_readings,
            batch_max_delay_ms=section.batch_max_delay_ms,
            max_inflight_messages=section.max_inflight_messages,
            metrics_port=section.metrics_port,
            metrics_host=section.metrics_host,
            registry_refresh_s=section.registry_refresh_s,
            session_expiry_s=section.session_expiry_s,
        )
        return replace(config, **{k: v for k, v in overrides.items() if v is not None})

    @property
    def broker(self) -> BrokerAddress:
        """The parsed broker URL (raises BadBrokerUrl)."""
        return parse_broker_url(self.broker_url)
