"""Segments the engine doubts (a possible hallucination): kept as produced, shown in
the editor with the reason, and left out of every reading, search and export until
an archivist corrects or confirms them."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from archive.extensions import db
from archive.models import AuditEvent, Revision, Segment
from archive.search import indexing
from tests.helpers import bearer

# Each test starts from a copy of the narrated archive (tests/narrated.py).
pytestmark = pytest.mark.narrated


def _segments() -> list[Segment]:
    db.session.expire_all()
    return list(db.session.scalars(select(Segment).order_by(Segment.start)))


def _doubt_second(narrated, reason: str = "loop") -> Segment:
    """As the engine leaves a segment it still doubts after decoding it again."""
    segment = _segments()[1]
    segment.suspect = reason
    indexing.reindex(db.session, narrated["interview"])
    db.session.commit()
    return segment


def _reader_texts(client, interview_id: int, headers=None) -> str:
    transcript = client.get(f"/api/v1/interviews/{interview_id}/transcript", headers=headers)
    assert transcript.status_code == 200
    text = client.get(f"/api/v1/interviews/{interview_id}/transcript.txt", headers=headers)
    page = client.get(f"/interviews/{interview_id}")
    return " ".join(
        [str(transcript.json), text.get_data(as_text=True), page.get_data(as_text=True)]
    )


def _search(client, word: str, headers=None) -> list:
    return client.get(f"/api/v1/search?q={word}", headers=headers).json["hits"]


def test_a_doubted_segment_reaches_no_reader_search_or_export(client, narrated, people):
    interview_id = narrated["interview"].id
    assert "street" in _reader_texts(client, interview_id)
    assert _search(client, "street")
    _doubt_second(narrated)
    for headers in (None, bearer(people["researcher"]), bearer(people["custodian"])):
        assert "street" not in _reader_texts(client, interview_id, headers)
        assert _search(client, "street", headers) == []
    assert "mother" in _reader_texts(client, interview_id)  # the rest is there


def test_the_editor_shows_a_doubted_segment_with_its_reason(client, narrated, people):
    doubted = _doubt_second(narrated, "hotwords")
    archivist = bearer(people["archivist"])
    payload = client.get(f"/api/v1/interviews/{narrated['interview'].id}/editor", headers=archivist)
    views = {view["id"]: view for view in payload.json["segments"]}
    assert views[doubted.id]["x"] == "hotwords"
    assert views[_segments()[0].id]["x"] is None


def test_confirming_shows_it_again_with_a_revision_and_an_audit_event(client, narrated, people):
    doubted = _doubt_second(narrated)
    archivist = bearer(people["archivist"])
    response = client.post(
        f"/api/v1/segments/{doubted.id}/confirm", json={"version": 1}, headers=archivist
    )
    assert response.status_code == 200, response.json
    assert response.json["segment"]["x"] is None
    assert "street" in _reader_texts(client, narrated["interview"].id)
    assert _search(client, "street")
    kinds = db.session.scalars(select(Revision.kind).where(Revision.segment_id == doubted.id))
    assert "confirmed" in list(kinds)
    actions = db.session.scalars(select(AuditEvent.action)).all()
    assert "segment_confirmed" in actions
    again = client.post(f"/api/v1/segments/{doubted.id}/confirm", json={}, headers=archivist)
    assert again.status_code == 409
    assert "not marked as doubtful" in again.json["error"]


def test_only_transcript_editors_may_confirm(client, narrated, people):
    doubted = _doubt_second(narrated)
    for role in ("researcher", "interviewer"):
        response = client.post(
            f"/api/v1/segments/{doubted.id}/confirm", json={}, headers=bearer(people[role])
        )
        assert response.status_code == 404, role
    assert _segments()[1].suspect == "loop"
    assert "street" not in _reader_texts(client, narrated["interview"].id)


def test_a_stale_confirmation_is_refused_and_changes_nothing(client, narrated, people):
    doubted = _doubt_second(narrated)
    response = client.post(
        f"/api/v1/segments/{doubted.id}/confirm",
        json={"version": 7},
        headers=bearer(people["archivist"]),
    )
    assert response.status_code == 409
    assert _segments()[1].suspect == "loop"


def test_correcting_the_text_clears_the_doubt(client, narrated, people):
    doubted = _doubt_second(narrated)
    parts = [
        "The soldier wrote ",
        {"hidden": 0},
        " on the list. Everyone knew ",
        {"hidden": 1},
        " in our street.",
    ]
    response = client.patch(
        f"/api/v1/segments/{doubted.id}",
        json={"parts": parts, "version": 1},
        headers=bearer(people["archivist"]),
    )
    assert response.status_code == 200, response.json
    assert _segments()[1].suspect is None
    assert "Everyone knew" in _reader_texts(client, narrated["interview"].id)
