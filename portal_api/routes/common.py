"""Query parameters, role sets and the list-and-page helper shared by routers."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Annotated, Any, TypeVar

from fastapi import Query
from sqlalchemy import Select
from sqlalchemy.orm import Session

from portal_api import crud
from portal_api.schemas import Page
from telemetry.wire import INT64_MAX, INT64_MIN

Limit = Annotated[int, Query(ge=1, le=1000, description="page size")]
Offset = Annotated[int, Query(ge=0, le=10_000_000, description="rows to skip")]
Filter = Annotated[str | None, Query(max_length=200)]
_INTEGER = re.compile(r"-?[0-9]{1,19}")


def parse_int64(text: str) -> int | None:
    """An ASCII decimal integer within int64, else None: no `+`, `--`, `²`, spaces or `1e3`."""
    if not _INTEGER.fullmatch(text):
        return None
    value = int(text)
    return value if INT64_MIN <= value <= INT64_MAX else None

RowT = TypeVar("RowT")
ItemT = TypeVar("ItemT")

REGISTRY_WRITERS = frozenset({"admin", "assessor"})
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {
        "description": "Not found (or not visible to the caller)",
        "content": {"application/json": {"example": {"detail": "trial not found"}}},
    }
}
# public routes: a token is optional (it widens what the caller sees)
OPTIONAL_AUTH: dict[str, Any] = {"security": [{}]}


def list_page(
    session: Session,
    query: Select[RowT],
    limit: int,
    offset: int,
    to_items: Callable[[list[RowT]], Iterable[ItemT]],
) -> Page[ItemT]:
    """One page of `query` as a list response: its rows turned into public items by
    `to_items`, the total number of matching rows, and the window asked for."""
    rows, total = crud.paginate(session, query, limit, offset)
    return Page(items=list(to_items(rows)), total=total, limit=limit, offset=offset)


def each(convert: Callable[[RowT], ItemT]) -> Callable[[list[RowT]], list[ItemT]]:
    """`to_items` for `list_page` that converts row by row."""
    return lambda rows: [convert(row) for row in rows]
