"""`report verify` on hostile input: only keys the user chose, signature and manifest before
any data file, duplicate and unlisted members refused, a compression bomb in bounded memory,
and NOT VERIFIED with a reason (never a traceback) for malformed packages."""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys
import threading
import warnings
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner

from innotrial.cli import cli
from reports import build_report
from reports.package import MANIFEST, SIGNATURE, dumps, make_manifest
from reports.signing import load_private_key, public_key_pem
from reports.trust import fingerprint
from telemetry.store.sqlite import SQLiteStore
from tests.reports.sim_trials import populate

INNOTRIAL = str(Path(sys.executable).with_name("innotrial"))
BOMB_BYTES = 1024 * 1024 * 1024  # 1 GiB of zeros: about 5 MB deflated
PEAK_RSS_BOUND_MB = 400


@dataclass
class Issued:
    package: Path
    issuer_pem: Path
    issuer_dir: Path
    members: dict[str, bytes]


@pytest.fixture(scope="module")
def issued(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Issued]:
    root = tmp_path_factory.mktemp("verify")
    store = SQLiteStore(root / "readings.db")
    spec = populate(store, "lift", hours=2)
    result = build_report(spec, store, {}, root / "out", root / "data", with_pdf=False)
    store.close()
    issuer_pem = root / "issuer.pem"
    issuer_pem.write_bytes(public_key_pem(root / "data"))
    package = result.paths["package.zip"]
    with zipfile.ZipFile(package) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    yield Issued(package, issuer_pem, root / "data", members)


def _zip(path: Path, entries: list[tuple[str, bytes]]) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # zipfile warns of duplicate names
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, data in entries:
                archive.writestr(name, data)
    return path


def _verify(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["report", "verify", *args], env=env, catch_exceptions=False)
    return result.exit_code, result.output


def _signed_by(data_dir: Path, members: dict[str, bytes]) -> dict[str, bytes]:
    """Members with a manifest over them re-signed by the key in `data_dir`."""
    files = {k: v for k, v in members.items() if k not in (MANIFEST, SIGNATURE)}
    header = {
        k: v for k, v in json.loads(members[MANIFEST]).items() if k not in ("files", "format")
    }
    manifest = make_manifest(files, header)
    signature = base64.b64encode(load_private_key(data_dir).sign(manifest))
    return {**files, MANIFEST: manifest, SIGNATURE: signature}


def test_the_genuine_package_verifies_and_the_fingerprint_is_printed(issued: Issued) -> None:
    code, out = _verify(str(issued.package), "--public-key", str(issued.issuer_pem))
    assert code == 0, out
    expected = fingerprint(load_private_key(issued.issuer_dir).public_key())
    assert f"SHA-256 {expected}" in out and out.strip().endswith("VERIFIED")
    assert expected == hashlib.sha256(issued.issuer_pem.read_bytes()).hexdigest()  # sha256sum
    printed = CliRunner().invoke(cli, ["report", "fingerprint", str(issued.issuer_pem)])
    assert printed.output.strip() == expected


def test_a_forged_key_next_to_the_package_is_never_trusted(issued: Issued, tmp_path: Path) -> None:
    """A forged package shipped in a folder with its own key, data dir and innotrial.yaml."""
    folder = tmp_path / "download"
    forged_members = dict(issued.members)
    forged_members["metrics.json"] = dumps({"verdict": "pass", "forged": True})
    forged_members = _signed_by(folder / "innotrial-data", forged_members)  # key planted here
    keys = folder / "innotrial-data" / "keys"
    (folder / "trusted").mkdir()
    (folder / "trusted" / "issuer.pem").write_bytes(public_key_pem(folder / "innotrial-data"))
    (folder / "innotrial.yaml").write_text(
        f"data_dir: {folder / 'innotrial-data'}\ntrusted_keys_dir: {folder / 'trusted'}\n"
    )
    forged = _zip(folder / "package.zip", sorted(forged_members.items()))
    assert (keys / "issuer_ed25519.pem").exists()
    env = {"PATH": "", "XDG_CONFIG_HOME": str(tmp_path / "config")}
    proc = subprocess.run(
        [INNOTRIAL, "report", "verify", "package.zip"],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2 and "VERIFIED" not in proc.stdout
    assert "no key chosen: pass --public-key FILE" in proc.stderr
    assert "Traceback" not in proc.stderr
    # the user's own trusted-keys directory (from their config) holds the genuine issuer key
    mine = tmp_path / "config" / "innotrial" / "trusted-keys"
    mine.mkdir(parents=True)
    (mine / "issuer.pem").write_bytes(issued.issuer_pem.read_bytes())
    proc = subprocess.run(
        [INNOTRIAL, "report", "verify", "package.zip"],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "signature: INVALID" in proc.stdout and "NOT VERIFIED: the signature" in proc.stdout
    proc = subprocess.run(
        [INNOTRIAL, "report", "verify", str(issued.package)],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0 and f"{mine / 'issuer.pem'} (trusted keys)" in proc.stdout
    assert forged.exists()


def test_a_relative_trusted_keys_dir_is_refused(issued: Issued) -> None:
    code, out = _verify(str(issued.package), env={"INNOTRIAL_TRUSTED_KEYS_DIR": "keys"})
    assert code == 2 and "trusted_keys_dir" in out and "absolute path" in out


@pytest.fixture
def key_portal(issued: Issued) -> Iterator[str]:
    """A stand-in portal serving the issuer key at /api/v1/issuer-key."""
    pem = issued.issuer_pem.read_bytes()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            found = self.path == "/api/v1/issuer-key"
            self.send_response(200 if found else 404)
            self.end_headers()
            self.wfile.write(pem if found else b"")

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_the_issuer_key_can_be_fetched_from_a_portal_url(issued: Issued, key_portal: str) -> None:
    code, out = _verify(str(issued.package), "--issuer-url", key_portal)
    assert code == 0, out
    expected = hashlib.sha256(issued.issuer_pem.read_bytes()).hexdigest()
    assert f"issuer key from {key_portal}/api/v1/issuer-key, SHA-256 {expected}" in out
    code, out = _verify(str(issued.package), "--issuer-url", key_portal + "/nothing-here")
    assert code == 2 and "HTTP 404" in out


def test_a_forged_member_placed_before_the_genuine_one_is_refused(
    issued: Issued, tmp_path: Path
) -> None:
    forged = dumps({"verdict": "pass", "forged": True})
    entries = [("metrics.json", forged), *sorted(issued.members.items())]
    package = _zip(tmp_path / "dup.zip", entries)
    code, out = _verify(str(package), "--public-key", str(issued.issuer_pem))
    assert code == 1
    assert "NOT VERIFIED: member names appear twice: metrics.json" in out


def test_a_member_not_in_the_manifest_is_refused(issued: Issued, tmp_path: Path) -> None:
    entries = [*sorted(issued.members.items()), ("data/extra.csv", b"ts_ms\n1\n")]
    code, out = _verify(
        str(_zip(tmp_path / "extra.zip", entries)), "--public-key", str(issued.issuer_pem)
    )
    assert code == 1
    assert "file mismatch: data/extra.csv: in the package but not listed in the manifest" in out


@pytest.mark.parametrize(
    ("manifest", "reason"),
    [
        (b"{not json", "manifest.json is malformed"),
        (b"[1, 2]", "manifest.json is malformed: format is not"),
        (
            dumps({"format": "innotrial-data-package/1", "files": [{"path": "a"}]}),
            "manifest.json is malformed: a: sha256 is not 64 hex digits",
        ),
        (
            dumps({"format": "innotrial-data-package/1", "files": "all"}),
            "manifest.json is malformed: no files list",
        ),
        (b"[" * 100_000, "manifest.json is malformed"),
        (
            dumps(
                {
                    "format": "innotrial-data-package/1",
                    "files": [{"path": "data/x.csv", "sha256": "0" * 64, "bytes": 2**40}],
                }
            ),
            "manifest.json is malformed: data/x.csv: bytes is not a size from 0 to 1073741824",
        ),
        (
            dumps(
                {
                    "format": "innotrial-data-package/1",
                    "files": [{"path": "a", "sha256": "0" * 64, "bytes": 1}] * 2,
                }
            ),
            "manifest.json is malformed: a is listed twice",
        ),
    ],
)
def test_a_malformed_signed_manifest_is_not_verified_with_a_reason(
    issued: Issued, tmp_path: Path, manifest: bytes, reason: str
) -> None:
    signature = base64.b64encode(load_private_key(issued.issuer_dir).sign(manifest))
    entries = [(MANIFEST, manifest), (SIGNATURE, signature), ("trial.yaml", b"x")]
    code, out = _verify(
        str(_zip(tmp_path / "bad.zip", entries)), "--public-key", str(issued.issuer_pem)
    )
    assert code == 1 and f"NOT VERIFIED: {reason}" in out, out


def test_a_bad_signature_stops_before_any_data_file_is_parsed(
    issued: Issued, tmp_path: Path
) -> None:
    members = dict(issued.members)
    members[SIGNATURE] = base64.b64encode(b"\0" * 64)
    members["data/lm-dut-01.csv"] = b"\xff\xfe not a csv"
    code, out = _verify(
        str(_zip(tmp_path / "unsigned.zip", sorted(members.items()))),
        "--public-key",
        str(issued.issuer_pem),
    )
    assert code == 1 and "signature: INVALID" in out
    assert "not recomputed: the signature does not verify" in out
    assert "file mismatch" not in out  # not even hashed


@pytest.fixture(scope="module")
def bomb_packages(issued: Issued, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """The genuine package plus a 1 GiB zeros member, unlisted and in place of a data file."""
    root = tmp_path_factory.mktemp("bombs")
    victim = next(name for name in issued.members if name.endswith(".csv"))
    packages = []
    for name, replaces in (("data/zeros.csv", False), (victim, True)):
        path = root / f"bomb-{len(packages)}.zip"
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
            for member, data in sorted(issued.members.items()):
                if not (replaces and member == victim):
                    archive.writestr(member, data)
            with archive.open(name, "w", force_zip64=True) as out:
                zeros = bytes(1024 * 1024)
                for _ in range(BOMB_BYTES // len(zeros)):
                    out.write(zeros)
        packages.append(path)
    return packages


# A forked child starts with its parent's peak RSS (ru_maxrss, VmHWM): reset the peak
# (clear_refs 5, Linux >= 4.0) before verifying, then read it.
PEAK_SCRIPT = """
import re, sys
from pathlib import Path
from reports.signing import load_public_key
from reports.verify import verify_package
Path("/proc/self/clear_refs").write_text("5")
result = verify_package(Path(sys.argv[1]), load_public_key(Path(sys.argv[2])), "test")
problems = "; ".join(f"{p}: {why}" for p, why in result.file_problems)
peak_kb = int(re.search(r"VmHWM:\\s+(\\d+) kB", Path("/proc/self/status").read_text()).group(1))
print(result.ok, peak_kb // 1024, problems)
"""


@pytest.mark.slow
def test_a_compression_bomb_is_refused_in_bounded_memory(
    issued: Issued, bomb_packages: list[Path]
) -> None:
    for package in bomb_packages:
        proc = subprocess.run(
            [sys.executable, "-c", PEAK_SCRIPT, str(package), str(issued.issuer_pem)],
            capture_output=True,
            text=True,
            check=True,
        )
        ok, peak_mb, problems = proc.stdout.strip().split(" ", 2)
        print(f"{package.name}: peak RSS {peak_mb} MB")
        assert ok == "False", proc.stdout
        assert 50 < int(peak_mb) < PEAK_RSS_BOUND_MB, proc.stdout  # was 3.2 GiB before
        assert "not listed in the manifest" in problems or "bytes, the manifest says" in problems, (
            problems
        )
