"""The home page on a phone: nothing wider than the screen, counts large enough to tap."""

from __future__ import annotations

import pytest

from archive import consent, interviews, unit_of_work
from tests.helpers import PASSWORD

PHONE = {"width": 375, "height": 740}


@pytest.fixture
def phone(browser):
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    yield page
    context.close()


def _sign_in(page, live_server, user) -> None:
    page.goto(f"{live_server}/login")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server}/")


@pytest.mark.parametrize("role", ["interviewer", "custodian", None])
def test_home_page_fits_a_phone(app, phone, live_server, make_user, role):
    interviewer, custodian = make_user("interviewer"), make_user("custodian")
    for number in range(3):
        interview = interviews.create_interview(
            interviewer,
            {
                "title": "A very long title about the square, the night and the list of "
                f"those detained in January, part {number}, without any break in it at all",
                "speakers": [{"pseudonym": "", "role": "narrator"}],
            },
        )
        unit_of_work.commit()
        consent.record_agreement(custodian, interview, {"access_level": "open"})
        unit_of_work.commit()
    if role is not None:
        _sign_in(phone, live_server, interviewer if role == "interviewer" else custodian)
    else:
        phone.goto(f"{live_server}/")
    widths = phone.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert widths[0] <= widths[1], widths
    counts = phone.locator("a.count")
    for index in range(counts.count()):
        box = counts.nth(index).bounding_box()
        assert box["height"] >= 24 and box["width"] >= 24, box  # WCAG 2.2 target size
    search = phone.get_by_label("Search the testimony")
    search.fill("square")
    search.press("Enter")
    phone.wait_for_url("**/search?q=square")
