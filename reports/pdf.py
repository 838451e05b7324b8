"""Print report.html to PDF (and screenshots) with headless Chromium."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from reports.errors import PdfUnavailable

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "/usr/bin/chromium")
TIMEOUT_S = 300
# Quiet, offline, throw-away profile: nothing phones home and nothing persists.
BASE_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
              "--disable-component-update", "--disable-sync", "--no-first-run",
              "--disable-extensions", "--hide-scrollbars", "--virtual-time-budget=15000")


def chromium_path() -> str | None:
    """The Chromium executable, or None when none is installed."""
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


def _run(args: list[str], out: Path) -> None:
    exe = chromium_path()
    if exe is None:
        raise PdfUnavailable("Chromium is not installed (apt install chromium); "
                             "report.html was built, report.pdf was not")
    with tempfile.TemporaryDirectory(prefix="innotrial-chromium-") as profile:
        cmd = [exe, *BASE_FLAGS, f"--user-data-dir={profile}", *args]
        try:
            proc = subprocess.run(cmd, capture_output=True, timeout=TIMEOUT_S, check=False)
        except subprocess.TimeoutExpired as exc:
            raise PdfUnavailable(f"Chromium did not finish within {TIMEOUT_S} s") from exc
    if proc.returncode != 0 or not out.exists() or out.stat().st_size == 0:
        tail = proc.stderr.decode("utf-8", "replace").strip().splitlines()[-3:]
        raise PdfUnavailable(f"Chromium failed (exit {proc.returncode}): {' | '.join(tail)}")


def print_pdf(html_path: Path, pdf_path: Path) -> None:
    """Print the page at html_path to pdf_path; PdfUnavailable when Chromium cannot."""
    pdf_path.unlink(missing_ok=True)
    _run(["--no-pdf-header-footer", f"--print-to-pdf={pdf_path.resolve()}",
          html_path.resolve().as_uri()], pdf_path)


def screenshot(html_path: Path, png_path: Path, width_px: int = 1200,
               height_px: int = 3000) -> None:
    """A PNG of the top of the page, for eyeballing the layout."""
    png_path.unlink(missing_ok=True)
    _run([f"--window-size={width_px},{height_px}", f"--screenshot={png_path.resolve()}",
          html_path.resolve().as_uri()], png_path)
