"""Read an untrusted data package in the order that keeps it harmless.

1. The zip's directory: duplicate member names (which would collapse to one) and too many
   members are refused before anything is read.
2. manifest.json and manifest.sig are read with small size limits, and the signature is
   checked against the chosen key. A bad signature ends the reading: nothing else is parsed.
3. The manifest is checked for shape (paths, SHA-256, sizes, no duplicates).
4. Every member is compared with the manifest: members not listed are refused unread, listed
   ones are hashed as a stream and cut off once they pass the size the manifest gives (or the
   per-member limit), so a compression bomb costs a bounded amount of memory and time.
Only a package that passes all of this is read into memory, for recomputing its metrics.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import zipfile
import zlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reports.errors import UnusablePackage
from reports.package import FORMAT, MANIFEST, SIGNATURE, Package

MAX_MEMBERS = 10_000
MAX_MANIFEST_BYTES = 4 * 1024 * 1024
MAX_SIGNATURE_BYTES = 1024
MAX_MEMBER_BYTES = 1024 * 1024 * 1024
MAX_TOTAL_BYTES = 4 * 1024 * 1024 * 1024
CHUNK_BYTES = 1024 * 1024
_SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
# what zipfile and zlib raise on a damaged archive or member
ZIP_ERRORS = (
    OSError,
    EOFError,
    ValueError,
    NotImplementedError,
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    zlib.error,
)
PACKAGE_METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)


@dataclass(frozen=True, slots=True)
class Listed:
    """One file of the manifest: its SHA-256 (hex) and size in bytes."""

    sha256: str
    size: int


@dataclass(slots=True)
class Opened:
    """A package whose directory, manifest and signature have been read."""

    path: Path
    infos: dict[str, zipfile.ZipInfo]
    manifest_bytes: bytes
    signature: bytes


def _bad(path: Path, problem: str) -> UnusablePackage:
    return UnusablePackage(str(path), problem)


def _unreadable(info: zipfile.ZipInfo) -> str | None:
    """Why a member cannot be read as innotrial writes them (encrypted, other compression)."""
    if info.flag_bits & 0x1:
        return "encrypted"
    if info.compress_type not in PACKAGE_METHODS:
        return f"compression method {info.compress_type} (packages use stored or deflate)"
    return None


def _read_capped(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes:
    """A member's bytes, or ValueError once it passes `limit` bytes (read as a stream)."""
    problem = _unreadable(info)
    if problem is not None:
        raise ValueError(f"{info.filename} is {problem}")
    data = bytearray()
    with archive.open(info) as member:
        while chunk := member.read(CHUNK_BYTES):
            data += chunk
            if len(data) > limit:
                raise ValueError(f"{info.filename} is over {limit} bytes")
    return bytes(data)


def open_package(path: Path) -> Opened:
    """The package's member directory, manifest bytes and signature; UnusablePackage else."""
    try:
        with zipfile.ZipFile(path) as archive:
            infos = [info for info in archive.infolist() if not info.is_dir()]
            if len(infos) > MAX_MEMBERS:
                raise _bad(path, f"more than {MAX_MEMBERS} members: not a data package")
            repeated = sorted(
                name for name, n in Counter(i.filename for i in infos).items() if n > 1
            )
            if repeated:
                raise _bad(path, f"member names appear twice: {', '.join(repeated[:5])}")
            by_name = {info.filename: info for info in infos}
            for name in (MANIFEST, SIGNATURE):
                if name not in by_name:
                    raise _bad(path, f"no {name} in the package")
            manifest = _read_capped(archive, by_name[MANIFEST], MAX_MANIFEST_BYTES)
            signature_b64 = _read_capped(archive, by_name[SIGNATURE], MAX_SIGNATURE_BYTES)
    except ZIP_ERRORS as exc:
        raise _bad(path, f"not a readable zip: {exc}") from exc
    try:
        signature = base64.b64decode(signature_b64.strip(), validate=True)
    except (ValueError, binascii.Error) as exc:
        raise _bad(path, f"{SIGNATURE} is not base64: {exc}") from exc
    return Opened(path, by_name, manifest, signature)


def _listed_file(entry: Any) -> tuple[str, Listed]:
    if not isinstance(entry, dict):
        raise ValueError("a files entry is not an object")
    path, digest, size = entry.get("path"), entry.get("sha256"), entry.get("bytes")
    if not isinstance(path, str) or not path or path in (MANIFEST, SIGNATURE):
        raise ValueError(f"bad file path {path!r}")
    if not isinstance(digest, str) or not _SHA256_HEX.match(digest):
        raise ValueError(f"{path}: sha256 is not 64 hex digits")
    if isinstance(size, bool) or not isinstance(size, int) or not 0 <= size <= MAX_MEMBER_BYTES:
        raise ValueError(f"{path}: bytes is not a size from 0 to {MAX_MEMBER_BYTES}")
    return path, Listed(digest, size)


def parse_manifest(opened: Opened) -> tuple[dict[str, Any], dict[str, Listed]]:
    """The manifest and its files by path; UnusablePackage naming what is malformed."""
    try:
        manifest = json.loads(opened.manifest_bytes)
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise ValueError(f"format is not {FORMAT}")
        files = manifest.get("files")
        if not isinstance(files, list):
            raise ValueError("no files list")
        listed: dict[str, Listed] = {}
        for entry in files:
            path, item = _listed_file(entry)
            if path in listed:
                raise ValueError(f"{path} is listed twice")
            listed[path] = item
        if sum(item.size for item in listed.values()) > MAX_TOTAL_BYTES:
            raise ValueError(f"the files add up to more than {MAX_TOTAL_BYTES} bytes")
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise _bad(opened.path, f"{MANIFEST} is malformed: {exc}") from exc
    return manifest, listed


def _hash_capped(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> str | None:
    """Hex SHA-256 of a member read as a stream, or None once it passes `limit` bytes."""
    digest, seen = hashlib.sha256(), 0
    with archive.open(info) as member:
        while chunk := member.read(CHUNK_BYTES):
            seen += len(chunk)
            if seen > limit:
                return None
            digest.update(chunk)
    return digest.hexdigest()


def _member_problem(archive: zipfile.ZipFile, info: zipfile.ZipInfo, item: Listed) -> str | None:
    if info.file_size != item.size:
        return f"{info.file_size} bytes, the manifest says {item.size}"
    unreadable = _unreadable(info)
    if unreadable is not None:
        return unreadable
    try:
        digest = _hash_capped(archive, info, item.size)
    except ZIP_ERRORS as exc:
        return f"unreadable: {exc}"
    if digest is None:
        return f"longer than the {item.size} bytes the manifest says"
    return None if digest == item.sha256 else "SHA-256 does not match the manifest"


def check_members(opened: Opened, listed: dict[str, Listed]) -> list[tuple[str, str]]:
    """[(member, problem)] comparing every member with the manifest, streamed and bounded."""
    problems: list[tuple[str, str]] = []
    for name in sorted(set(opened.infos) - set(listed) - {MANIFEST, SIGNATURE}):
        problems.append((name, "in the package but not listed in the manifest"))
    try:
        with zipfile.ZipFile(opened.path) as archive:
            for path, item in sorted(listed.items()):
                info = opened.infos.get(path)
                problem = (
                    "listed in the manifest but missing from the package"
                    if info is None
                    else _member_problem(archive, info, item)
                )
                if problem is not None:
                    problems.append((path, problem))
    except ZIP_ERRORS as exc:
        raise _bad(opened.path, f"not a readable zip: {exc}") from exc
    return sorted(problems)


def load_checked(opened: Opened, manifest: dict[str, Any], listed: dict[str, Listed]) -> Package:
    """The members in memory, once every one has matched the manifest (sizes are known)."""
    try:
        with zipfile.ZipFile(opened.path) as archive:
            members = {
                path: _read_capped(archive, opened.infos[path], item.size)
                for path, item in listed.items()
            }
    except ZIP_ERRORS as exc:
        raise _bad(opened.path, f"not a readable zip: {exc}") from exc
    return Package(str(opened.path), members, opened.manifest_bytes, manifest, opened.signature)
