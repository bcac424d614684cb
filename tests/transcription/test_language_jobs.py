"""The interview's languages, end to end with the multilingual ``base`` model.

Two espeak-ng recordings (tests/fixtures/README.md):

* ``russian_witness.flac``, 16.7 s of a Russian witness statement, uploaded with no
  language, as a new user did in issue 16 (where ``base`` took it for Latin and
  wrote one English phrase thirty times): nothing a reader sees may repeat a phrase,
  and the doubtful language guess is shown to staff.
* ``kazakh_russian.flac``, a Russian part (0-16.1 s) then, after a pause, a Kazakh
  part (17.6-30.2 s), in an interview listing ``ru, kk``: each part's segments come
  out in its language, tagged so in the page, the editor, the WebVTT export and
  search.

Both run the whole job (pipeline.run) with the real ``base`` model: about 20 s and
40 s on two cores.
"""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from archive.extensions import db
from archive.models import Interview, Recording, Segment
from archive.transcription import pipeline
from archive.transcription.decoding_settings import SEGMENT_COMPRESSION_RATIO
from archive.transcription.guards import compression_ratio, is_phrase_loop, normalise_text
from tests.fixtures import FIXTURES
from tests.helpers import bearer

# Real ``base`` jobs, about 20 s each.
pytestmark = pytest.mark.slow

KAZAKH_LETTERS = set("әғқңөұүһі")
#: Where the Kazakh part of kazakh_russian.flac begins (the pause is 16.1-17.6 s).
KAZAKH_FROM = 16.8


@pytest.fixture
def app_config(app_config):
    app_config.update(WHISPER_MODEL="base", WORKER_THREADS=2)
    return app_config


def _transcribe(client, interviewer, fixture: str, **fields) -> tuple[int, int]:
    headers = bearer(interviewer)
    created = client.post(
        "/api/v1/interviews",
        json={"title": "Witness", "expected_speakers": 1, **fields},
        headers=headers,
    )
    assert created.status_code == 201, created.json
    interview_id = created.json["id"]
    upload = client.post(
        f"/api/v1/interviews/{interview_id}/recordings",
        data={"file": (io.BytesIO((FIXTURES / fixture).read_bytes()), fixture)},
        content_type="multipart/form-data",
        headers=headers,
    )
    assert upload.status_code == 202, upload.json
    pipeline.run(upload.json["id"], "test:1")
    db.session.expire_all()
    recording = db.session.get(Recording, upload.json["id"])
    assert recording.status == "done", recording.error
    return interview_id, recording.id


def _open(interview_id: int) -> None:
    interview = db.session.get(Interview, interview_id)
    interview.access_level = "open"
    db.session.commit()


def _segments(recording_id: int) -> list[Segment]:
    return list(
        db.session.scalars(
            select(Segment).where(Segment.recording_id == recording_id).order_by(Segment.start)
        )
    )


def _loops(text: str) -> bool:
    norm = normalise_text(text)
    return is_phrase_loop(norm) or (
        len(norm) >= 60 and compression_ratio(norm) > SEGMENT_COMPRESSION_RATIO
    )


def test_a_russian_recording_without_a_language_reaches_readers_without_a_loop(client, make_user):
    interviewer, archivist = make_user("interviewer"), make_user("archivist")
    interview_id, recording_id = _transcribe(client, interviewer, "russian_witness.flac")
    segments = _segments(recording_id)
    assert segments, "the statement was transcribed"
    recording = db.session.get(Recording, recording_id)
    assert recording.language and recording.language_probability is not None
    # What the job keeps for readers never says one phrase over and over.
    readable = [s for s in segments if s.suspect is None]
    assert not [s.text for s in readable if _loops(s.text)]
    # Anything still doubted after decoding again is kept for an archivist only.
    doubted = [s for s in segments if s.suspect is not None]
    _open(interview_id)
    for headers in (None, bearer(make_user("researcher"))):
        transcript = client.get(f"/api/v1/interviews/{interview_id}/transcript", headers=headers)
        assert transcript.status_code == 200
        shown = " ".join(s["text"] for s in transcript.json["segments"])
        assert not _loops(shown) or not doubted
        for segment in doubted:
            assert segment.text not in shown
    # base is not sure which language this is: staff are told, with the number.
    page = client.get(f"/interviews/{interview_id}", headers=bearer(archivist))
    html = page.get_data(as_text=True)
    if recording.language_probability < 0.7:
        assert "a guess the model was not sure of" in html
        assert f"{recording.language_probability:.2f}" in html
    # ... and asked for the languages, which readers never are.
    assert 'id="languages"' in html and "Which languages are spoken" in html
    assert "Which languages are spoken" not in client.get(f"/interviews/{interview_id}").get_data(
        as_text=True
    )


def test_a_kazakh_russian_interview_keeps_each_part_in_its_language(client, make_user):
    interviewer = make_user("interviewer")
    interview_id, recording_id = _transcribe(
        client, interviewer, "kazakh_russian.flac", languages="ru, kk"
    )
    segments = _segments(recording_id)
    russian = [s for s in segments if s.end <= KAZAKH_FROM]
    kazakh = [s for s in segments if s.start >= KAZAKH_FROM]
    assert russian and kazakh, [(s.start, s.end, s.language) for s in segments]
    assert {s.language for s in russian} == {"ru"}
    assert {s.language for s in kazakh} == {"kk"}
    # Decoded as Kazakh, not as Russian: Kazakh letters in the Kazakh part only.
    assert KAZAKH_LETTERS & set(" ".join(s.text for s in kazakh).casefold())
    recording = db.session.get(Recording, recording_id)
    assert recording.language == "ru"  # most of the speech
    assert recording.language_probability > 0.7  # sure among the two listed
    _open(interview_id)
    reader = bearer(make_user("researcher"))
    html = client.get(f"/interviews/{interview_id}", headers=reader).get_data(as_text=True)
    # The transcript's own list (the header's language picker has lang="kk" too).
    transcript = html.split('id="transcript"', 1)[1].split("</ol>", 1)[0]
    assert transcript.count('lang="kk"') == len([s for s in kazakh if s.suspect is None])
    assert 'lang="ru"' in transcript
    vtt = client.get(f"/api/v1/interviews/{interview_id}/transcript.vtt", headers=reader).get_data(
        as_text=True
    )
    assert vtt.startswith("WEBVTT\nLanguage: ru\n")
    assert "<lang kk>" in vtt and "<lang ru>" not in vtt
    # A Kazakh word the model wrote is found by its Kazakh spelling.
    word = next(
        w
        for s in kazakh
        if s.suspect is None
        for w in normalise_text(s.text).split()
        if KAZAKH_LETTERS & set(w) and len(w) > 3
    )
    hits = client.get(f"/api/v1/search?q={word}", headers=reader).json["hits"]
    assert {h["interview_id"] for h in hits} == {interview_id}, word
