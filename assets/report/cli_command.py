"""`ariadne report --round R [--out DIR]`: the round's impact report, and a PDF when it can.

The PDF is Chromium's own print of the page (`--print-to-pdf`), made only where a
`chromium` is installed: no second rendering library to keep in step with the HTML.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from assets.report.report import ReportError, build_report, write_report
from pipelines.resources import from_environment
from schemas.contract import is_slug

PDF_TIMEOUT_SECONDS = 120


def report(round_id: str, out_dir: Path | None) -> int:
    """Write the round's report under `out_dir` (default the reports folder); print its path."""
    if not is_slug(round_id):
        print(f"{round_id!r} is not a round id (a lower-case slug such as 2024-impact)")
        return 1
    resources = from_environment()
    engine = resources["warehouse"].engine()
    try:
        made = build_report(
            engine,
            round_id,
            threshold=resources["disclosure"].threshold,
            instruments_dir=resources["instruments"].registry().instruments_dir,
        )
    except ReportError as error:
        print(error)
        return 1
    finally:
        engine.dispose()
    path = write_report(made, out_dir or resources["reports"].path, round_id)
    print(path)
    pdf = print_pdf(path)
    if pdf is not None:
        print(pdf)
    return 0


def print_pdf(html: Path, chromium: str | None = None) -> Path | None:
    """Print the page to a PDF beside it with headless Chromium; None when there is none.

    A throwaway profile keeps the print from touching the user's own Chromium profile.
    The page itself forbids every request, so the print reaches no network either.
    """
    browser = chromium or shutil.which("chromium")
    if browser is None:
        return None
    pdf = html.with_suffix(".pdf")
    with tempfile.TemporaryDirectory(prefix="ariadne-chromium-") as profile:
        command = [
            browser,
            "--headless",
            "--disable-gpu",
            "--no-first-run",
            f"--user-data-dir={profile}",
            "--no-pdf-header-footer",
            f"--print-to-pdf={pdf}",
            html.resolve().as_uri(),
        ]
        if os.geteuid() == 0:
            # Chromium refuses to run as root inside its sandbox.
            command.insert(1, "--no-sandbox")
        finished = subprocess.run(
            command, capture_output=True, timeout=PDF_TIMEOUT_SECONDS, check=False
        )
    if finished.returncode != 0 or not pdf.is_file():
        print(f"no PDF: chromium exited with status {finished.returncode}")
        return None
    return pdf
