"""A report and signed package for a simulated trial of each family, verified by the CLI.

The whole module shares one data dir (registry, SQLite store, issuer key) and prints one PDF
per family, which the readability tests below read back with pdftotext.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from innotrial.cli import cli
from registry.apply import apply_trial
from registry.db import open_registry
from reports import build_report, verify_package
from reports.build import ReportResult
from reports.html import plotly_js
from reports.package import MANIFEST, SIGNATURE, dumps, make_manifest
from reports.pdf import BASE_FLAGS, chromium_path
from reports.signing import load_private_key, public_key_pem
from telemetry.store.sqlite import SQLiteStore
from tests.reports.sim_trials import FAMILIES, populate, trial_id

INNOTRIAL = str(Path(sys.executable).with_name("innotrial"))


@dataclass
class Site:
    data_dir: Path
    out_dir: Path
    store: SQLiteStore
    results: dict[str, ReportResult]
    issuer_pem: Path
    cli_build: tuple[int, str] = (0, "")

    def env(self) -> dict[str, str]:
        return {"INNOTRIAL_DATA_DIR": str(self.data_dir)}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    root = tmp_path_factory.mktemp("reports")
    data_dir, out_dir = root / "data", root / "out"
    store = SQLiteStore(data_dir / "readings.db")
    registry = open_registry(f"sqlite:///{data_dir / 'registry.db'}")
    results: dict[str, ReportResult] = {}
    for family in FAMILIES:
        spec = populate(store, family)
        with registry.session() as session:
            apply_trial(session, spec)
        if family != "fever_screener":  # built through the CLI below
            results[family] = build_report(spec, store, {}, out_dir, data_dir)
    registry.close()
    issuer_pem = root / "issuer.pem"
    issuer_pem.write_bytes(public_key_pem(data_dir))
    site = Site(data_dir, out_dir, store, results, issuer_pem)
    site.cli_build = _cli(site, "report", "build", trial_id("fever_screener"), "--out",
                          str(out_dir), "--version-note", "first issue")
    yield site
    store.close()


def _cli(site: Site, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), env=site.env(), catch_exceptions=False)
    return result.exit_code, result.output


def _package(site: Site, family: str, version: int = 1) -> Path:
    return site.out_dir / trial_id(family) / f"v{version}" / "package.zip"


def test_cli_builds_a_report_from_the_registry_and_store(site: Site):
    code, out = site.cli_build
    assert code == 0, out
    assert "version: v1" in out and "verdict: pass" in out
    assert _package(site, "fever_screener").exists()
    html = (_package(site, "fever_screener").parent / "report.html").read_text("utf-8")
    assert "Bland–Altman" in html and "first issue" in html


@pytest.mark.parametrize("family", list(FAMILIES))
def test_verify_passes_on_every_family(site: Site, family: str):
    code, out = _cli(site, "report", "verify", str(_package(site, family)),
                     "--public-key", str(site.issuer_pem))
    assert code == 0, out
    assert "signature: ok" in out and out.strip().endswith("VERIFIED")
    assert "metric match: verdict" in out
    assert " 0 mismatch" in out


@pytest.mark.parametrize("family", ["rain_gauge", "lift", "uv_robot"])
def test_html_is_self_contained_bilingual_with_charts(site: Site, family: str):
    result = site.results[family]
    html = result.paths["report.html"].read_text("utf-8")
    assert '<html lang="en" data-lang="en">' in html and 'id="lang-switch"' in html
    assert "驗收準則" in html and "Acceptance criteria" in html
    assert plotly_js() in html  # inlined from the installed plotly package
    page = html.replace(plotly_js(), "")
    assert " src=" not in page and "http://" not in page and "https://" not in page
    assert "Plotly.newPlot" in page
    assert result.package_sha256 in html
    assert {"rain_gauge": "c0-scatter", "lift": "c0-timeline", "uv_robot": "c0-dose"}[family] in html
    verdict = {"pass": "PASS", "fail": "FAIL", "insufficient_data": "INSUFFICIENT DATA"}
    assert f'class="verdict {result.verdict}"' in html and verdict[result.verdict] in html


def test_pdf_has_the_verdict_and_a_chinese_heading(site: Site):
    # scripts/test installs Chromium: its absence is a failure here, never a skip
    assert chromium_path() is not None, "Chromium is missing: run scripts/test (it installs it)"
    result = site.results["rain_gauge"]
    assert result.pdf_problem is None
    pdf = result.paths["report.pdf"]
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, check=True,
                          text=True).stdout
    assert {"pass": "PASS", "fail": "FAIL"}[result.verdict] in text
    assert "驗收準則" in text and "數據質素" in text


def _pdf_pages(pdf: Path) -> list[str]:
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, check=True,
                          text=True).stdout
    return text.split("\f")


def _family_pdf(site: Site, family: str) -> Path:
    pdf = _package(site, family).parent / "report.pdf"
    assert pdf.exists(), f"no PDF for {family}"
    return pdf


# Per family: (English label, 繁體中文 label, unit text) of metrics the PDF must show.
PDF_TEXT = {
    "rain_gauge": [("Minutes within WMO tolerance", "符合 WMO 容差的分鐘", "%"),
                   ("Daily bias", "每日偏差", "mm"), ("Paired minutes", "配對分鐘", "min/分鐘")],
    "fever_screener": [("Sensitivity", "敏感度", None), ("Bias", "偏差", "°C"),
                       ("Throughput", "處理量", "per active minute/每活躍分鐘")],
    "lift": [("Recall", "檢出率", None), ("Detection delay, median", "偵測延遲中位數", "s/秒"),
             ("False alerts", "誤報", "per 30 days/每 30 日"),
             ("Detection by event type", "按事件類型的偵測", None), ("Entrapment", "困人", None)],
    "uv_robot": [("Doses on target", "達標劑量比例", "%"), ("Lowest dose", "最低劑量", "mJ/cm²"),
                 ("Mean mission time", "平均任務時間", "s/秒")],
}
STANDARDS = {"rain_gauge": ["WMO-No. 8", "Annex 1.A", "EN 17277"],
             "fever_screener": ["80601-2-59", "Bland", "Altman", "Wilson"],
             "lift": ["EN 81-28", "Wilson"], "uv_robot": ["ASTM E3135", "∫ E dt"]}


@pytest.mark.parametrize("family", list(FAMILIES))
def test_pdf_shows_labels_units_meanings_and_method_in_both_languages(site: Site, family: str):
    text = "\n".join(_pdf_pages(_family_pdf(site, family)))
    flat = re.sub(r"\s+", " ", text)
    for en, zh, unit in PDF_TEXT[family]:
        assert en in flat and zh in flat, (en, zh)
        if unit:
            assert unit in flat, unit
    assert "Completeness" in flat and "完整度" in flat and "Received readings" in flat
    assert "Methodology" in flat and "方法" in flat and "Standards and sources" in flat
    for source in STANDARDS[family]:
        assert source in flat, source
    assert "METRICS.md" not in flat
    assert f"{family}." in flat  # the criterion's raw key, under its label
    assert "Acceptance criteria" in flat and "驗收準則" in flat


def _headings(html: str) -> set[str]:
    found = re.findall(r"<h([234])[^>]*>(.*?)</h\1>", html, flags=re.S)
    return {re.sub(r"\s+", "", re.sub(r"<[^>]+>", "", body)) for _level, body in found}


@pytest.mark.parametrize("family", list(FAMILIES))
def test_no_page_of_the_pdf_ends_with_a_heading(site: Site, family: str):
    html = (_package(site, family).parent / "report.html").read_text("utf-8")
    headings = _headings(html)
    assert "Methodology方法" in headings and len(headings) > 8
    pages = [p for p in _pdf_pages(_family_pdf(site, family)) if p.strip()]
    assert len(pages) >= 3
    for number, page in enumerate(pages[:-1], start=1):
        last = re.sub(r"\s+", "", [line for line in page.splitlines() if line.strip()][-1])
        orphan = last in headings or any(h.startswith(last) and len(last) >= 8 for h in headings)
        assert not orphan, f"{family} page {number} ends with the heading {last!r}"


def _rendered_dom(html: Path, tmp_path: Path) -> str:
    exe = chromium_path()
    assert exe is not None
    proc = subprocess.run([exe, *BASE_FLAGS, f"--user-data-dir={tmp_path / 'profile'}",
                           "--dump-dom", html.resolve().as_uri()],
                          capture_output=True, text=True, timeout=300, check=True)
    return proc.stdout


def _chart_svg(dom: str, chart_id: str) -> str:
    start = dom.index(f'id="{chart_id}"')
    return dom[start:dom.index("</figure>", start)]


def test_uv_chart_draws_the_target_line_inside_the_plot_at_the_target_dose(site: Site,
                                                                           tmp_path: Path):
    """The chart as Chromium draws it: the line's pixel row maps back to the target dose."""
    html = _package(site, "uv_robot").parent / "report.html"
    svg = _chart_svg(_rendered_dom(html, tmp_path), "c0-dose")
    ticks = [(float(v), float(y)) for v, y in re.findall(
        r'<g class="ytick"><text[^>]*?data-unformatted="([-\d.]+)"[^>]*?'
        r'transform="translate\(0,([\d.]+)\)"', svg)]
    assert len(ticks) >= 3 and min(v for v, _ in ticks) == 0.0  # bars start at zero
    (v0, y0), (v1, y1) = ticks[0], ticks[-1]
    (line_y,) = {float(a) for a, b in re.findall(r'<path data-index="0" fill-rule="evenodd" '
                                                 r'd="M[\d.]+,([\d.]+)L[\d.]+,([\d.]+)"', svg)
                 for _ in (a, b)}
    plot = re.search(r'<clipPath class="axesclip" id="clip\w+xy"><rect x="[\d.]+" '
                     r'y="([\d.]+)" width="[\d.]+" height="([\d.]+)"', svg)
    assert plot is not None
    top, height = float(plot.group(1)), float(plot.group(2))
    assert top < line_y < top + height
    assert v0 + (line_y - y0) * (v1 - v0) / (y1 - y0) == pytest.approx(10.0, abs=0.05)
    bars = re.findall(r'<g class="point"><path d="M[\d.]+,([\d.]+)V([\d.]+)', svg)
    assert {float(base) for base, _top in bars} == {height}  # every bar rises from zero
    assert len(bars) == 2 * json.loads(site.results["uv_robot"].paths["metrics.json"]
                                       .read_text())["comparisons"][0]["metrics"]["missions"]


def _rewrite(src: Path, dst: Path, member: str, edit) -> None:
    with zipfile.ZipFile(src) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    members[member] = edit(members[member])
    with zipfile.ZipFile(dst, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)


def _flip_byte(data: bytes) -> bytes:
    at = len(data) * 2 // 3
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1:]


def _data_files(package: Path) -> list[str]:
    with zipfile.ZipFile(package) as archive:
        return [n for n in archive.namelist() if n not in (MANIFEST, SIGNATURE)]


def test_one_changed_byte_in_any_file_fails_and_names_it(site: Site, tmp_path: Path):
    source = _package(site, "uv_robot")
    key = load_private_key(site.data_dir).public_key()
    members = _data_files(source)
    assert "data/uvr-a.csv" in members and "data/uvr-a.parquet" in members
    for member in members:
        tampered = tmp_path / f"{member.replace('/', '_')}.zip"
        _rewrite(source, tampered, member, _flip_byte)
        result = verify_package(tampered, key, "test")
        assert not result.ok, member
        assert member in [path for path, _ in result.file_problems], member


def test_cli_names_the_changed_file_and_exits_1(site: Site, tmp_path: Path):
    tampered = tmp_path / "rain.zip"
    _rewrite(_package(site, "rain_gauge"), tampered, "data/rg-dut-01.csv", _flip_byte)
    code, out = _cli(site, "report", "verify", str(tampered))
    assert code == 1
    assert "file mismatch: data/rg-dut-01.csv" in out and "NOT VERIFIED" in out
    assert "local issuer key" in out


def _edit_metric(data: bytes) -> bytes:
    metrics = json.loads(data)
    metrics["comparisons"][0]["metrics"]["pct_within_tolerance"] = 99.9
    return dumps(metrics)


def test_an_edited_metric_fails_and_is_named(site: Site, tmp_path: Path):
    tampered = tmp_path / "edited.zip"
    _rewrite(_package(site, "rain_gauge"), tampered, "metrics.json", _edit_metric)
    code, out = _cli(site, "report", "verify", str(tampered), "--public-key",
                     str(site.issuer_pem))
    assert code == 1
    assert "file mismatch: metrics.json" in out
    assert "metric mismatch: comparisons.0.metrics.pct_within_tolerance: package 99.9" in out


def test_a_re_signed_forgery_fails_the_issuer_key_and_the_recomputation(site: Site,
                                                                        tmp_path: Path):
    """A forger who rewrites metrics.json and re-signs the manifest with their own key."""
    source = _package(site, "rain_gauge")
    with zipfile.ZipFile(source) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    members["metrics.json"] = _edit_metric(members["metrics.json"])
    files = {k: v for k, v in members.items() if k not in (MANIFEST, SIGNATURE)}
    header = {k: v for k, v in json.loads(members[MANIFEST]).items()
              if k not in ("files", "format")}
    members[MANIFEST] = make_manifest(files, header)
    forger_dir = tmp_path / "forger"
    members[SIGNATURE] = base64.b64encode(load_private_key(forger_dir).sign(members[MANIFEST]))
    forged = tmp_path / "forged.zip"
    with zipfile.ZipFile(forged, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    code, out = _cli(site, "report", "verify", str(forged), "--public-key", str(site.issuer_pem))
    assert code == 1 and "signature: INVALID" in out
    forger_pem = tmp_path / "forger.pem"
    forger_pem.write_bytes(public_key_pem(forger_dir))
    code, out = _cli(site, "report", "verify", str(forged), "--public-key", str(forger_pem))
    assert code == 1 and "signature: ok" in out and "files: 9 of 9 match" in out
    assert "metric mismatch: comparisons.0.metrics.pct_within_tolerance" in out


def test_a_wrong_public_key_fails(site: Site, tmp_path: Path):
    wrong = tmp_path / "wrong.pem"
    wrong.write_bytes(public_key_pem(tmp_path / "someone-else"))
    code, out = _cli(site, "report", "verify", str(_package(site, "lift")),
                     "--public-key", str(wrong))
    assert code == 1
    assert "signature: INVALID" in out and "NOT VERIFIED" in out


def test_unusable_input_exits_2_with_one_line(site: Site, tmp_path: Path):
    not_zip = tmp_path / "package.zip"
    not_zip.write_text("hello")
    proc = subprocess.run([INNOTRIAL, "report", "verify", str(not_zip)], capture_output=True,
                          text=True, env={"INNOTRIAL_DATA_DIR": str(site.data_dir), "PATH": ""},
                          check=False)
    assert proc.returncode == 2 and "not a readable zip" in proc.stderr
    assert "Traceback" not in proc.stderr
    proc = subprocess.run([INNOTRIAL, "report", "verify", str(_package(site, "lift"))],
                          capture_output=True, text=True,
                          env={"INNOTRIAL_DATA_DIR": str(tmp_path / "empty"), "PATH": ""},
                          check=False)
    assert proc.returncode == 2 and "--public-key" in proc.stderr


def test_same_data_gives_the_same_package_bytes(site: Site, tmp_path: Path):
    spec_family = "lift"
    from tests.reports.sim_trials import trial_spec

    again = build_report(trial_spec(spec_family), site.store, {}, tmp_path / "out",
                         site.data_dir, with_pdf=False)
    first = site.results[spec_family]
    assert again.package_sha256 == first.package_sha256
    assert again.paths["package.zip"].read_bytes() == first.paths["package.zip"].read_bytes()
    unchanged = build_report(trial_spec(spec_family), site.store, {}, tmp_path / "out",
                             site.data_dir, with_pdf=False)
    assert unchanged.unchanged and unchanged.version == 1


def test_package_lists_every_file_with_its_sha256(site: Site):
    with zipfile.ZipFile(_package(site, "rain_gauge")) as archive:
        manifest = json.loads(archive.read(MANIFEST))
        csv_head = archive.read("data/rg-dut-01.csv").decode().splitlines()[0]
        books = json.loads(archive.read("bookkeeping.json"))
    paths = [f["path"] for f in manifest["files"]]
    assert paths == sorted(paths)
    assert {"trial.yaml", "metrics.json", "methodology.json", "bookkeeping.json",
            "data/rg-dut-01.csv", "data/rg-dut-01.parquet"} <= set(paths)
    assert csv_head == "ts_ms,device_id,rain_mm,battery_v,rssi_dbm,received_ms"
    assert books["rg-dut-01"]["seq_missing"] == 0 and "duplicates" in books["rg-dut-01"]
    assert manifest["version"] == 1 and manifest["methodology_version"] == "2"


def test_late_data_issues_version_2_with_a_change_log(tmp_path: Path):
    from gateway.drivers.simulator.driver import simulate
    from tests.reports.sim_trials import START_MS, _settings, write_readings

    store = SQLiteStore(tmp_path / "readings.db")
    spec = populate(store, "rain_gauge")
    data_dir, out_dir = tmp_path / "data", tmp_path / "out"
    first = build_report(spec, store, {}, out_dir, data_dir, with_pdf=False)
    stored = set(store.read("rg-dut-01", 0, 2**62, columns=[])["ts_ms"])
    settings = {**_settings("rain_gauge", "rg-dut-01"), "dropout_rate": 0.0}
    late = [r for r in simulate("rain_gauge", settings, START_MS, START_MS + 86_400_000,
                                device_id="rg-dut-01") if r.ts_ms not in stored]
    assert late
    write_readings(store, late, first_seq=10_000)
    second = build_report(spec, store, {"rg-dut-01": 2}, out_dir, data_dir, with_pdf=False,
                          version_note="late data after the gateway outage")
    assert (first.version, second.version) == (1, 2)
    assert second.paths["dir"] == out_dir / spec.trial.id / "v2"
    changes = json.loads(second.paths["changes.json"].read_text("utf-8"))
    moved = {row["path"]: (row["old"], row["new"]) for row in changes["changes"]}
    received = moved["quality.rg-dut-01.received"]
    assert received[1] == received[0] + len(late)
    assert moved["quality.rg-dut-01.rejected"] == (0, 2)
    html = second.paths["report.html"].read_text("utf-8")
    assert "v1 → v2" in html and "quality.rg-dut-01.received" in html
    assert "late data after the gateway outage" in html
    key = load_private_key(data_dir).public_key()
    assert verify_package(second.paths["package.zip"], key, "issuer").ok
    assert (out_dir / spec.trial.id / "v1" / "package.zip").exists()
    shutil.rmtree(tmp_path / "out")
    store.close()
