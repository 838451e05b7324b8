"""Publishing report versions (assessor, admin) and the list of a trial's published versions."""

from __future__ import annotations

from fastapi import APIRouter, Path

from portal_api.auth import visible_trial
from portal_api.deps import CurrentUser, PrincipalDep, SessionDep, SettingsDep, StateDep
from portal_api.errors import NotFound
from portal_api.routes.common import NOT_FOUND, OPTIONAL_AUTH, REGISTRY_WRITERS
from portal_api.schemas import PublicationPublic, PublishResultPublic
from registry.publications import PublishedVersion, trial_publications
from reports.publish import NotIssued, publish_version

router = APIRouter(prefix="/trials", tags=["reports"])
Version = Path(ge=1, le=1_000_000, description="issued report version (v<N>)")


def publication_public(trial_id: str, entry: PublishedVersion) -> PublicationPublic:
    """The public description of one published version, with its file links."""
    row = entry.publication
    base = f"/public/trials/{trial_id}/v{row.version}"
    links = {name: f"{base}/{name}" for name in sorted(row.files)}
    return PublicationPublic(
        trial_id=trial_id,
        version=row.version,
        published_ms=row.published_ms,
        verdict=row.verdict,
        package_sha256=row.package_sha256,
        superseded_by=entry.superseded_by,
        note=row.note,
        changes=list(row.changes.get("changes", [])),
        files=links,
    )


@router.post(
    "/{trial_id}/reports/{version}/publish",
    response_model=PublishResultPublic,
    responses=NOT_FOUND,
)
def publish(
    state: StateDep,
    session: SessionDep,
    user: CurrentUser,
    settings: SettingsDep,
    trial_id: str,
    version: int = Version,
) -> PublishResultPublic:
    """Make an issued report version public and immutable (assessor, admin).

    The report (HTML, PDF), the signed package and the metrics are frozen under the public
    pages; the trial becomes `published`; subscribers of its wish are notified. Publishing a
    version that is already public changes nothing (`already_published`).
    """
    trial = visible_trial(session, user, trial_id)
    user.require(REGISTRY_WRITERS, "publish reports")
    try:
        result = publish_version(session, settings.data_dir, trial.id, version, user.name)
    except NotIssued as exc:
        raise NotFound("report version") from exc
    state.public_pages.invalidate()
    return PublishResultPublic.model_validate(result, from_attributes=True)


@router.get(
    "/{trial_id}/publications",
    openapi_extra=OPTIONAL_AUTH,
    response_model=list[PublicationPublic],
    responses=NOT_FOUND,
)
def list_publications(
    session: SessionDep, principal: PrincipalDep, trial_id: str
) -> list[PublicationPublic]:
    """A trial's published report versions, newest first (each marked if superseded)."""
    trial = visible_trial(session, principal, trial_id)
    return [publication_public(trial.id, entry) for entry in trial_publications(session, trial.id)]
