"""Importing OHMS XML and WebVTT on the narrated archive: a round trip, hidden names
kept hidden, hostile files refused, and only those who may edit may import.

The first segment reads "My name is Galara Bicova. Galara is what my mother called
me." (tiny.en's spelling); an archivist reads "My name is Svetlana. Svetlana is ...".
"""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from archive import unit_of_work
from archive.extensions import db
from archive.models import IndexPoint, Interview, Revision, Segment, Speaker
from archive.transcripts import contents
from tests.helpers import bearer
from tests.narrated import forms_in

# Each test starts from a copy of the narrated archive (tests/narrated.py).
pytestmark = pytest.mark.narrated

ROUTE = "/api/v1/interviews/{}/transcript/import"


def _segments() -> list[Segment]:
    db.session.expire_all()
    return list(db.session.scalars(select(Segment).order_by(Segment.start)))


def _state() -> list[tuple]:
    return [(s.text, s.start, s.end, s.speaker_id) for s in _segments()]


def _points(interview_id: int) -> list[tuple]:
    db.session.expire_all()
    rows = db.session.scalars(
        select(IndexPoint).where(IndexPoint.interview_id == interview_id).order_by(IndexPoint.time)
    )
    return [(p.time, p.title, p.keywords, p.synopsis, p.extra) for p in rows]


def _import(client, headers, interview_id, body: bytes, name="file.xml", dry_run=False):
    return client.post(
        ROUTE.format(interview_id) + ("?dry_run=1" if dry_run else ""),
        data={"file": (io.BytesIO(body), name)},
        content_type="multipart/form-data",
        headers=headers,
    )


def _export(client, headers, interview_id, fmt="ohms.xml") -> bytes:
    response = client.get(f"/api/v1/interviews/{interview_id}/transcript.{fmt}", headers=headers)
    assert response.status_code == 200
    return response.data


@pytest.fixture
def archivist(people):
    return bearer(people["archivist"])


@pytest.fixture
def second_speaker(narrated):
    interview = narrated["interview"]
    speaker = Speaker(
        interview_id=interview.id,
        position=2,
        label="SPEAKER_01",
        pseudonym="Marat",
        role="interviewer",
    )
    db.session.add(speaker)
    db.session.commit()
    return speaker.id


def test_ohms_round_trip_restores_text_times_speakers_and_index(
    client, narrated, archivist, people, second_speaker
):
    interview = narrated["interview"]
    archivist_user = people["archivist"]
    _first, *rest = _segments()
    assert rest, "the narrated recording has more than one segment"
    # The interviewer speaks the last segment; the index has GPS and links.
    from archive.transcripts import transcript_edits

    transcript_edits.edit_segment(archivist_user, rest[-1], {"speaker_id": second_speaker})
    contents.add_index_point(
        archivist_user,
        interview,
        {"time": 0, "title": "Her name", "keywords": "name;mother", "synopsis": "Svetlana tells."},
    )
    contents.add_index_point(
        archivist_user,
        db.session.get(Interview, interview.id),
        {
            "time": float(round(rest[-1].start)),  # OHMS times index points in seconds
            "title": "Almaty",
            "subjects": ["Places"],
            "gps": "43.238, 76.945",
            "gps_zoom": "12",
            "gps_text": "Republic Square",
            "hyperlinks": [{"url": "https://example.org/map", "text": "Map"}],
        },
    )
    unit_of_work.commit()  # the test is the unit of work a request would be
    before, points = _state(), _points(interview.id)
    exported = _export(client, archivist, interview.id)
    assert forms_in(exported.decode()) == []  # the archivist's rendering: labels only

    # Edits made since: text around the name, a time, the speaker; the index cleared.
    segment = _segments()[0]
    response = client.patch(
        f"/api/v1/segments/{segment.id}",
        json={
            "parts": ["Her name is ", {"hidden": 0}, ". ", {"hidden": 1}, " is what mama said."],
            "start": segment.start + 0.4,
        },
        headers=archivist,
    )
    assert response.status_code == 200, response.json
    last = _segments()[-1]
    client.patch(
        f"/api/v1/segments/{last.id}",
        json={"speaker_id": narrated["speaker_id"]},
        headers=archivist,
    )
    for point in contents.index_points(db.session.get(Interview, interview.id)):
        contents.remove_index_point(
            archivist_user, db.session.get(Interview, interview.id), point.id
        )
    unit_of_work.commit()
    assert _state() != before and _points(interview.id) == []

    # A preview says what would change and changes nothing.
    preview = _import(client, archivist, interview.id, exported, dry_run=True)
    assert preview.status_code == 200, preview.json
    assert preview.json["applied"] is False
    assert preview.json["segments_changed"] == 2 and preview.json["index_points"] == 2
    assert preview.json["refused"] == []
    assert _points(interview.id) == []

    response = _import(client, archivist, interview.id, exported)
    assert response.status_code == 200, response.json
    assert response.json["applied"] is True and response.json["segments_changed"] == 2
    after = _state()
    assert after == before  # the real name is back underneath, where it was
    assert after[0][0].startswith("My name is Galara Bicova.")
    assert _points(interview.id) == points
    # each change is an ordinary revision by the archivist
    revision = db.session.scalars(
        select(Revision).where(Revision.segment_id == segment.id).order_by(Revision.version.desc())
    ).first()
    assert revision.author_id == archivist_user.id and revision.text == before[0][0]

    # Imported again: nothing left to change.
    again = _import(client, archivist, interview.id, exported, dry_run=True)
    assert again.json["segments_changed"] == 0


def test_webvtt_subtitles_import_as_corrections(client, narrated, archivist):
    interview_id = narrated["interview"].id
    before = _state()
    vtt = _export(client, archivist, interview_id, "vtt").decode()
    assert "Svetlana" in vtt
    corrected = vtt.replace("mother called me", "mama called me")  # a wrapped cue
    assert corrected != vtt
    response = _import(client, archivist, interview_id, corrected.encode(), "fix.vtt")
    assert response.status_code == 200, response.json
    assert response.json["segments_changed"] == 1 and response.json["index_points"] is None
    after = _state()
    assert after[0][0] == "My name is Galara Bicova. Galara is what my mama called me."
    assert after[0][1:] == before[0][1:] and after[1:] == before[1:]


def test_an_archivist_import_cannot_reveal_or_replace_a_hidden_name(
    client, narrated, archivist, people
):
    interview_id = narrated["interview"].id
    first = _segments()[0]
    before = _state()
    end = first.end

    def cue(text: str) -> bytes:
        return f"WEBVTT\n\n00:00:00.000 --> {_clock(end)}\n<v Svetlana>{text}\n".encode()

    # A label replaced by other words, or dropped: refused, the segment kept.
    for text in (
        "My name is Gulnara. Svetlana is what my mother called me.",
        "My name is. Svetlana is what my mother called me.",
        "My name is [name withheld]. Svetlana is what my mother called me.",
    ):
        response = _import(client, archivist, interview_id, cue(text), "x.vtt")
        assert response.status_code == 200, response.json
        assert response.json["segments_changed"] == 0
        assert "hidden words" in response.json["refused"][0]
        assert _state() == before
    # Words around the labels: saved, the names stay where they were.
    response = _import(
        client, archivist, interview_id, cue("My name is Svetlana. Svetlana, mother said."), "x.vtt"
    )
    assert response.json["segments_changed"] == 1, response.json
    assert _segments()[0].text == "My name is Galara Bicova. Galara, mother said."
    assert "Svetlana" not in _segments()[0].text
    # A reader sees the pseudonym, never the name, in the page, the API and the exports.
    researcher = bearer(people["researcher"])
    for path in (
        f"/api/v1/interviews/{interview_id}/transcript",
        f"/api/v1/interviews/{interview_id}/transcript.ohms.xml",
        f"/interviews/{interview_id}",
    ):
        body = client.get(path, headers=researcher).get_data(as_text=True)
        assert "Svetlana, mother said." in body and forms_in(body) == []


def test_a_custodian_loading_an_archivists_file_keeps_the_names_under_the_labels(
    client, narrated, archivist, people
):
    interview_id = narrated["interview"].id
    exported = _export(client, archivist, interview_id).replace(b"my mother", b"my aunt")
    before = _state()
    custodian = bearer(people["custodian"])
    response = _import(client, custodian, interview_id, exported)
    assert response.status_code == 200, response.json
    assert response.json["segments_changed"] == 1
    after = _state()
    assert after[0][0] == "My name is Galara Bicova. Galara is what my aunt called me."
    assert after[1:] == before[1:]
    # and the custodian's own export (the words as spoken) comes back as it is
    own = _export(client, custodian, interview_id)
    assert b"Galara" in own
    assert _import(client, custodian, interview_id, own).json["segments_changed"] == 0


def _clock(seconds: float) -> str:
    from archive.timecodes import cue

    return cue(seconds, ".")


XXE = b"""<?xml version="1.0"?>
<!DOCTYPE ROOT [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<ROOT xmlns="https://www.weareavp.com/nunncenter/ohms"><record><vtt_transcript>WEBVTT

00:00:00.000 --> 00:00:02.000
<v Svetlana>&xxe;</vtt_transcript></record></ROOT>"""

LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<ROOT xmlns="https://www.weareavp.com/nunncenter/ohms"><record><index><point><time>0</time>
<title>&lol3;</title></point></index></record></ROOT>"""


@pytest.mark.parametrize(
    "body, status, message",
    [
        (XXE, 422, "document type"),
        (LAUGHS, 422, "document type"),
        (b"<ROOT><record><index>", 422, "not well formed"),
        (b"<html><body>hi</body></html>", 422, "not an OHMS record"),
        (b"WEBVTT\n\nthis is not a timing\n", 422, "timing"),
        (b"\xff\xfe\x00garbage", 422, "UTF-8"),
        (b"just some words", 422, "neither"),
        (
            b'<ROOT xmlns="https://www.weareavp.com/nunncenter/ohms"><record><index><point>'
            b"<time>999999</time><title>Late</title></point></index></record></ROOT>",
            422,
            "time must be between",
        ),
        (b"WEBVTT\n\n" + b"x" * (3 * 1024 * 1024), 413, None),
    ],
)
def test_hostile_or_bad_files_are_refused_and_nothing_is_stored(
    client, narrated, archivist, body, status, message
):
    interview_id = narrated["interview"].id
    before, points = _state(), _points(interview_id)
    response = _import(client, archivist, interview_id, body)
    assert response.status_code == status
    if message:
        assert message in response.json["error"]
    assert "root:" not in response.get_data(as_text=True)  # /etc/passwd never read
    assert _state() == before and _points(interview_id) == points


@pytest.mark.parametrize("who", ["researcher", "interviewer", None])
def test_only_those_who_edit_the_transcript_may_import(client, narrated, archivist, people, who):
    interview_id = narrated["interview"].id
    body = _export(client, archivist, interview_id).replace(b"my mother", b"my aunt")
    before = _state()
    headers = bearer(people[who]) if who else {}
    response = _import(client, headers, interview_id, body)
    assert response.status_code in ((404,) if who else (401, 403, 404))
    if who:
        client.login_as(people[who])
        page = client.get(f"/interviews/{interview_id}/import")
        assert page.status_code == 404
    assert _state() == before


def test_the_page_previews_then_imports(client, narrated, archivist, people):
    interview_id = narrated["interview"].id
    body = _export(client, archivist, interview_id).replace(b"my mother", b"my aunt")
    client.login_as(people["archivist"])
    page = client.get(f"/interviews/{interview_id}/import")
    assert page.status_code == 200 and 'name="file"' in page.get_data(as_text=True)
    path = f"/interviews/{interview_id}/import"
    preview = client.post_form(
        path, {"file": (io.BytesIO(body), "i.xml"), "action": "preview"}, token_from=path
    )
    text = preview.get_data(as_text=True)
    assert preview.status_code == 200, text
    assert "Segments that would change: 1" in text and "Nothing is changed yet" in text
    assert "my aunt" not in _segments()[0].text
    done = client.post_form(
        path, {"file": (io.BytesIO(body), "i.xml"), "action": "import"}, token_from=path
    )
    assert done.status_code == 200 and "Segments changed: 1" in done.get_data(as_text=True)
    assert _segments()[0].text == "My name is Galara Bicova. Galara is what my aunt called me."
    assert forms_in(done.get_data(as_text=True)) == []
    bad = client.post_form(
        path, {"file": (io.BytesIO(XXE), "x.xml"), "action": "import"}, token_from=path
    )
    assert bad.status_code == 422 and "document type" in bad.get_data(as_text=True)
