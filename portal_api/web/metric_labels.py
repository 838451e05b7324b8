"""Labels and units of metric paths for the public pages, from the report's metric catalogue.

One catalogue (reports/metric_catalogue.yaml) names every metric for the report, the public
catalogue and the dashboard; this module only picks one language out of it.
"""

from __future__ import annotations

from dataclasses import dataclass

from reports import i18n
from reports.metric_labels import describe


@dataclass(frozen=True, slots=True)
class MetricLabel:
    """A metric's scope, name and unit for one language."""

    scope: str
    name: str
    unit: str


def _scope_label(scope: str, lang: str) -> str:
    key = "quality" if scope == "quality" else f"family_{scope}"
    return i18n.label(key, lang) if key in i18n.LABELS else scope


def metric_label(path: str, lang: str) -> MetricLabel:
    """The label of a dotted metric path in `lang` ('en' or 'zh-HK'); unknown paths as written."""
    index = 1 if lang == "zh-HK" else 0
    scope, _, rest = path.partition(".")
    info = describe(path)
    if info is None:
        return MetricLabel(_scope_label(scope, lang), (rest or scope).replace("_", " "), "")
    return MetricLabel(_scope_label(scope, lang), info.label[index], info.unit[index])
