"""WCAG 2.2 AA on every page, checked by axe-core in a real browser.

Pages come from ``app.url_map`` (GET routes answering HTML), walked as each role on
the narrated archive, so a page added later is checked without anyone listing it.
A serious or critical violation fails the test with axe's own description, the
element and the page.
"""

from __future__ import annotations

from itertools import product

import pytest
from axe_playwright_python.sync_playwright import Axe
from sqlalchemy import select

from archive import accounts, unit_of_work
from archive.extensions import db
from archive.models import IndexPoint, Segment

# Each test starts from a copy of the narrated archive (tests/narrated.py).
pytestmark = pytest.mark.narrated

PASSWORD = "long enough password"
WCAG_22_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
BLOCKING = {"serious", "critical"}
# Not pages: files, feeds and machine endpoints a person never reads as a page.
NOT_PAGES = ("/api/", "/static/", "/healthz", "/metrics", "/logout", "/export", ".csv")

axe = Axe()


def _page_urls(app, narrated) -> list[str]:
    ids = {
        "interview_id": [narrated["interview"].id],
        "recording_id": [narrated["recording_id"]],
        "segment_id": list(db.session.scalars(select(Segment.id).limit(1))),
        "speaker_id": [narrated["speaker_id"]],
        "point_id": list(db.session.scalars(select(IndexPoint.id).limit(1))) or [1],
        "version": [1],
        "fmt": ["txt"],
        "user_id": [1],
    }
    urls = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or any(part in rule.rule for part in NOT_PAGES):
            continue
        names = sorted(rule.arguments)
        for values in product(*(ids[n] for n in names)):
            with app.test_request_context():
                from flask import url_for

                urls.append(url_for(rule.endpoint, **dict(zip(names, values, strict=True))))
    return sorted(set(urls))


def _violations(page) -> list[str]:
    results = axe.run(page, options={"runOnly": {"type": "tag", "values": WCAG_22_AA}})
    found = []
    for violation in results.response["violations"]:
        if violation["impact"] not in BLOCKING:
            continue
        for node in violation["nodes"][:3]:
            found.append(
                f"{violation['id']} ({violation['impact']}): {violation['help']} "
                f"at {node['target']}: {node['failureSummary'][:200]}"
            )
    return found


@pytest.mark.parametrize(
    "role", ["visitor", "researcher", "interviewer", "archivist", "custodian", "admin"]
)
def test_every_page_meets_wcag_22_aa(app, page, live_server, people, narrated, role):
    if role == "admin":  # the narrated archive's admin has a password of its own
        people["admin"] = accounts.create_user(
            None, "accessibility.admin@example.org", "admin", PASSWORD
        )
        unit_of_work.commit()
    if role != "visitor":
        page.goto(f"{live_server}/login")
        page.get_by_label("Email").fill(people[role].email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{live_server}/")
    checked, problems = 0, {}
    for url in _page_urls(app, narrated):
        response = page.goto(live_server + url)
        assert response is not None and response.status < 500, (url, response and response.status)
        if response.status >= 400:
            continue
        if "text/html" not in (response.headers.get("content-type") or ""):
            continue
        if page.locator("#segments").count():
            page.wait_for_selector("html[data-editor-ready]", state="attached")
        checked += 1
        found = _violations(page)
        if found:
            problems[url] = found
    assert checked >= 3, f"only {checked} pages answered HTML to the {role}"
    print(f"{role}: {checked} pages checked")
    assert problems == {}


def test_the_editors_dialogs_meet_wcag_22_aa(page, live_server, people, narrated):
    page.goto(f"{live_server}/login")
    page.get_by_label("Email").fill(people["archivist"].email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server}/")
    page.goto(f"{live_server}/interviews/{narrated['interview'].id}/edit")
    page.wait_for_selector("html[data-editor-ready]", state="attached")
    page.keyboard.press("Control+/")
    page.wait_for_selector("dialog[open]")
    assert _violations(page) == []
    page.keyboard.press("Escape")
    page.locator(".seg .w").first.dblclick()
    page.keyboard.press("Control+Shift+X")
    page.wait_for_selector("#redact-dialog[open]")
    assert _violations(page) == []


@pytest.mark.parametrize("path", ["/", "/login", "/interviews/", "/search"])
def test_pages_reflow_on_a_phone(browser, live_server, narrated, path):
    """WCAG 1.4.10: at 320 CSS pixels nothing scrolls sideways but a table's own box."""
    context = browser.new_context(viewport={"width": 320, "height": 640})
    page = context.new_page()
    try:
        response = page.goto(live_server + path)
        assert response.status == 200
        sideways = page.evaluate(
            "document.scrollingElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert sideways <= 0, f"{path} scrolls {sideways}px sideways on a phone"
        assert _violations(page) == []
    finally:
        context.close()
