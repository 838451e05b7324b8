"""Rendering helpers of the dashboard pages: templates, language, time formatting, guards."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session

from portal_api.auth import Principal
from portal_api.web.access import LoginRequired, TrialHidden, current_principal
from portal_api.web.context import WebContext
from portal_api.web.i18n import LANG_COOKIE, LANGUAGES, pick_language, translator
from portal_api.web.metric_labels import metric_label

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
LANG_COOKIE_MAX_AGE_S = 365 * 86400


def format_ms(value: int | None, timezone: str = "Asia/Hong_Kong") -> str:
    """Epoch ms as 'YYYY-MM-DD HH:MM:SS' in the given zone ('' for None)."""
    if value is None:
        return ""
    stamp = datetime.fromtimestamp(value / 1000, tz=UTC).astimezone(ZoneInfo(timezone))
    return stamp.strftime("%Y-%m-%d %H:%M:%S")


def format_number(value: Any, digits: int = 3) -> str:
    """A metric value for a table cell: rounded floats, '—' for null."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e6:
        return f"{int(value):,}"
    if isinstance(value, float):
        tiny_or_huge = abs(value) < 1e-3 or abs(value) >= 1e6
        return f"{value:.{digits}g}" if tiny_or_huge else f"{value:,.{digits}f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def metric_name(path: str, lang: str) -> str:
    """A metric path's label from the metric catalogue, in `lang`."""
    return metric_label(path, lang).name


TEMPLATES.env.filters["ms"] = format_ms
TEMPLATES.env.filters["num"] = format_number
TEMPLATES.env.filters["metric_name"] = metric_name


def language(request: Request) -> str:
    """The language of this request (query, cookie, Accept-Language)."""
    return pick_language(
        request.query_params.get("lang"),
        request.cookies.get(LANG_COOKIE),
        request.headers.get("accept-language"),
    )


def render(
    request: Request, template: str, context: dict[str, Any], status_code: int = 200
) -> HTMLResponse:
    """Render a page with the language helpers; remembers ?lang= in a cookie."""
    lang = language(request)
    full = {"t": translator(lang), "lang": lang, "languages": LANGUAGES, "path": request.url.path}
    full.update(context)
    response = TEMPLATES.TemplateResponse(request, template, full, status_code=status_code)
    if request.query_params.get("lang") in LANGUAGES:
        response.set_cookie(LANG_COOKIE, lang, max_age=LANG_COOKIE_MAX_AGE_S, samesite="lax")
    return response


def not_found(
    request: Request, principal: Principal | None, message_key: str = "not_found_detail"
) -> HTMLResponse:
    """The 404 page (also for trials the user may not see)."""
    context = {"principal": principal, "message_key": message_key}
    return render(request, "not_found.html", context, status_code=404)


def safe_next(path: str | None) -> str:
    """A local path to return to after signing in (never another site)."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path:
        return "/"
    return path


def guarded_page(
    request: Request,
    ctx: WebContext,
    body: Callable[[Session, Principal], Response],
    anonymous_to: str | None = None,
) -> Response:
    """Run `body` for the signed-in user: 404 when hidden; when anonymous, a redirect to
    `anonymous_to` if given, else to the sign-in form."""
    with ctx.registry.session() as session:
        try:
            principal = current_principal(session, request, ctx.fernet)
        except LoginRequired as exc:
            if anonymous_to is not None:
                return RedirectResponse(anonymous_to, status_code=303)
            target = quote(safe_next(exc.next_path), safe="/")
            return RedirectResponse(f"/login?next={target}", status_code=303)
        try:
            return body(session, principal)
        except TrialHidden:
            return not_found(request, principal)


def guarded_data(
    request: Request, ctx: WebContext, body: Callable[[Session, Principal], Response]
) -> Response:
    """Like guarded_page for data endpoints: 401 when anonymous, 404 when hidden (plain JSON)."""
    with ctx.registry.session() as session:
        try:
            principal = current_principal(session, request, ctx.fernet)
            return body(session, principal)
        except LoginRequired:
            return Response('{"detail":"sign-in required"}', 401, media_type="application/json")
        except TrialHidden:
            return Response('{"detail":"trial not found"}', 404, media_type="application/json")
