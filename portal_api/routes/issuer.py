"""GET /api/v1/issuer-key: the public key that verifies report packages (public)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from portal_api.deps import SettingsDep

router = APIRouter(tags=["reports"])
PEM_MEDIA_TYPE = "application/x-pem-file"


@router.get(
    "/issuer-key",
    response_class=Response,
    responses={200: {"content": {PEM_MEDIA_TYPE: {}}, "description": "Ed25519 public key (PEM)"}},
)
def issuer_key(settings: SettingsDep) -> Response:
    """The issuer's Ed25519 public key, for `innotrial report verify --public-key`."""
    from reports.signing import public_key_pem

    return Response(public_key_pem(settings.data_dir), media_type=PEM_MEDIA_TYPE)
