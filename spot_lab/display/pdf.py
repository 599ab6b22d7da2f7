"""A report printed to PDF by headless Chromium (the HTML report, as a browser prints it)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from spot_lab.display.html import write_html
from spot_lab.errors import SpotLabError


def write_pdf(report, path: str | Path, chromium: str | None = None) -> Path:
    """Print the HTML report to PDF with headless Chromium (a clear error if it is absent)."""
    browser = chromium or shutil.which("chromium") or shutil.which("chromium-browser")
    if not browser:
        raise SpotLabError(
            "to_pdf needs Chromium (apt-get install chromium); to_html(path) works without it"
        )
    path = Path(path).resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="spot-lab-pdf-") as tmp:
        source = write_html(report, Path(tmp) / "report.html")
        command = [
            browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
            "--no-first-run", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", f"--user-data-dir={Path(tmp) / 'profile'}",
            "--no-pdf-header-footer", f"--print-to-pdf={path}", source.as_uri(),
        ]  # fmt: skip
        try:
            done = subprocess.run(command, capture_output=True, timeout=120, check=False)
        except subprocess.TimeoutExpired:
            raise SpotLabError("Chromium did not finish printing the PDF within 120 s") from None
        except OSError as exc:
            raise SpotLabError(
                f"to_pdf needs Chromium, which could not start ({exc.strerror}: {browser}): "
                "install it (apt-get install chromium); to_html(path) works without it"
            ) from None
    if done.returncode != 0 or not path.exists() or path.stat().st_size == 0:
        tail = " ".join(done.stderr.decode(errors="replace").split()[-30:])
        raise SpotLabError(f"Chromium could not print the PDF: {tail}")
    return path
