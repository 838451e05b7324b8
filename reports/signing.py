"""The issuer's Ed25519 key: created on first use in the data dir, signs package manifests."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from reports.errors import KeyProblem

KEY_DIR = "keys"
KEY_FILE = "issuer_ed25519.pem"


def issuer_key_path(data_dir: Path) -> Path:
    """Where the issuer's private key lives: <data_dir>/keys/issuer_ed25519.pem."""
    return Path(data_dir) / KEY_DIR / KEY_FILE


def _create_key(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    # O_EXCL: two processes creating the key at once must not overwrite each other's key.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)


def load_private_key(data_dir: Path, *, create: bool = True) -> Ed25519PrivateKey:
    """The issuer key from the data dir, created (mode 0600) when absent and `create`."""
    path = issuer_key_path(data_dir)
    if not path.exists():
        if not create:
            raise KeyProblem(str(path), "no issuer key here")
        with contextlib.suppress(FileExistsError):
            _create_key(path)
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyProblem(str(path), "not an Ed25519 private key")
    return key


def public_pem(key: Ed25519PublicKey) -> bytes:
    """SubjectPublicKeyInfo PEM of a public key."""
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def public_key_pem(data_dir: Path) -> bytes:
    """The issuer's public key as PEM, for the API to serve (creates the key on first use)."""
    return public_pem(load_private_key(data_dir).public_key())


def load_public_key(path: Path) -> Ed25519PublicKey:
    """A public key from a PEM file; a private key file is accepted and its public half used."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise KeyProblem(str(path), f"cannot read: {exc.strerror}") from exc
    return public_key_from_pem(data, str(path))


def public_key_from_pem(data: bytes, source: str) -> Ed25519PublicKey:
    """An Ed25519 public key from PEM bytes (a private key gives its public half)."""
    try:
        if b"PRIVATE KEY" in data:
            private = serialization.load_pem_private_key(data, password=None)
            if not isinstance(private, Ed25519PrivateKey):
                raise KeyProblem(source, "not an Ed25519 key")
            return private.public_key()
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError) as exc:
        raise KeyProblem(source, f"not a PEM key: {exc}") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise KeyProblem(source, "not an Ed25519 public key")
    return key


def sign(data_dir: Path, message: bytes) -> bytes:
    """The issuer's 64-byte Ed25519 signature of `message`."""
    return load_private_key(data_dir).sign(message)


def signature_valid(key: Ed25519PublicKey, message: bytes, signature: bytes) -> bool:
    """True when `signature` is the key's signature of `message`."""
    try:
        key.verify(signature, message)
    except InvalidSignature:
        return False
    return True
