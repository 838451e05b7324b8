"""The gateway's exception tree; each exception carries its context as attributes."""

from __future__ import annotations


class GatewayError(Exception):
    """Base of every gateway error."""


class GatewayBufferError(GatewayError):
    """The on-disk buffer cannot be opened or written; `path` names the file."""

    def __init__(self, path: str, problem: str) -> None:
        self.path = path
        self.problem = problem
        super().__init__(f"buffer {path}: {problem}")


class DriverError(GatewayError):
    """A driver cannot reach or read its device; `device_id` names the device."""

    def __init__(self, device_id: str, problem: str) -> None:
        self.device_id = device_id
        self.problem = problem
        super().__init__(f"device {device_id}: {problem}")


class BrokerError(GatewayError):
    """The broker refused or dropped the connection; `url` names the broker."""

    def __init__(self, url: str, problem: str) -> None:
        self.url = url
        self.problem = problem
        super().__init__(f"broker {url}: {problem}")
