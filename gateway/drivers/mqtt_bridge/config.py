"""Settings of the mqtt_bridge driver."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from telemetry.broker_url import PlainBrokerUrl


class MqttBridgeSettings(BaseModel):
    """Subscribe to the device's own broker and map its JSON keys to profile fields."""

    model_config = ConfigDict(extra="forbid")

    broker_url: PlainBrokerUrl
    topic: Annotated[str, Field(min_length=1)]
    client_id: Annotated[str, Field(min_length=1, max_length=128)] | None = None
    username: str | None = None
    password: SecretStr | None = None
    fields: Annotated[dict[str, str], Field(min_length=1)]
    """profile field -> JSON key in the device's payload (dots reach into nested objects)."""
    ts_key: str | None = "ts_ms"
    """JSON key of the timestamp; None stamps readings with the gateway's receive time."""
    ts_format: Literal["epoch_ms", "epoch_s", "rfc3339"] = "epoch_ms"
