"""The archive's IIIF player page in a real browser: it reads the interview's own
manifest, plays the canvas's listening copy with the transcript as captions, and
lists the index points (the manifest's ranges), each playing from its time."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from archive.extensions import db
from tests.helpers import bearer
from tests.narrated import forms_in

# Each test starts from a copy of the narrated archive (tests/narrated.py).
pytestmark = pytest.mark.narrated


@pytest.fixture
def player(client, page, live_server, people, narrated):
    interview = narrated["interview"]
    for at, title in ((0.0, "Gulnara Bekova gives her name"), (4.0, "The list")):
        response = client.post(
            f"/api/v1/interviews/{interview.id}/index-points",
            json={"time": at, "title": title},
            headers=bearer(people["archivist"]),
        )
        assert response.status_code == 201

    def open_page():
        page.goto(f"{live_server}/iiif/interviews/{interview.id}/player")
        expect(page.locator("#iiif-player")).to_have_attribute("data-loaded", "true")
        return page

    return open_page


def test_a_visitor_plays_the_canvas_and_jumps_to_a_range(player):
    page = player()
    audio = page.locator("#iiif-canvases audio")
    expect(audio).to_have_count(1)
    ranges = page.locator("#iiif-ranges button")
    expect(ranges).to_have_count(2)
    expect(ranges.nth(0)).to_have_text("0:00 Svetlana gives her name")
    expect(ranges.nth(1)).to_have_text("0:04 The list")
    assert forms_in(page.content()) == []
    # The transcript from the manifest's supplementing annotation is the audio's captions.
    page.evaluate("document.querySelector('#iiif-canvases audio').textTracks[0].mode = 'showing'")
    page.wait_for_function(
        "() => (document.querySelector('#iiif-canvases audio').textTracks[0].cues || []).length"
    )
    cues = page.evaluate(
        "Array.from(document.querySelector('#iiif-canvases audio').textTracks[0].cues)"
        ".map(c => c.text).join(' ')"
    )
    assert "Svetlana" in cues and forms_in(cues) == []
    ranges.nth(1).click()
    page.wait_for_function("() => !document.querySelector('#iiif-canvases audio').paused")
    at = page.evaluate("document.querySelector('#iiif-canvases audio').currentTime")
    assert 4.0 <= at < 6.0


def test_no_player_when_the_agreement_allows_reading_only(player, narrated):
    narrated["interview"].audio_permission = "none"
    db.session.commit()
    page = player()
    expect(page.locator("#iiif-canvases audio")).to_have_count(0)
    expect(page.locator(".iiif-silent")).to_have_count(1)
    expect(page.locator("#iiif-ranges button")).to_have_count(2)
