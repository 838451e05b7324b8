"""Settings of the mqtt_bridge driver."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from telemetry.broker_url import BadBrokerUrl, parse_broker_url


class MqttBridgeSettings(BaseModel):
    """Subscribe to the device's own broker and map its JSON keys to profile fields."""

    model_config = ConfigDict(extra="forbid")

    broker_url: str
    topic: Annotated[str, Field(min_length=1)]
    client_id: Annotated[str, Field(min_length=1, max_length=128)] | None = None
    username: str | None = None
    password: SecretStr | None = None
    fields: Annotated[dict[str, str], Field(min_length=1)]
    """profile field -> JSON key in the device's payload (dots reach into nested objects)."""
    ts_key: str | None = "ts_ms"
    """JSON key of the timestamp; None stamps readings with the gateway's receive time."""
    ts_format: Literal["epoch_ms", "epoch_s", "rfc3339"] = "epoch_ms"

    @field_validator("broker_url")
    @classmethod
    def _mqtt_url(cls, value: str) -> str:
        try:
            parse_broker_url(value, allow_tls=False)
        except BadBrokerUrl as exc:
            raise ValueError(exc.problem) from exc
        return value
