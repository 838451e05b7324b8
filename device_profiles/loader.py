"""Load and validate device profile YAML files."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from pathlib import Path

import yaml
from pydantic import ValidationError

from device_profiles.schema import DeviceProfile

BUILTIN_DIR = Path(__file__).with_name("profiles")


class ProfileError(Exception):
    """A profile file that cannot be used; carries the file and every (key, problem) found.

    `key` and `problem` are the first of `problems`.
    """

    def __init__(
        self, path: Path | str, key: str, problem: str, *more: tuple[str, str]
    ) -> None:
        self.path = str(path)
        self.key = key
        self.problem = problem
        self.problems: tuple[tuple[str, str], ...] = ((key, problem), *more)
        if more:
            listed = "".join(f"\n  {k}: {p}" for k, p in self.problems)
            message = f"{self.path}: {len(self.problems)} problems:{listed}"
        else:
            message = f"{self.path}: {key}: {problem}"
        super().__init__(message)


class UnknownProfile(KeyError):
    """No profile of that name is installed."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(name)

    def __str__(self) -> str:
        known = ", ".join(sorted(builtin_profiles()))
        return f"unknown device profile {self.name!r} (known: {known})"


def _error_key(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc) or "(top level)"


def load_profile_file(path: Path | str) -> DeviceProfile:
    """Parse and validate one profile YAML file, raising ProfileError on any problem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ProfileError(path, "(file)", f"cannot read: {exc.strerror}") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "(file)"
        raise ProfileError(path, where, f"not valid YAML: {getattr(exc, 'problem', exc)}") from exc
    if not isinstance(data, Mapping):
        raise ProfileError(path, "(top level)", "expected a mapping of profile keys")
    try:
        return DeviceProfile.model_validate(data)
    except ValidationError as exc:
        first, *rest = [(_error_key(e["loc"]), e["msg"]) for e in exc.errors()]
        raise ProfileError(path, *first, *rest) from exc


@cache
def builtin_profiles() -> Mapping[str, DeviceProfile]:
    """All profiles shipped with innotrial, by name."""
    profiles: dict[str, DeviceProfile] = {}
    for path in sorted(BUILTIN_DIR.glob("*.yaml")):
        profile = load_profile_file(path)
        if profile.name != path.stem:
            raise ProfileError(path, "name", f"must match the file name {path.stem!r}")
        profiles[profile.name] = profile
    _check_keys_agree(profiles)
    return profiles


def _check_keys_agree(profiles: Mapping[str, DeviceProfile]) -> None:
    """A field name that identifies events in one profile does so in every profile that has
    it: stores tell events apart by field names alone (telemetry.identity)."""
    key_names = {name for profile in profiles.values() for name in profile.key}
    for profile in profiles.values():
        stray = sorted(key_names.intersection(profile.fields).difference(profile.key))
        if stray:
            raise ProfileError(BUILTIN_DIR / f"{profile.name}.yaml", "key",
                               f"must list {stray}: another profile keys events by them")


def get_profile(name: str) -> DeviceProfile:
    """The shipped profile called `name`; raises UnknownProfile."""
    try:
        return builtin_profiles()[name]
    except KeyError:
        raise UnknownProfile(name) from None
