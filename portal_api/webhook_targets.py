"""Which webhook targets the portal may call: public addresses only, unless allowlisted.

A webhook URL is checked twice. When a subscription is created, a host written as an IP address
(in any form a resolver accepts: dotted, integer `2130706433`, octal `0177.0.0.1`, hex
`0x7f.1`, IPv6 and IPv4-mapped IPv6) and the name `localhost` are refused when the address is
loopback, private, link-local, multicast, unspecified or otherwise not global. At delivery the
host name is resolved and every address it resolves to is checked the same way; the delivery
then connects to the checked address (portal_api.webhook_post pins it). Networks listed in the
`api.webhook_allowed_networks` setting (CIDR) are allowed anyway, for on-premises receivers.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from telemetry.settings import IPNetwork

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
LOCAL_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback")
LOOPBACK = (ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1"))
_NUMERIC_HOST = re.compile(r"^(0x[0-9a-f]*|[0-9]+)(\.(0x[0-9a-f]*|[0-9]+))*$", re.IGNORECASE)


class TargetRefused(ValueError):
    """A webhook target the portal will not call; the message says why, without network detail."""


@dataclass(frozen=True, slots=True)
class Target:
    """A webhook URL taken apart: scheme, host name as written, port."""

    scheme: str
    host: str
    port: int


def split_target(url: str) -> Target:
    """Scheme, host and port of an http(s) URL; TargetRefused when it has none."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise TargetRefused("the webhook URL is not a valid URL") from exc
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise TargetRefused("the webhook URL must be http:// or https:// with a host")
    host = parts.hostname.rstrip(".").lower()
    return Target(scheme, host, port or (443 if scheme == "https" else 80))


def literal_address(host: str) -> IPAddress | None:
    """The address a host written as an IP means (any form inet_aton accepts), else None."""
    try:
        return ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        pass
    if not _NUMERIC_HOST.match(host):
        return None
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError as exc:  # numeric but not an address (e.g. 1.2.3.4.5): never a name to look up
        raise TargetRefused("the webhook host is a malformed IP address") from exc


def _embedded_v4(address: IPAddress) -> IPAddress:
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is not None:
            return embedded
    return address


def address_allowed(address: IPAddress, allowed: Sequence[IPNetwork]) -> bool:
    """True for a global unicast address, or one inside an allowlisted network."""
    if any(address in network for network in allowed):
        return True
    address = _embedded_v4(address)
    if any(address in network for network in allowed):
        return True
    return address.is_global and not (
        address.is_multicast or address.is_unspecified or address.is_reserved
    )


def _local_name(host: str) -> bool:
    return host in LOCAL_NAMES or host.endswith(".localhost")


def check_target(url: str, allowed: Sequence[IPNetwork]) -> Target:
    """Refuse (TargetRefused) a URL whose host is a non-public IP address or a local name."""
    target = split_target(url)
    address = literal_address(target.host)
    if address is not None:
        if not address_allowed(address, allowed):
            raise TargetRefused(
                "the webhook host is a loopback, private, link-local, multicast or unspecified "
                "address; use a public address (or ask the operator to allowlist an "
                "on-premises network)"
            )
    elif _local_name(target.host) and not any(address_allowed(lo, allowed) for lo in LOOPBACK):
        raise TargetRefused("the webhook host is localhost; use a public host name")
    return target


def _lookup(target: Target, timeout_s: float) -> list[IPAddress]:
    """The addresses of a host name, looked up in a helper thread given at most `timeout_s`
    (the resolver itself may take far longer for a name whose DNS server is slow)."""
    found: list[IPAddress] = []
    failed: list[BaseException] = []

    def look_up() -> None:
        try:
            infos = socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
            found.extend(ipaddress.ip_address(str(i[4][0]).split("%")[0]) for i in infos)
        except (OSError, UnicodeError, ValueError) as exc:
            failed.append(exc)

    thread = threading.Thread(target=look_up, name="webhook-dns", daemon=True)
    thread.start()
    thread.join(timeout_s)
    if thread.is_alive():
        raise TargetRefused("the webhook host name did not resolve in time")
    if failed or not found:
        raise TargetRefused("the webhook host name does not resolve")
    return found


def resolve_target(target: Target, allowed: Sequence[IPNetwork], timeout_s: float = 5.0) -> str:
    """The address to connect to: every address the host resolves to must be allowed."""
    literal = literal_address(target.host)
    addresses = [literal] if literal is not None else _lookup(target, timeout_s)
    if not addresses or not all(address_allowed(a, allowed) for a in addresses):
        raise TargetRefused("the webhook host resolves to an address that is not allowed")
    return str(addresses[0])
