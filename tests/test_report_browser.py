"""The 2024-impact report of the materialised sample, opened in headless Chromium as a reader
would: it renders with no console error and no request leaving the file, its charts have
size, nothing spills sideways, and a screenshot shows something (build/report-screenshot.png
for people to look at). Chromium prints it to a PDF too.

Chromium is Debian's `chromium` package (the project's set-up installs it for its tests);
Playwright drives it and never downloads a browser of its own. Without /usr/bin/chromium the
tests skip, saying so, except in CI (CI=true), where that is a failure.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from PIL import Image, ImageStat
from playwright.sync_api import Browser, Page, sync_playwright

from assets.report.cli_command import print_pdf
from assets.report.report import build_report, write_report
from tests.report_sample import ROUND_ID, sample_warehouse
from warehouse.engine import create_warehouse_engine

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOT_COPY = Path(__file__).resolve().parents[1] / "build" / "report-screenshot.png"
VIEWPORT = {"width": 1280, "height": 900}


def _on_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


@pytest.fixture(scope="module")
def chromium() -> Path:
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing: apt-get install chromium (Debian's package)"
        if _on_ci():
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return CHROMIUM


@pytest.fixture(scope="module")
def report_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    sample = sample_warehouse(tmp_path_factory)
    engine = create_warehouse_engine(sample.url)
    try:
        report = build_report(engine, ROUND_ID, threshold=5, run_id="5a3b1e00-browser-test")
    finally:
        engine.dispose()
    return write_report(report, tmp_path_factory.mktemp("reports"), ROUND_ID)


@pytest.fixture(scope="module")
def browser(chromium: Path) -> Iterator[Browser]:
    with sync_playwright() as playwright:
        # As root, Chromium runs only without its sandbox; the page has no script anyway.
        launched = playwright.chromium.launch(
            executable_path=str(chromium),
            args=["--no-sandbox"] if os.geteuid() == 0 else [],
        )
        yield launched
        launched.close()


@contextmanager
def _open(browser: Browser, page_file: Path) -> Iterator[tuple[Page, list[str], list[str]]]:
    """The page, loaded offline, with every console error or warning and every request."""
    context = browser.new_context(viewport=VIEWPORT, offline=True)
    page = context.new_page()
    problems: list[str] = []
    requests: list[str] = []
    page.on(
        "console",
        lambda message: (
            problems.append(f"console {message.type}: {message.text}")
            if message.type in ("error", "warning")
            else None
        ),
    )
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on("requestfailed", lambda request: problems.append(f"failed: {request.url}"))
    page.on("request", lambda request: requests.append(request.url))
    try:
        page.goto(page_file.as_uri(), wait_until="load")
        yield page, problems, requests
    finally:
        context.close()


@pytest.fixture
def opened(browser: Browser, report_file: Path) -> Iterator[tuple[Page, list[str], list[str]]]:
    with _open(browser, report_file) as loaded:
        yield loaded


def test_the_checks_catch_a_page_that_reaches_out(browser: Browser, report_file: Path) -> None:
    """The harness itself: a report that fetched anything would be caught."""
    leaky = report_file.with_name("leaky.html")
    leaky.write_text(
        report_file.read_text(encoding="utf-8").replace(
            "</main>", '<img src="https://example.org/tracker.png" alt=""></main>'
        ),
        encoding="utf-8",
    )
    with _open(browser, leaky) as (_, problems, requests):
        assert "https://example.org/tracker.png" in requests
        assert any("Content Security Policy" in problem for problem in problems)


def test_report_renders_with_no_console_error_and_fetches_nothing(
    opened: tuple[Page, list[str], list[str]], report_file: Path
) -> None:
    page, problems, requests = opened
    assert problems == []
    assert requests == [report_file.as_uri()]
    assert page.title().startswith("Impact report")
    headings = page.locator("h2").all_inner_texts()
    assert len(headings) == 8
    assert page.get_by_text("suppressed", exact=True).first.is_visible()


def test_charts_have_size_and_nothing_spills_sideways(
    opened: tuple[Page, list[str], list[str]],
) -> None:
    page, _, _ = opened
    boxes = [svg.bounding_box() for svg in page.locator("figure svg").all()]
    assert len(boxes) == 5
    for box in boxes:
        assert box is not None and box["width"] > 300 and box["height"] > 100
        assert box["x"] + box["width"] <= VIEWPORT["width"]
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0


def test_screenshot_is_taken_and_shows_the_report(
    opened: tuple[Page, list[str], list[str]], tmp_path: Path
) -> None:
    page, _, _ = opened
    shot = tmp_path / "report-screenshot.png"
    page.screenshot(path=str(shot), full_page=True)
    SCREENSHOT_COPY.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(shot, SCREENSHOT_COPY)
    with Image.open(shot) as image:
        assert image.width == VIEWPORT["width"] and image.height > 3 * VIEWPORT["height"]
        grey = image.convert("L")
        inked = sum(grey.histogram()[:200]) / (grey.width * grey.height)
        colours = image.convert("RGB").getcolors(maxcolors=1 << 20)
        assert ImageStat.Stat(grey).stddev[0] > 10
    assert inked > 0.01, "the page is (nearly) blank"
    assert colours is not None and len(colours) > 50, "no charts in colour"


def test_chromium_prints_the_report_to_pdf(chromium: Path, report_file: Path) -> None:
    pdf = print_pdf(report_file, chromium=str(chromium))
    assert pdf == report_file.with_suffix(".pdf")
    content = pdf.read_bytes()
    assert content.startswith(b"%PDF-")
    assert content.count(b"/Type /Page") - content.count(b"/Type /Pages") >= 3
