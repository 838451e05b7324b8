"""Public pages (no sign-in): wish board, catalogue of verified reports, a trial's public page,
the frozen files of published versions and Atom feeds.

Every page is the same for every visitor (no personal content), so it is rendered once per
state of the published material (see public_cache) and served with an ETag; a matching
If-None-Match gets 304. A trial without a publication is a 404 here, for every visitor.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse, Response
from sqlalchemy.orm import Session

from portal_api.public_cache import CachedPage, content_stamp, make_page
from portal_api.web.context import WebContext, web_context
from portal_api.web.feeds import ATOM_MEDIA_TYPE, atom, report_entries, wish_entries
from portal_api.web.i18n import LANG_COOKIE, LANGUAGES, labels, translator
from portal_api.web.pages import LANG_COOKIE_MAX_AGE_S, TEMPLATES, language, script_json
from portal_api.web.public_data import (
    WishFilter,
    catalogue,
    key_metrics,
    public_file,
    published_trial,
    wish_board,
    wish_choices,
)
from portal_api.web.series import (
    chart_config,
    chart_series,
    chart_specs,
    exclusion_config,
    range_window,
)
from registry.queries import get_trial_spec
from reports.publish import PUBLIC_FILES

router = APIRouter(include_in_schema=False, prefix="/public", tags=["public"])
Ctx = Annotated[WebContext, Depends(web_context)]
Text = Annotated[str, Query(max_length=200)]
PAGE_CACHE_CONTROL = "public, max-age=10"
FILE_CACHE_CONTROL = "public, max-age=31536000, immutable"
SERIES_REFRESH_S = 60
FILE_MEDIA_TYPES = {
    "report.html": "text/html; charset=utf-8",
    "report.pdf": "application/pdf",
    "package.zip": "application/zip",
    "metrics.json": "application/json",
    "changes.json": "application/json",
}
VERIFY_COMMAND = "innotrial report verify PACKAGE --public-key FILE"


def render_page(
    request: Request, template: str, context: dict[str, Any], status: int = 200
) -> CachedPage:
    """A public page rendered to bytes (no user: the same for every visitor)."""
    lang = language(request)
    full = {
        "t": translator(lang),
        "lang": lang,
        "languages": LANGUAGES,
        "path": request.url.path,
        "principal": None,
        "public": True,
        **context,
    }
    html = TEMPLATES.env.get_template(template).render(full)
    return make_page(html.encode("utf-8"), "text/html; charset=utf-8", status)


def not_found_page(request: Request) -> CachedPage:
    """The 404 page, the same for a trial that does not exist and one not published."""
    return render_page(request, "not_found.html", {"message_key": "not_found_detail"}, 404)


NOT_FOUND_JSON = make_page(b'{"detail":"trial not found"}', "application/json", 404)


def _respond(request: Request, page: CachedPage) -> Response:
    headers = {
        "ETag": page.etag,
        "Cache-Control": PAGE_CACHE_CONTROL,
        "Vary": "Accept-Language, Cookie",
    }
    if page.status == 200 and request.headers.get("if-none-match") == page.etag:
        return Response(status_code=304, headers=headers)
    response = Response(page.body, page.status, media_type=page.media_type, headers=headers)
    chosen = request.query_params.get("lang")
    if chosen in LANGUAGES:
        response.set_cookie(LANG_COOKIE, chosen, max_age=LANG_COOKIE_MAX_AGE_S, samesite="lax")
    return response


def cached(
    request: Request,
    ctx: WebContext,
    key: tuple[Hashable, ...],
    render: Callable[[Session], CachedPage],
) -> Response:
    """Serve `key` from the page cache, rendering it with a registry session on a miss."""
    cache = ctx.public_pages

    def read_stamp() -> Hashable:
        with ctx.registry.session() as session:
            return content_stamp(session)

    def fill() -> CachedPage:
        with ctx.registry.session() as session:
            return render(session)

    stamp = cache.stamp(read_stamp)
    return _respond(request, cache.get((stamp, language(request), *key), fill))


@router.get("/wishes")
def wishes_page(
    request: Request, ctx: Ctx, q: Text = "", category: Text = "", department: Text = ""
) -> Response:
    """Wishes that are not closed, by category and department, with search."""
    chosen = WishFilter(q.strip(), category.strip(), department.strip())

    def render(session: Session) -> CachedPage:
        categories, departments = wish_choices(session)
        context = {
            "rows": wish_board(session, chosen),
            "chosen": chosen,
            "categories": categories,
            "departments": departments,
        }
        return render_page(request, "public_wishes.html", context)

    return cached(request, ctx, ("wishes", chosen), render)


def _base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _verify_context(request: Request, ctx: WebContext) -> dict[str, str]:
    from reports.signing import load_private_key
    from reports.trust import fingerprint

    return {
        "fingerprint": fingerprint(load_private_key(ctx.settings.data_dir).public_key()),
        "verify_command": VERIFY_COMMAND,
        "base_url": _base_url(request),
    }


@router.get("/reports")
def reports_page(request: Request, ctx: Ctx, q: Text = "") -> Response:
    """The catalogue of published reports."""
    needle = q.strip()

    def render(session: Session) -> CachedPage:
        context = {
            "entries": catalogue(session, language(request), needle),
            "q": needle,
            **_verify_context(request, ctx),
        }
        return render_page(request, "public_reports.html", context)

    return cached(request, ctx, ("reports", needle, _base_url(request)), render)


@router.get("/trials/{trial_id}")
def trial_page(request: Request, ctx: Ctx, trial_id: str) -> Response:
    """A published trial: versions, change logs, charts of the whole trial, data quality."""

    def render(session: Session) -> CachedPage:
        try:
            facts, versions = published_trial(session, trial_id)
        except LookupError:
            return not_found_page(request)
        lang = language(request)
        spec = get_trial_spec(session, trial_id)
        charts = chart_specs(spec)
        config = {
            "trial_id": trial_id,
            "timezone": facts.timezone,
            "lang": lang,
            "labels": labels(lang),
            "default_range": "all",
            "live": False,
            "series_url": f"/public/trials/{trial_id}/series",
            "exclusions": exclusion_config(spec),
            "charts": chart_config(charts),
        }
        current = versions[0].publication
        context = {
            "facts": facts,
            "versions": versions,
            "current": current,
            "key_metrics": key_metrics(current.metrics, lang),
            "charts": charts,
            "quality": current.metrics.get("quality", {}),
            "config_json": script_json(config),
            **_verify_context(request, ctx),
        }
        return render_page(request, "public_trial.html", context)

    return cached(request, ctx, ("trial", trial_id, _base_url(request)), render)


@router.get("/trials/{trial_id}/series")
def trial_series(request: Request, ctx: Ctx, trial_id: str) -> Response:
    """Chart data of a published trial over the whole trial (refreshed at most every minute)."""

    def render(session: Session) -> CachedPage:
        try:
            published_trial(session, trial_id)
        except LookupError:
            return NOT_FOUND_JSON
        spec = get_trial_spec(session, trial_id)
        start_ms, end_ms = range_window(spec, "all", int(time.time() * 1000))
        charts = {
            c.chart_id: chart_series(ctx.store, c, start_ms, end_ms) for c in chart_specs(spec)
        }
        body = orjson.dumps({"start_ms": start_ms, "end_ms": end_ms, "after": {}, "charts": charts})
        return make_page(body, "application/json")

    minute = int(time.time() // SERIES_REFRESH_S)
    return cached(request, ctx, ("series", trial_id, minute), render)


@router.get("/trials/{trial_id}/v{version}/{name}")
def published_file(ctx: Ctx, trial_id: str, version: int, name: str) -> Response:
    """A frozen file of a published version: report.html, report.pdf, package.zip, metrics."""
    if name not in PUBLIC_FILES:
        return Response("not found", 404, media_type="text/plain")
    with ctx.registry.session() as session:
        path = public_file(session, ctx.settings.data_dir, trial_id, version, name)
    if path is None:
        return Response("not found", 404, media_type="text/plain")
    headers = {"Cache-Control": FILE_CACHE_CONTROL}
    if name in ("package.zip", "report.pdf"):
        stem, _, suffix = name.partition(".")
        download = f"{trial_id}-v{version}-{stem}.{suffix}"
        headers["Content-Disposition"] = f'attachment; filename="{download}"'
    return FileResponse(path, media_type=FILE_MEDIA_TYPES[name], headers=headers)


def _feed(request: Request, ctx: Ctx, name: str) -> Response:
    base_url = _base_url(request)

    def render(session: Session) -> CachedPage:
        if name == "wishes":
            entries, title, page = wish_entries(session, base_url), "innotrial: wishes", "wishes"
        else:
            entries, title = report_entries(session, base_url), "innotrial: verified reports"
            page = "reports"
        body = atom(
            f"{base_url}/public/feeds/{name}.atom",
            title,
            f"{base_url}/public/feeds/{name}.atom",
            f"{base_url}/public/{page}",
            entries,
        )
        return make_page(body, ATOM_MEDIA_TYPE)

    return cached(request, ctx, ("feed", name, base_url), render)


@router.get("/feeds/wishes.atom")
def wishes_feed(request: Request, ctx: Ctx) -> Response:
    """Atom feed of new and changed wishes."""
    return _feed(request, ctx, "wishes")


@router.get("/feeds/reports.atom")
def reports_feed(request: Request, ctx: Ctx) -> Response:
    """Atom feed of published report versions."""
    return _feed(request, ctx, "reports")
