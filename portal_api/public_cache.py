"""In-process cache of public pages, keyed by the state of what they show.

A public page depends only on published material, wishes and trials. `stamp` reads a cheap
fingerprint of those (counts and newest change times, one query) at most once every
`check_interval_s`; a page rendered under the same stamp is served from memory with its
ETag. Publishing through the API calls `invalidate()`, so the next request re-reads the stamp;
a publication made by another process (the CLI) shows within `check_interval_s`.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from registry.models import Trial, Wish
from registry.publications import Publication

CHECK_INTERVAL_S = 1.0
MAX_ENTRIES = 2048


@dataclass(frozen=True, slots=True)
class CachedPage:
    """A rendered page: body, media type, its strong ETag and HTTP status."""

    body: bytes
    media_type: str
    etag: str
    status: int = 200


def content_stamp(session: Session) -> Hashable:
    """What public pages depend on: publications, wishes and trials (counts, newest changes)."""
    row = session.execute(
        select(
            select(func.count(Publication.id)).scalar_subquery(),
            select(func.max(Publication.published_ms)).scalar_subquery(),
            select(func.count()).select_from(Wish).scalar_subquery(),
            select(func.max(Wish.updated_ms)).scalar_subquery(),
            select(func.count()).select_from(Trial).scalar_subquery(),
            select(func.max(Trial.updated_ms)).scalar_subquery(),
        )
    ).one()
    return tuple(row)


def make_page(body: bytes, media_type: str, status: int = 200) -> CachedPage:
    """A CachedPage with the ETag of its body."""
    return CachedPage(body, media_type, '"' + hashlib.sha256(body).hexdigest()[:32] + '"', status)


class PublicPageCache:
    """Thread-safe cache of rendered public pages; see the module doc."""

    def __init__(self, check_interval_s: float = CHECK_INTERVAL_S) -> None:
        self.check_interval_s = check_interval_s
        self._stamp: Hashable = None
        self._checked_s = float("-inf")
        self._pages: dict[Hashable, CachedPage] = {}
        self._lock = threading.Lock()
        self.renders = 0

    def invalidate(self) -> None:
        """Forget the stamp: the next request checks the registry again."""
        with self._lock:
            self._checked_s = float("-inf")

    def stamp(self, read: Callable[[], Hashable]) -> Hashable:
        """The current stamp, re-read with `read` when older than the check interval."""
        now_s = time.monotonic()
        with self._lock:
            if now_s - self._checked_s < self.check_interval_s:
                return self._stamp
        fresh = read()
        with self._lock:
            if fresh != self._stamp:
                self._pages.clear()
            self._stamp, self._checked_s = fresh, now_s
        return fresh

    def get(self, key: Hashable, render: Callable[[], CachedPage]) -> CachedPage:
        """The page under `key` for the current stamp, rendered on a miss."""
        with self._lock:
            page = self._pages.get(key)
        if page is not None:
            return page
        page = render()
        with self._lock:
            self.renders += 1
            if len(self._pages) >= MAX_ENTRIES:
                self._pages.clear()
            self._pages[key] = page
        return page
