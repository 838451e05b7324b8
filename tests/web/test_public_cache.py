"""The public page cache: the stamp is re-read at most once per interval, publishing through the
API invalidates it, a new stamp drops every rendered page; metric labels with units."""

from __future__ import annotations

from portal_api.public_cache import PublicPageCache, make_page
from portal_api.web.metric_labels import metric_label


def test_stamp_is_read_once_per_interval_and_invalidate_forces_a_read() -> None:
    reads: list[int] = []
    state = {"stamp": 1}

    def read() -> int:
        reads.append(state["stamp"])
        return state["stamp"]

    cache = PublicPageCache(check_interval_s=3600)
    assert cache.stamp(read) == 1 and cache.stamp(read) == 1
    assert reads == [1]
    state["stamp"] = 2
    assert cache.stamp(read) == 1  # within the interval: not asked again
    cache.invalidate()
    assert cache.stamp(read) == 2 and reads == [1, 2]


def test_a_new_stamp_drops_rendered_pages() -> None:
    cache = PublicPageCache(check_interval_s=0)
    stamps = iter([("a",), ("a",), ("b",)])
    pages = []
    for _ in range(3):
        stamp = cache.stamp(lambda: next(stamps))
        page = cache.get((stamp, "/public/reports"), lambda: make_page(b"<html>", "text/html"))
        pages.append(page)
    assert cache.renders == 2  # rendered under ("a",), served from memory, rendered under ("b",)
    assert pages[0].etag == pages[2].etag  # same body, same ETag
    assert make_page(b"x", "text/plain").etag != make_page(b"y", "text/plain").etag


def test_metric_labels_come_from_the_report_catalogue() -> None:
    lift = metric_label("lift.by_type.entrapment.recall", "en")
    assert (lift.scope, lift.name, lift.unit) == ("Lift monitoring", "Recall, Entrapment", "")
    rain = metric_label("rain_gauge.pct_within_tolerance", "zh-HK")
    assert (rain.scope, rain.name, rain.unit) == ("雨量計", "符合 WMO 容差的分鐘", "%")
    unknown = metric_label("novel.some_metric", "en")
    assert (unknown.scope, unknown.name, unknown.unit) == ("novel", "some metric", "")
