"""Does an issued report version still hold? Its window recomputed with today's data and windows.

Late readings (stored after the issue but timed inside its window), dead letters and changed
exclusion windows can move the metrics of a version already issued. `reissue_status` recomputes
the issued version's window (same start and end) and compares leaf by leaf with its
metrics.json, and compares the exclusion windows in its package's trial.yaml with the trial's
active ones. Either difference means the report needs a re-issue (`innotrial report build`
then issues v<n+1> with the change log).
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from reports import compare
from reports.versions import IssuedVersion
from telemetry.metrics import TrialMetrics
from telemetry.trial_spec import ExclusionSpec, TrialSpec, TrialSpecError, parse_trial_spec

TRIAL_YAML = "trial.yaml"


@dataclass(frozen=True, slots=True)
class ExclusionChanges:
    """Window ids added, revoked (no longer active) and changed since the issue."""

    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.changed)

    def as_json(self) -> dict[str, list[str]]:
        """{added, removed, changed}: lists of window ids."""
        return {"added": self.added, "removed": self.removed, "changed": self.changed}


def exclusion_changes(
    issued: Mapping[str, ExclusionSpec], current: Sequence[ExclusionSpec]
) -> ExclusionChanges:
    """How the active windows differ from those an issue was computed with."""
    now = {x.id: x for x in current}
    return ExclusionChanges(
        added=sorted(set(now) - set(issued)),
        removed=sorted(set(issued) - set(now)),
        changed=sorted(i for i in set(now) & set(issued) if now[i] != issued[i]),
    )


def issued_exclusions(issued: IssuedVersion) -> dict[str, ExclusionSpec]:
    """The windows in the issued package's trial.yaml, by id (none when it cannot be read)."""
    try:
        with zipfile.ZipFile(issued.path / "package.zip") as archive:
            spec = parse_trial_spec(yaml.safe_load(archive.read(TRIAL_YAML)), TRIAL_YAML)
    except (OSError, KeyError, zipfile.BadZipFile, yaml.YAMLError, TrialSpecError):
        return {}
    return {x.id: x for x in spec.trial.exclusions}


@dataclass(frozen=True, slots=True)
class ReissueStatus:
    """The newest issued version of a trial and what has moved since."""

    trial_id: str
    issued_version: int | None = None
    window: dict[str, int] | None = None
    metric_changes: list[dict[str, Any]] = field(default_factory=list)
    exclusions: ExclusionChanges = field(default_factory=ExclusionChanges)

    @property
    def needs_reissue(self) -> bool:
        """True when the issued version no longer matches the data or the windows."""
        return bool(self.metric_changes) or bool(self.exclusions)

    def as_json(self) -> dict[str, Any]:
        """The API's report-status body."""
        return {
            "trial_id": self.trial_id,
            "issued_version": self.issued_version,
            "window": self.window,
            "needs_reissue": self.needs_reissue,
            "metric_changes": self.metric_changes,
            "exclusion_changes": self.exclusions.as_json(),
        }


def reissue_status(
    spec: TrialSpec,
    issued: IssuedVersion | None,
    recompute: Callable[[int], TrialMetrics],
) -> ReissueStatus:
    """Compare an issue with `recompute(window_end_ms)`: today's metrics of the same window."""
    if issued is None:
        return ReissueStatus(spec.trial.id)
    window = issued.metrics.get("window", {})
    end_ms = int(window.get("end_ms", spec.trial.end_ms))
    now = recompute(end_ms)
    return ReissueStatus(
        spec.trial.id,
        issued.version,
        {"start_ms": int(window.get("start_ms", spec.trial.start_ms)), "end_ms": end_ms},
        compare.changes(issued.metrics, now),
        exclusion_changes(issued_exclusions(issued), spec.trial.exclusions),
    )
