"""A live server in a thread and Debian's chromium driven by Playwright.

Where no chromium is installed these tests are skipped with one reason that says how
to get it, so ``make test`` passes on a machine with Python alone. CI sets
``ARCHIVE_REQUIRE_BROWSER=1``, which turns that skip into a failure: there the
browser tests must run.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.helpers import PASSWORD


def _find_chromium() -> str | None:
    named = os.environ.get("ARCHIVE_CHROMIUM")
    if named:
        return named if Path(named).is_file() else None
    return shutil.which("chromium") or shutil.which("chromium-browser")


CHROMIUM = _find_chromium()
NO_BROWSER = (
    "browser tests skipped: no chromium; `apt-get install chromium` or set ARCHIVE_CHROMIUM=/path"
)
HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config, items):
    if CHROMIUM is not None:
        return
    browser_tests = [item for item in items if HERE in Path(str(item.path)).parents]
    if not browser_tests:
        return
    if os.environ.get("ARCHIVE_REQUIRE_BROWSER") == "1":
        raise pytest.UsageError(
            f"ARCHIVE_REQUIRE_BROWSER=1 but no chromium was found ({len(browser_tests)} "
            "browser tests would be skipped): `apt-get install chromium` or set "
            "ARCHIVE_CHROMIUM=/path"
        )
    for item in browser_tests:
        item.add_marker(pytest.mark.skip(reason=NO_BROWSER))


def pytest_terminal_summary(terminalreporter):
    if CHROMIUM is None:
        terminalreporter.write_line(NO_BROWSER, yellow=True, bold=True)


CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def sign_in(page, live_server):
    """Sign in through the real form, as a person would."""

    def do(user) -> None:
        page.goto(f"{live_server}/login")
        page.get_by_label("Email").fill(user.email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{live_server}/")

    return do
