"""Which keys `report verify` trusts: only keys the user chose, never one found next to a package.

In order: `--public-key FILE`; the issuer key fetched from a portal given with `--issuer-url`
(GET <url>/api/v1/issuer-key); else every `*.pem` in the trusted-keys directory of the user's
settings (`trusted_keys_dir`, an absolute path; default `~/.config/innotrial/trusted-keys`).
Nothing is looked up through the current directory. Each key is shown with its fingerprint:
the SHA-256 of the key in PEM form as the portal serves it (`sha256sum issuer.pem` gives the
same), which the public reports page also shows.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from reports.errors import KeyProblem
from reports.signing import load_public_key, public_key_from_pem, public_pem

ISSUER_KEY_PATH = "/api/v1/issuer-key"
MAX_KEY_BYTES = 16_384
FETCH_TIMEOUT_S = 15.0


@dataclass(frozen=True, slots=True)
class TrustedKey:
    """A key the user chose, where it came from, and its fingerprint."""

    key: Ed25519PublicKey
    source: str

    @property
    def fingerprint(self) -> str:
        """Hex SHA-256 of the key's PEM (see `fingerprint`)."""
        return fingerprint(self.key)

    @property
    def label(self) -> str:
        """Source and fingerprint, as verify prints them."""
        return f"{self.source}, SHA-256 {self.fingerprint}"


def fingerprint(key: Ed25519PublicKey) -> str:
    """Hex SHA-256 of the key's canonical PEM: what `sha256sum` prints for the key file the
    portal serves (GET /api/v1/issuer-key), whatever file the key was read from."""
    return hashlib.sha256(public_pem(key)).hexdigest()


def default_trusted_keys_dir() -> Path:
    """~/.config/innotrial/trusted-keys (under $XDG_CONFIG_HOME when set)."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "innotrial" / "trusted-keys"


def issuer_key_url(portal_url: str) -> str:
    """The issuer-key URL of a portal (a URL already ending in /issuer-key is kept)."""
    url = portal_url.rstrip("/")
    return url if url.endswith("/issuer-key") else url + ISSUER_KEY_PATH


def fetch_issuer_key(portal_url: str) -> TrustedKey:
    """The issuer key a portal serves; KeyProblem naming the URL when it cannot be had."""
    url = issuer_key_url(portal_url)
    if not url.startswith(("https://", "http://")):
        raise KeyProblem(url, "--issuer-url must start with https:// (or http://)")
    try:
        with httpx.stream("GET", url, timeout=FETCH_TIMEOUT_S, follow_redirects=False) as answer:
            if answer.status_code != 200:
                raise KeyProblem(url, f"the portal answered HTTP {answer.status_code}")
            body = b""
            for chunk in answer.iter_bytes():
                body += chunk
                if len(body) > MAX_KEY_BYTES:
                    raise KeyProblem(url, f"answer over {MAX_KEY_BYTES} bytes: not a key")
    except httpx.HTTPError as exc:
        raise KeyProblem(url, f"cannot fetch: {type(exc).__name__}") from exc
    return TrustedKey(public_key_from_pem(body, url), f"issuer key from {url}")


def keys_in_dir(directory: Path) -> list[TrustedKey]:
    """Every `*.pem` key in a trusted-keys directory (sorted by name)."""
    return [
        TrustedKey(load_public_key(path), f"{path} (trusted keys)")
        for path in sorted(directory.glob("*.pem"))
    ]


def chosen_keys(
    public_key: Path | None, issuer_url: str | None, trusted_dir: Path | None
) -> list[TrustedKey]:
    """The keys to try, from the user's choice; KeyProblem saying how to choose when none."""
    if public_key is not None and issuer_url is not None:
        raise KeyProblem("--public-key/--issuer-url", "give one of them, not both")
    if public_key is not None:
        return [TrustedKey(load_public_key(public_key), f"{public_key} (--public-key)")]
    if issuer_url is not None:
        return [fetch_issuer_key(issuer_url)]
    directory = trusted_dir or default_trusted_keys_dir()
    keys = keys_in_dir(directory) if directory.is_dir() else []
    if not keys:
        raise KeyProblem(
            str(directory),
            "no key chosen: pass --public-key FILE (the issuer's "
            "public key) or --issuer-url URL (the portal that issued the package), "
            "or put the issuer's public key (*.pem) in this trusted-keys directory "
            "(setting trusted_keys_dir)",
        )
    return keys
