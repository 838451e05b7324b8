"""The signed data package: a deterministic zip of data, metrics, trial and manifest.

Layout (docs/provider-guide.md explains it to providers):
  data/<device_id>.csv, data/<device_id>.parquet   readings in the trial window
  trial.yaml          the trial definition
  metrics.json        the metrics JSON as issued
  methodology.json    methodology version, window and parameters used
  bookkeeping.json    per device: duplicates, rejected, seq statistics
  README.txt          how to verify
  manifest.json       SHA-256 and size of every file above
  manifest.sig        base64 Ed25519 signature of manifest.json's exact bytes
Entries are sorted and carry a fixed timestamp, so the same data gives the same package bytes.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from reports.errors import RecomputeError

FORMAT = "innotrial-data-package/1"
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
README = """innotrial verified data package

Verify it without any server:
    innotrial report verify package.zip --public-key issuer.pem

manifest.json lists the SHA-256 of every file; manifest.sig is the issuer's Ed25519 signature
of manifest.json (base64). data/*.csv hold ts_ms, device_id, the profile's fields and
received_ms (when ingest received the reading, for latency). bookkeeping.json holds what the
readings alone cannot show: duplicates dropped, readings rejected and seq numbers missing.
"""


def dumps(value: Any) -> bytes:
    """Canonical JSON bytes: sorted keys, 2-space indent, UTF-8, trailing newline."""
    text = json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False)
    return (text + "\n").encode("utf-8")


def sha256_hex(data: bytes) -> str:
    """Hex SHA-256 of bytes."""
    return hashlib.sha256(data).hexdigest()


def make_manifest(files: Mapping[str, bytes], header: Mapping[str, Any]) -> bytes:
    """manifest.json bytes: `header` plus path, sha256 and bytes of every file, sorted by path."""
    listing = [
        {"path": path, "sha256": sha256_hex(data), "bytes": len(data)}
        for path, data in sorted(files.items())
    ]
    return dumps({"format": FORMAT, **header, "files": listing})


def zip_bytes(members: Mapping[str, bytes]) -> bytes:
    """A deterministic zip: sorted entries, fixed timestamps and permissions, deflate."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in sorted(members):
            info = zipfile.ZipInfo(name, date_time=FIXED_ZIP_TIME)
            # Parquet is already zstd-compressed; deflating it again costs time for nothing.
            stored = name.endswith(".parquet")
            info.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
            info.create_system = 3
            info.external_attr = 0o644 << 16
            archive.writestr(info, members[name], compresslevel=6)
    return buffer.getvalue()


def build_package(
    files: Mapping[str, bytes], header: Mapping[str, Any], signature_of: Any
) -> bytes:
    """The package zip: files, README, manifest and its signature by `signature_of(bytes)`."""
    contents = {**files, "README.txt": README.encode("utf-8")}
    manifest = make_manifest(contents, header)
    signature = base64.b64encode(signature_of(manifest)) + b"\n"
    return zip_bytes({**contents, MANIFEST: manifest, SIGNATURE: signature})


@dataclass(frozen=True, slots=True)
class Package:
    """A package read back: raw members, the parsed manifest and the signature bytes."""

    path: str
    members: dict[str, bytes]
    manifest_bytes: bytes
    manifest: dict[str, Any]
    signature: bytes

    def json_member(self, name: str) -> Any:
        """A JSON member parsed; RecomputeError naming it when missing or not JSON."""
        if name not in self.members:
            raise RecomputeError(name, "missing from the package")
        try:
            return json.loads(self.members[name])
        except (ValueError, UnicodeDecodeError) as exc:
            raise RecomputeError(name, f"not valid JSON: {exc}") from exc
