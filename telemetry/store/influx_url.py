"""Parse `influxdb://[USER:PASS@]HOST[:PORT]/DATABASE` store URLs; never show the password."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from telemetry.store.base import BadStoreUrl

DEFAULT_PORT = 8086
DATABASE_PATTERN = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_USERINFO = re.compile(r"//([^/@:]*):[^/@]*@")


def mask_password(url: str) -> str:
    """The URL with the password of its userinfo replaced by ***."""
    return _USERINFO.sub(r"//\1:***@", url)


@dataclass(frozen=True, slots=True)
class InfluxUrl:
    """The parts of an InfluxDB store URL."""

    host: str
    port: int
    database: str
    username: str = ""
    password: str = field(default="", repr=False)

    @property
    def base_url(self) -> str:
        """http://HOST:PORT of the InfluxDB HTTP API."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def display(self) -> str:
        """The store URL with the password masked, for messages and logs."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        user = f"{self.username}@" if self.username else ""
        if self.password:
            user = f"{self.username}:***@"
        return f"influxdb://{user}{host}:{self.port}/{self.database}"


def parse_influx_url(url: str) -> InfluxUrl:
    """Split an influxdb:// URL; raises BadStoreUrl (with the password masked) on any problem."""
    shown = mask_password(url)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise BadStoreUrl(shown, f"cannot parse host and port: {exc}") from None
    if port == 0:
        raise BadStoreUrl(shown, "port must be between 1 and 65535")
    if parts.scheme != "influxdb":
        raise BadStoreUrl(shown, "expected influxdb://[USER:PASS@]HOST:PORT/DATABASE")
    if not parts.hostname:
        raise BadStoreUrl(shown, "missing host (influxdb://HOST:PORT/DATABASE)")
    if parts.query or parts.fragment:
        raise BadStoreUrl(shown, "unexpected ?query or #fragment after the database name")
    database = unquote(parts.path[1:] if parts.path.startswith("/") else parts.path)
    if not database:
        raise BadStoreUrl(shown, "missing database name (influxdb://HOST:PORT/DATABASE)")
    if not DATABASE_PATTERN.fullmatch(database):
        raise BadStoreUrl(
            shown, f"database name {database!r} must match {DATABASE_PATTERN.pattern}"
        )
    if parts.password is not None and not parts.username:
        raise BadStoreUrl(shown, "a password needs a user name (USER:PASS@)")
    return InfluxUrl(
        host=parts.hostname,
        port=DEFAULT_PORT if port is None else port,
        database=database,
        username=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
    )
