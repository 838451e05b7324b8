"""Dashboard routes: sign-in, trial list, trial page, its chart data and live event stream."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import FileResponse, RedirectResponse, Response, StreamingResponse
from sqlalchemy.orm import Session

from analytics.model import AnalyticsError
from portal_api.auth import Principal, principal_from_token
from portal_api.report_status import report_status
from portal_api.web import downloads, public
from portal_api.web.access import (
    SESSION_COOKIE,
    SESSION_MAX_AGE_S,
    end_session,
    start_session,
    trial_for,
    trials_for,
)
from portal_api.web.context import WebContext, web_context
from portal_api.web.i18n import labels
from portal_api.web.live import TrialFeed, parse_after, trial_events
from portal_api.web.pages import (
    guarded_data,
    guarded_page,
    language,
    render,
    safe_next,
    script_json,
)
from portal_api.web.series import (
    DEFAULT_RANGE,
    RANGES_MS,
    chart_config,
    chart_series,
    chart_specs,
    exclusion_config,
    range_window,
)
from portal_api.web.status import (
    gateway_statuses,
    rejected_by_reason,
    trial_metrics,
    trial_summary,
)
from registry.exclusions import exclusion_json, trial_exclusions
from registry.models import Trial
from registry.queries import get_trial_spec
from telemetry.store import StoreError

STATIC_DIR = Path(__file__).parent / "static"
STATIC_FILES = {"app.css": "text/css", "dashboard.js": "text/javascript"}
STATIC_MAX_AGE_S = 3600

router = APIRouter(include_in_schema=False, tags=["dashboard"])
router.include_router(downloads.router)
router.include_router(public.router)
PUBLIC_HOME = "/public/reports"
Ctx = Annotated[WebContext, Depends(web_context)]


def _now_ms() -> int:
    return int(time.time() * 1000)


def _plotly_js() -> Path:
    import plotly

    return Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


@router.get("/web-static/{name}")
def static_file(name: str) -> Response:
    """The dashboard's CSS and scripts, and plotly.js from the installed plotly package."""
    headers = {"Cache-Control": f"public, max-age={STATIC_MAX_AGE_S}"}
    if name == "plotly.min.js":
        return FileResponse(_plotly_js(), media_type="text/javascript", headers=headers)
    if name not in STATIC_FILES:
        return Response("not found", 404)
    return FileResponse(STATIC_DIR / name, media_type=STATIC_FILES[name], headers=headers)


@router.get("/login")
def login_page(request: Request, next: str = "/") -> Response:
    """The sign-in form."""
    context = {"next": safe_next(next), "error": False, "principal": None}
    return render(request, "login.html", context)


@router.post("/login")
def login(
    request: Request, ctx: Ctx, token: Annotated[str, Form()], next: Annotated[str, Form()] = "/"
) -> Response:
    """Check the token; on success set the encrypted session cookie and go to `next`."""
    token = token.strip()
    with ctx.registry.session() as session:
        principal = principal_from_token(session, token)
        cookie = None if principal is None else start_session(session, ctx.fernet, token)
    if cookie is None:
        context = {"next": safe_next(next), "error": True, "principal": None}
        return render(request, "login.html", context, status_code=401)
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        cookie,
        max_age=SESSION_MAX_AGE_S,
        httponly=True,
        samesite="lax",
        secure=_cookie_secure(ctx, request),
    )
    return response


def _cookie_secure(ctx: WebContext, request: Request) -> bool:
    """`Secure` by the settings (TLS may end at a proxy, so the scheme the app sees is not
    enough); with `cookie_secure` unset, also when the app itself is reached over https."""
    api = ctx.settings.api
    return api.session_cookie_secure or (api.cookie_secure is None
                                         and request.url.scheme == "https")


@router.post("/logout")
def logout(request: Request, ctx: Ctx) -> Response:
    """End the session in the registry and forget the cookie."""
    with ctx.registry.session() as session:
        end_session(session, ctx.fernet, request.cookies.get(SESSION_COOKIE))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/")
def trial_list(request: Request, ctx: Ctx) -> Response:
    """The trials the user may see, with the verdict so far; anonymous visitors: public pages."""

    def body(session: Session, principal: Principal) -> Response:
        rows = []
        for trial in trials_for(session, principal):
            metrics = trial_metrics(session, ctx.store, get_trial_spec(session, trial.id))
            verdict = metrics.get("verdict") if metrics else None
            rows.append({**trial_summary(session, trial), "verdict": verdict or "unknown"})
        return render(request, "trials.html", {"principal": principal, "trials": rows})

    return guarded_page(request, ctx, body, anonymous_to=PUBLIC_HOME)


def _trial_context(ctx: WebContext, session: Session, trial: Trial, lang: str) -> dict[str, Any]:
    trial_id = trial.id
    spec = get_trial_spec(session, trial_id)
    metrics = trial_metrics(session, ctx.store, spec)
    charts = chart_specs(spec)
    device_ids = [d.id for d in spec.trial.devices]
    config = {
        "trial_id": trial_id,
        "timezone": spec.trial.site.timezone,
        "lang": lang,
        "labels": labels(lang),
        "default_range": DEFAULT_RANGE,
        "exclusions": exclusion_config(spec),
        "charts": chart_config(charts),
    }
    return {
        "summary": trial_summary(session, trial),
        "timezone": spec.trial.site.timezone,
        "charts": charts,
        "ranges": list(RANGES_MS),
        "gateways": gateway_statuses(session, ctx.store, spec),
        "metrics": metrics,
        "rejected": rejected_by_reason(session, device_ids),
        "exclusions": _exclusion_rows(session, trial_id),
        "reissue": _reissue(ctx, session, trial),
        "config_json": script_json(config),
    }


def _exclusion_rows(session: Session, trial_id: str) -> list[dict[str, Any]]:
    """Every window of the trial for the table, revoked ones included."""
    return [exclusion_json(row) for row in trial_exclusions(session, trial_id)]


def _reissue(ctx: WebContext, session: Session, trial: Trial) -> dict[str, Any] | None:
    """Whether the newest issued report still holds (None when it cannot be computed)."""
    try:
        return report_status(session, ctx.store, trial, ctx.settings.data_dir, ctx.reissue_cache)
    except (AnalyticsError, StoreError):
        return None


@router.get("/trials/{trial_id}")
def trial_page(request: Request, ctx: Ctx, trial_id: str) -> Response:
    """A trial's live dashboard: charts, status, data quality, criteria, downloads."""

    def body(session: Session, principal: Principal) -> Response:
        trial = trial_for(session, principal, trial_id)
        context = _trial_context(ctx, session, trial, language(request))
        context["principal"] = principal
        return render(request, "trial.html", context)

    return guarded_page(request, ctx, body)


@router.get("/trials/{trial_id}/panels")
def trial_panels(request: Request, ctx: Ctx, trial_id: str) -> Response:
    """The quality and criteria panels alone (refreshed by the page as data arrives)."""

    def body(session: Session, principal: Principal) -> Response:
        trial = trial_for(session, principal, trial_id)
        context = _trial_context(ctx, session, trial, language(request))
        return render(request, "_panels.html", context)

    return guarded_data(request, ctx, body)


@router.get("/trials/{trial_id}/series")
def trial_series(request: Request, ctx: Ctx, trial_id: str, range: str = DEFAULT_RANGE) -> Response:
    """Chart data of every comparison over the chosen range, decimated per series."""

    def body(session: Session, principal: Principal) -> Response:
        trial = trial_for(session, principal, trial_id)
        spec = get_trial_spec(session, trial.id)
        after = {d.id: ctx.store.last_reading_ms(d.id) for d in spec.trial.devices}
        start_ms, end_ms = range_window(spec, range, _now_ms())
        charts = {
            c.chart_id: chart_series(ctx.store, c, start_ms, end_ms) for c in chart_specs(spec)
        }
        payload = {
            "start_ms": start_ms,
            "end_ms": end_ms,
            "after": {k: v for k, v in after.items() if v is not None},
            "charts": charts,
        }
        return Response(orjson.dumps(payload), media_type="application/json")

    return guarded_data(request, ctx, body)


@router.get("/trials/{trial_id}/events")
def trial_event_stream(request: Request, ctx: Ctx, trial_id: str, after: str = "") -> Response:
    """Server-sent events: new points, gateway status changes, 'metrics changed' hints."""

    def body(session: Session, principal: Principal) -> Response:
        trial = trial_for(session, principal, trial_id)
        spec = get_trial_spec(session, trial.id)
        resume = request.headers.get("last-event-id")  # set by the browser on reconnecting
        feed = TrialFeed(ctx, spec, chart_specs(spec), parse_after(resume or after))
        headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        return StreamingResponse(
            trial_events(request, feed), media_type="text/event-stream", headers=headers
        )

    return guarded_data(request, ctx, body)
