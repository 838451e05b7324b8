"""Query parameters and role sets shared by routers."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query

Limit = Annotated[int, Query(ge=1, le=1000, description="page size")]
Offset = Annotated[int, Query(ge=0, le=10_000_000, description="rows to skip")]
Filter = Annotated[str | None, Query(max_length=200)]

REGISTRY_WRITERS = frozenset({"admin", "assessor"})
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {
        "description": "Not found (or not visible to the caller)",
        "content": {"application/json": {"example": {"detail": "trial not found"}}},
    }
}
# public routes: a token is optional (it widens what the caller sees)
OPTIONAL_AUTH: dict[str, Any] = {"security": [{}]}
