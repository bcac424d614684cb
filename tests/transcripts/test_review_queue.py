"""The review queue: each interview's segments ranked by how likely they are wrong,
counted for staff on the interview page and in the catalogue."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from archive.extensions import db
from archive.models import Segment
from archive.search import indexing
from archive.transcripts import review_queue
from tests.helpers import bearer

# Each test starts from a copy of the narrated archive (tests/narrated.py).
pytestmark = pytest.mark.narrated


def _segments() -> list[Segment]:
    db.session.expire_all()
    return list(db.session.scalars(select(Segment).order_by(Segment.start)))


def _doubt(narrated, index: int) -> Segment:
    segment = _segments()[index]
    segment.suspect = "loop"
    indexing.reindex(db.session, narrated["interview"])
    db.session.commit()
    return segment


def _unsure(index: int) -> Segment:
    segment = _segments()[index]
    segment.words = [{**word, "probability": 0.2} for word in segment.words]
    db.session.commit()
    return segment


def test_a_doubted_segment_comes_first_then_uncertain_words(narrated):
    unsure = _unsure(0)
    doubted = _doubt(narrated, 1)
    ranked = review_queue.risks(narrated["interview"])
    assert [risk.segment_id for risk in ranked[:2]] == [doubted.id, unsure.id]
    assert "doubted" in ranked[0].reasons
    assert ranked[1].reasons == ("unsure_words",)


def test_a_clean_transcript_has_nothing_to_check(narrated):
    for segment in _segments():
        segment.words = [{**word, "probability": 0.99} for word in segment.words]
        segment.avg_logprob = -0.2
    db.session.commit()
    assert review_queue.risks(narrated["interview"]) == []


def test_the_editor_lists_the_risks_riskiest_first(client, narrated, people):
    doubted = _doubt(narrated, 1)
    payload = client.get(
        f"/api/v1/interviews/{narrated['interview'].id}/editor",
        headers=bearer(people["archivist"]),
    ).json
    assert payload["risks"][0][0] == doubted.id
    assert payload["risks"][0][2][0] == "doubted"


def test_staff_see_the_count_readers_do_not(client, narrated, people):
    _doubt(narrated, 1)
    interview_id = narrated["interview"].id
    client.login_as(people["archivist"])
    assert "to check first" in client.get(f"/interviews/{interview_id}").get_data(as_text=True)
    catalogue = client.get("/interviews/").get_data(as_text=True)
    assert "1 possible hallucination to check" in catalogue
    client.login_as(people["researcher"])
    assert "to check first" not in client.get(f"/interviews/{interview_id}").get_data(as_text=True)
    assert "possible hallucination" not in client.get("/interviews/").get_data(as_text=True)
    with client.session_transaction() as session:
        session.clear()
    assert "possible hallucination" not in client.get("/interviews/").get_data(as_text=True)


def test_fewer_voices_than_expected_are_shown_to_staff_only(client, narrated, people):
    from archive.models import Recording

    interview = narrated["interview"]
    interview.expected_speakers = 2
    recording = db.session.get(Recording, narrated["recording_id"])
    assert recording.voices_heard == 1  # the job recorded what separation heard
    db.session.commit()
    notice = "The archive heard 1 voice where 2 were expected"
    client.login_as(people["archivist"])
    assert notice in client.get(f"/interviews/{interview.id}").get_data(as_text=True)
    client.login_as(people["researcher"])
    assert notice not in client.get(f"/interviews/{interview.id}").get_data(as_text=True)
