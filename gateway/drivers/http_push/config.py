"""Settings of the http_push driver."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field


class HttpPushSettings(BaseModel):
    """A local HTTP endpoint the device POSTs JSON readings to."""

    model_config = ConfigDict(extra="forbid")

    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=0, le=65_535)]
    path: Annotated[str, Field(pattern=r"^/[A-Za-z0-9/_-]*$")] = "/readings"
    max_body_bytes: Annotated[int, Field(ge=1, le=16 * 1024 * 1024)] = 1024 * 1024
    request_timeout_s: Annotated[float, Field(gt=0)] = 10.0
