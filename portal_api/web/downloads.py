"""Downloads from a signed-in browser: readings, metrics and the issued report.

The `/api/v1` routes take a bearer token, which a browser link cannot send; these routes take
the dashboard's session cookie (or the bearer header) and apply the same visibility rules,
reusing the API's streaming serialisers so the files are byte-for-byte the same.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import orjson
from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, Response, StreamingResponse
from sqlalchemy.orm import Session

from portal_api.auth import Principal
from portal_api.downloads import MEDIA_TYPES, SPREADSHEET_SERIALISERS, plan_export
from portal_api.web.access import trial_for
from portal_api.web.context import WebContext, web_context
from portal_api.web.pages import guarded_data, guarded_page, not_found
from portal_api.web.status import trial_metrics
from registry.queries import get_trial_spec
from reports.versions import VERSION_DIR, reports_root

router = APIRouter(include_in_schema=False)
Ctx = Annotated[WebContext, Depends(web_context)]


def latest_report(root: Path, trial_id: str) -> Path | None:
    """report.html of the newest issued version under ROOT/<trial_id>/v<n>/, if any."""
    trial_dir = root / trial_id
    if not trial_dir.is_dir():
        return None
    versions = sorted(
        (int(m.group(1)), child)
        for child in trial_dir.iterdir()
        if (m := VERSION_DIR.match(child.name)) and (child / "report.html").is_file()
    )
    return versions[-1][1] / "report.html" if versions else None


@router.get("/trials/{trial_id}/download/readings")
def download_readings(
    request: Request, ctx: Ctx, trial_id: str, format: Literal["csv", "json", "parquet"] = "csv"
) -> Response:
    """Every reading of the trial window, streamed like GET /api/v1/trials/{id}/readings; the
    CSV is the spreadsheet form (text cells formula-escaped, portal_api.downloads)."""

    def body(session: Session, principal: Principal) -> Response:
        trial = trial_for(session, principal, trial_id)
        spec = get_trial_spec(session, trial.id)
        devices = [(d.id, d.profile) for d in spec.trial.devices]
        export = plan_export(devices, spec.trial.start_ms, spec.trial.end_ms)
        headers = {"Content-Disposition": f'attachment; filename="{trial.id}.{format}"'}
        return StreamingResponse(
            SPREADSHEET_SERIALISERS[format](ctx.store, export), media_type=MEDIA_TYPES[format],
            headers=headers,
        )

    return guarded_data(request, ctx, body)


@router.get("/trials/{trial_id}/download/metrics")
def download_metrics(request: Request, ctx: Ctx, trial_id: str) -> Response:
    """The metrics JSON so far."""

    def body(session: Session, principal: Principal) -> Response:
        trial = trial_for(session, principal, trial_id)
        metrics = trial_metrics(session, ctx.store, get_trial_spec(session, trial.id))
        if metrics is None:
            detail = '{"detail":"metrics not available"}'
            return Response(detail, 503, media_type="application/json")
        headers = {"Content-Disposition": f'attachment; filename="{trial.id}-metrics.json"'}
        return Response(orjson.dumps(metrics, option=orjson.OPT_INDENT_2),
                        media_type="application/json", headers=headers)

    return guarded_data(request, ctx, body)


@router.get("/trials/{trial_id}/report")
def issued_report(request: Request, ctx: Ctx, trial_id: str) -> Response:
    """The newest issued report (built with `innotrial report build ID --out DATA_DIR/reports`)."""

    def body(session: Session, principal: Principal) -> Response:
        trial = trial_for(session, principal, trial_id)
        path = latest_report(reports_root(ctx.settings.data_dir), trial.id)
        if path is None:
            return not_found(request, principal, "no_report")
        return FileResponse(path, media_type="text/html")

    return guarded_page(request, ctx, body)
