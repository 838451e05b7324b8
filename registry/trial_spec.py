"""The trial YAML (DESIGN.md "Trial definition"): one pydantic schema for the file and the API."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from device_profiles import Role, get_profile
from device_profiles.loader import UnknownProfile
from telemetry.wire import IdStr as ID

DEFAULT_TIMEZONE = "Asia/Hong_Kong"
DEFAULT_PARAMS: dict[str, float] = {
    "fever_threshold_c": 37.5,
    "lift_match_window_s": 60.0,
    "uv_target_dose_mj_cm2": 10.0,
    # methodology v2 (METRICS-v2.md)
    "rain_wet_day_mm": 1.0,
    "fever_max_pair_delay_s": 900.0,
    "uv_interlock_s": 5.0,
}


class TrialSpecError(Exception):
    """A trial definition that cannot be applied; names the file, key and problem."""

    def __init__(self, source: str, key: str, problem: str) -> None:
        self.source = source
        self.key = key
        self.problem = problem
        super().__init__(f"{source}: {key}: {problem}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WishSpec(_Strict):
    """A department's innovation wish."""

    id: ID
    title: Annotated[str, Field(min_length=1, max_length=300)]
    department: Annotated[str, Field(min_length=1, max_length=200)]
    category: Annotated[str, Field(min_length=1, max_length=64)] = "general"
    description: str = ""


class SolutionSpec(_Strict):
    """A provider's proposed solution."""

    id: ID
    title: Annotated[str, Field(min_length=1, max_length=300)]
    provider: ID
    description: str = ""


def _check_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r}") from exc
    return name


class SiteSpec(_Strict):
    """Where the trial runs; its time zone defines calendar days."""

    id: ID
    name: str = ""
    timezone: Annotated[str, AfterValidator(_check_timezone)] = DEFAULT_TIMEZONE


class GatewaySpec(_Strict):
    """An edge gateway at the site."""

    id: ID
    name: str = ""


class DeviceSpec(_Strict):
    """A device under test or reference instrument."""

    id: ID
    profile: str
    gateway: ID
    role: Role

    @field_validator("profile")
    @classmethod
    def _known_profile(cls, value: str) -> str:
        try:
            get_profile(value)
        except UnknownProfile as exc:
            raise ValueError(str(exc)) from exc
        return value


class ComparisonSpec(_Strict):
    """A device under test compared with one or more reference instruments."""

    under_test: ID
    reference: ID | list[ID]

    @property
    def references(self) -> tuple[str, ...]:
        """The reference device ids as a tuple."""
        return (self.reference,) if isinstance(self.reference, str) else tuple(self.reference)


class Criterion(_Strict):
    """An acceptance criterion: metric op value."""

    metric: Annotated[
        str, Field(pattern=r"^(quality|rain_gauge|fever_screener|lift|uv_robot)\.[a-z0-9_.+-]+$")
    ]
    op: Literal[">=", "<=", ">", "<", "=="]
    value: float


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value


class ExclusionSpec(_Strict):
    """An exclusion window (METRICS-v2.md §1): a period not counted against the devices."""

    id: ID
    start: AwareDatetime
    end: AwareDatetime
    devices: Literal["all"] | list[ID]
    reason: Annotated[str, Field(max_length=500), AfterValidator(_not_blank)]
    approved_by: Annotated[str, Field(max_length=200), AfterValidator(_not_blank)]

    @model_validator(mode="after")
    def _check_window(self) -> ExclusionSpec:
        if self.end <= self.start:
            raise ValueError(f"exclusion {self.id!r}: 'end' must be after 'start'")
        return self

    @property
    def start_ms(self) -> int:
        """Window start, epoch ms."""
        return as_datetime_ms(self.start)

    @property
    def end_ms(self) -> int:
        """Window end (exclusive), epoch ms."""
        return as_datetime_ms(self.end)

    def applies_to(self, device_id: str) -> bool:
        """True when this window names the device (or all devices)."""
        return self.devices == "all" or device_id in self.devices


class TrialBody(_Strict):
    """The `trial:` section."""

    id: ID
    site: SiteSpec
    start: AwareDatetime
    end: AwareDatetime
    gateways: list[GatewaySpec]
    devices: list[DeviceSpec]
    comparisons: list[ComparisonSpec] = []
    params: dict[str, float] = {}
    acceptance: list[Criterion] = []
    exclusions: list[ExclusionSpec] = []

    @model_validator(mode="after")
    def _check_references(self) -> TrialBody:
        if self.end <= self.start:
            raise ValueError("'end' must be after 'start'")
        unknown_params = set(self.params) - set(DEFAULT_PARAMS)
        if unknown_params:
            raise ValueError(
                f"unknown params {sorted(unknown_params)} (known: {sorted(DEFAULT_PARAMS)})"
            )
        gateway_ids = [g.id for g in self.gateways]
        if len(set(gateway_ids)) != len(gateway_ids):
            raise ValueError("gateway ids must be unique")
        devices = {d.id: d for d in self.devices}
        if len(devices) != len(self.devices):
            raise ValueError("device ids must be unique")
        for device in self.devices:
            if device.gateway not in gateway_ids:
                raise ValueError(
                    f"device {device.id!r} names gateway {device.gateway!r}, not in 'gateways'"
                )
        for comparison in self.comparisons:
            self._check_comparison(comparison, devices)
        self._check_exclusions(devices)
        return self

    def _check_exclusions(self, devices: dict[str, DeviceSpec]) -> None:
        exclusion_ids = [x.id for x in self.exclusions]
        if len(set(exclusion_ids)) != len(exclusion_ids):
            raise ValueError("exclusion ids must be unique")
        for exclusion in self.exclusions:
            if exclusion.devices == "all":
                continue
            unknown = [d for d in exclusion.devices if d not in devices]
            if unknown:
                raise ValueError(
                    f"exclusion {exclusion.id!r} names devices not in the trial: {unknown}"
                )

    @staticmethod
    def _check_comparison(comparison: ComparisonSpec, devices: dict[str, DeviceSpec]) -> None:
        dut = devices.get(comparison.under_test)
        if dut is None or dut.role is not Role.UNDER_TEST:
            raise ValueError(
                f"comparison under_test {comparison.under_test!r} is not a device under test"
            )
        family = get_profile(dut.profile).family
        for ref_id in comparison.references:
            ref = devices.get(ref_id)
            if ref is None or ref.role is not Role.REFERENCE:
                raise ValueError(f"comparison reference {ref_id!r} is not a reference device")
            if get_profile(ref.profile).family is not family:
                raise ValueError(
                    f"comparison {comparison.under_test!r} vs {ref_id!r} mixes device families"
                )

    @property
    def start_ms(self) -> int:
        """Window start, epoch ms."""
        return int(self.start.timestamp() * 1000)

    @property
    def end_ms(self) -> int:
        """Window end (exclusive), epoch ms."""
        return int(self.end.timestamp() * 1000)

    def param(self, name: str) -> float:
        """A methodology parameter: the trial's override or the METRICS.md default."""
        return self.params.get(name, DEFAULT_PARAMS[name])

    def exclusions_of(self, device_id: str) -> list[ExclusionSpec]:
        """The exclusion windows that name this device (or all devices)."""
        return [x for x in self.exclusions if x.applies_to(device_id)]

    def device(self, device_id: str) -> DeviceSpec:
        """The device with this id; KeyError when absent."""
        for device in self.devices:
            if device.id == device_id:
                return device
        raise KeyError(device_id)


class TrialSpec(_Strict):
    """A whole trial definition file: wish, solution and trial."""

    wish: WishSpec
    solution: SolutionSpec
    trial: TrialBody


def _error_key(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc) or "(top level)"


def parse_trial_spec(data: Any, source: str = "trial") -> TrialSpec:
    """Validate a trial definition mapping; raise TrialSpecError naming the key."""
    if not isinstance(data, dict):
        raise TrialSpecError(
            source, "(top level)", "expected a mapping with wish, solution and trial"
        )
    try:
        return TrialSpec.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise TrialSpecError(source, _error_key(first["loc"]), first["msg"]) from exc


def load_trial_file(path: Path | str) -> TrialSpec:
    """Read and validate a trial YAML file."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise TrialSpecError(str(path), "(file)", f"cannot read: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise TrialSpecError(str(path), "(file)", f"not valid YAML: {exc}") from exc
    return parse_trial_spec(data, str(path))


def trial_to_yaml(spec: TrialSpec) -> str:
    """Serialise a trial definition back to YAML (round-trips through parse_trial_spec)."""
    return yaml.safe_dump(spec.model_dump(mode="json"), sort_keys=False, allow_unicode=True)


def as_datetime_ms(value: datetime) -> int:
    """Epoch milliseconds of an aware datetime."""
    return int(value.timestamp() * 1000)
