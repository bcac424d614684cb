"""An interview's languages: listed, checked, edited, shown and exported; and a
Kazakh word found by its Kazakh spelling. (The engine's use of them, with the real
``base`` model, is in tests/transcription/test_language_jobs.py.)"""

from __future__ import annotations

import json
from itertools import count

import pytest
from lxml import etree

from archive import interviews, search, unit_of_work
from archive.exports import ExportDocument, ExportSegment, to_vtt
from archive.extensions import db
from archive.models import Interview, Recording, Segment
from archive.search import IndexRow
from archive.search.text import fold, words
from tests.helpers import bearer

_ids = count(1)


@pytest.fixture
def interviewer(make_user):
    return make_user("interviewer")


def _create(client, user, **fields):
    return client.post(
        "/api/v1/interviews", json={"title": "Witness", **fields}, headers=bearer(user)
    )


# -- listing and checking -----------------------------------------------------------


def test_an_interview_lists_its_languages_in_order(client, interviewer):
    response = _create(client, interviewer, languages="ru, KK ,ru")
    assert response.status_code == 201, response.json
    interview = db.session.get(Interview, response.json["id"])
    assert interview.language_codes == ["ru", "kk"]
    assert interview.language == "ru"  # the first: filters, facets, exports
    shown = client.get(f"/api/v1/interviews/{interview.id}", headers=bearer(interviewer))
    assert shown.json["languages"] == ["ru", "kk"] and shown.json["language"] == "ru"
    as_list = _create(client, interviewer, languages=["kk", "ru"])
    assert db.session.get(Interview, as_list.json["id"]).language_codes == ["kk", "ru"]


def test_the_single_language_of_older_clients_still_works(client, interviewer):
    response = _create(client, interviewer, language="kk")
    assert db.session.get(Interview, response.json["id"]).language_codes == ["kk"]
    none = _create(client, interviewer)
    assert db.session.get(Interview, none.json["id"]).language_codes == []


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("ru, klingon", "Unknown language code 'klingon'"),
        ("russian", "Unknown language code 'russian'"),
        (["ru", 7], "languages must be codes"),
        ({"ru": 1}, "languages must be codes"),
        (",".join(sorted(interviews.LANGUAGE_CODES)[:9]), "at most 8 languages"),
    ],
)
def test_unknown_languages_are_refused_with_a_clear_message(client, interviewer, value, message):
    response = _create(client, interviewer, languages=value)
    assert response.status_code == 422
    assert message in response.json["error"]
    assert db.session.query(Interview).count() == 0


def test_the_codes_are_those_faster_whisper_knows():
    from faster_whisper.tokenizer import _LANGUAGE_CODES

    assert frozenset(_LANGUAGE_CODES) == interviews.LANGUAGE_CODES


# -- editing ------------------------------------------------------------------------


def test_the_api_changes_the_languages_for_those_who_may(client, interviewer, make_user):
    interview_id = _create(client, interviewer).json["id"]
    url = f"/api/v1/interviews/{interview_id}"
    changed = client.patch(url, json={"languages": "kk, ru"}, headers=bearer(interviewer))
    assert changed.status_code == 200, changed.json
    assert changed.json["languages"] == ["kk", "ru"]
    refused = client.patch(url, json={"languages": "xx"}, headers=bearer(interviewer))
    assert refused.status_code == 422 and "'xx'" in refused.json["error"]
    other = client.patch(url, json={"title": "New"}, headers=bearer(interviewer))
    assert other.status_code == 422 and "title" in other.json["error"]
    for role in ("researcher", "interviewer"):  # another interviewer is not of record
        response = client.patch(url, json={"languages": "en"}, headers=bearer(make_user(role)))
        assert response.status_code == 404, role
    db.session.expire_all()
    assert db.session.get(Interview, interview_id).language_codes == ["kk", "ru"]


def test_the_forms_take_the_languages_and_the_page_asks_for_them(client, interviewer):
    client.login_as(interviewer)
    created = client.post_form(
        "/interviews/new",
        {"title": "Almaty", "languages": "", "expected_speakers": "2", "narrator_pseudonym": ""},
    )
    assert created.status_code == 302
    page = client.get(created.headers["Location"]).get_data(as_text=True)
    assert "Which languages are spoken in this interview?" in page
    interview = db.session.scalars(db.select(Interview)).one()
    saved = client.post_form(
        f"/interviews/{interview.id}/languages",
        {"languages": "ru, kk"},
        token_from=f"/interviews/{interview.id}",
    )
    assert saved.status_code == 302
    db.session.expire_all()
    assert interview.language_codes == ["ru", "kk"]
    page = client.get(f"/interviews/{interview.id}").get_data(as_text=True)
    assert "Which languages are spoken in this interview?" not in page
    assert 'value="ru, kk"' in page
    wrong = client.post_form(
        f"/interviews/{interview.id}/languages",
        {"languages": "ru, qq"},
        token_from=f"/interviews/{interview.id}",
    )
    assert "Unknown language code" in client.get(wrong.headers["Location"]).get_data(as_text=True)
    db.session.expire_all()
    assert interview.language_codes == ["ru", "kk"]


def test_a_doubtful_guess_is_shown_to_staff_not_to_readers(client, interviewer, make_user):
    interview = interviews.create_interview(interviewer, {"title": "Guess"})
    unit_of_work.commit()
    interview.access_level = "open"
    db.session.add(
        Recording(
            interview_id=interview.id,
            master_key="k",
            sha256="0" * 64,
            size_bytes=1,
            status="done",
            language="la",
            language_probability=0.12,
        )
    )
    db.session.commit()
    staff = client.get(f"/interviews/{interview.id}", headers=bearer(interviewer))
    assert "a guess the model was not sure of (confidence 0.12)" in staff.get_data(as_text=True)
    reader = client.get(f"/interviews/{interview.id}", headers=bearer(make_user("researcher")))
    assert "not sure" not in reader.get_data(as_text=True)
    recording = client.get(
        f"/api/v1/recordings/{interview.recordings[0].id}", headers=bearer(interviewer)
    )
    assert recording.json["language_probability"] == 0.12


# -- shown in each segment's language ----------------------------------------------


@pytest.fixture
def bilingual(interviewer):
    interview = interviews.create_interview(interviewer, {"title": "Two", "languages": "ru, kk"})
    unit_of_work.commit()
    interview.access_level = "open"
    recording = Recording(
        interview_id=interview.id, master_key="m", sha256="0" * 64, size_bytes=1, status="done"
    )
    db.session.add(recording)
    db.session.flush()
    for start, language, text in ((0.0, "ru", "Мы были на площади."), (5.0, "kk", "Көл жақта.")):
        db.session.add(
            Segment(
                recording_id=recording.id, start=start, end=start + 4, text=text, language=language
            )
        )
    db.session.commit()
    return interview


def test_reading_pages_and_the_editor_carry_each_segments_language(client, bilingual, make_user):
    page = client.get(f"/interviews/{bilingual.id}").get_data(as_text=True)
    assert '<span class="text" lang="ru">Мы были на площади.</span>' in page
    assert '<span class="text" lang="kk">Көл жақта.</span>' in page
    transcript = client.get(f"/api/v1/interviews/{bilingual.id}/transcript").json["segments"]
    assert [s["language"] for s in transcript] == ["ru", "kk"]
    editor = client.get(
        f"/api/v1/interviews/{bilingual.id}/editor", headers=bearer(make_user("archivist"))
    ).json
    assert [s["l"] for s in editor["segments"]] == ["ru", "kk"]
    assert editor["languages"] == ["ru", "kk"]


def test_webvtt_and_ohms_carry_the_languages(client, bilingual):
    vtt = client.get(f"/api/v1/interviews/{bilingual.id}/transcript.vtt").get_data(as_text=True)
    assert vtt.startswith("WEBVTT\nLanguage: ru\n\n")
    assert "<lang kk>Көл жақта.</lang>" in vtt
    assert "<lang ru>" not in vtt  # the header's language needs no span
    ohms = client.get(f"/api/v1/interviews/{bilingual.id}/transcript.ohms.xml").get_data()
    record = etree.fromstring(ohms)
    namespace = {"o": record.nsmap[None]}
    assert record.findtext("o:record/o:language", namespaces=namespace) == "ru;kk"


def test_a_language_code_cannot_break_out_of_a_cue():
    segment = ExportSegment(1, 1, 0.0, 1.0, 0.0, "S1", "narrator", "текст", "x> <b")
    doc = ExportDocument(
        1, "t", "", None, "", "ru<", None, 1.0, "", "", (), (segment,), (), "open", "none"
    )
    vtt = to_vtt.render(doc).decode()
    assert vtt.startswith("WEBVTT\n\n") and "<lang" not in vtt and "<b" not in vtt


# -- search -------------------------------------------------------------------------


def test_folding_keeps_every_kazakh_letter():
    kazakh = "ӘҒҚҢӨҰҮҺІ"
    assert fold(kazakh) == "әғқңөұүһі"
    assert words("Қаңтардың бесінші күні") == ["қаңтардың", "бесінші", "күні"]


def test_a_kazakh_word_is_found_by_its_kazakh_spelling(app, interviewer):
    search.ensure_index(db.engine)
    interview = interviews.create_interview(interviewer, {"title": "K", "languages": "kk"})
    unit_of_work.commit()
    interview.access_level = "open"
    search.index_interview(
        db.session,
        interview.id,
        [IndexRow(next(_ids), None, 0.0, "S1", "narrator", "Біз көл жағында тұрдық.")],
    )
    db.session.commit()
    found = search.search(db.session, None, "КӨЛ")
    assert [hit.interview_id for hit in found.hits] == [interview.id]
    assert "<mark>көл</mark>" in str(found.hits[0].snippet_html)
    # "кол" (Russian: a stake) is another word, not a loose spelling of "көл" (a lake)
    assert search.search(db.session, None, "кол").hits == []


# -- the engine's windows (no model needed) -----------------------------------------


def test_a_window_is_decoded_in_the_likeliest_listed_language():
    from archive.transcription.languages import choose_language

    heard = {"la": 0.5, "ru": 0.1, "kk": 0.05, "en": 0.3}
    language, probability = choose_language(heard, ["kk", "ru"])
    assert language == "ru" and probability == pytest.approx(0.1 / 0.15)
    assert choose_language(heard, None) == ("la", pytest.approx(0.5 / 0.95))
    assert choose_language({"en": 1.0}, ["ru", "kk"]) == ("ru", 0.5)  # none heard: the first


def test_windows_close_at_a_pause_once_they_hold_enough_speech():
    from archive.transcription.decoding_settings import SAMPLE_RATE
    from archive.transcription.languages import LanguageWindow, _window_spans, language_runs

    def s(seconds: float) -> int:
        return int(seconds * SAMPLE_RATE)

    # 9.4 s of speech, a 1.5 s pause (a turn), 8.5 s more: two windows.
    chunks = [(s(0), s(5)), (s(5.6), s(10)), (s(11.5), s(20))]
    assert _window_spans(chunks) == [chunks[:2], chunks[2:]]
    # A short answer after a pause stays with what came before (too short to judge).
    short = [(s(0), s(3)), (s(4.5), s(6))]
    assert _window_spans(short) == [short]
    # 70 s without a pause: windows of at most 30 s.
    assert [len(w) for w in _window_spans([(0, s(70))])] == [1, 1, 1]
    assert _window_spans([(0, s(70))])[0] == [(0, s(30))]
    runs = language_runs(
        [
            LanguageWindow(0, 10, "ru", 0.9, 9.0),
            LanguageWindow(10, 20, "ru", 0.6, 3.0),
            LanguageWindow(20, 30, "kk", 0.8, 8.0),
        ]
    )
    assert [(r.start, r.end, r.language) for r in runs] == [(0, 20, "ru"), (20, 30, "kk")]
    assert runs[0].probability == pytest.approx((0.9 * 9 + 0.6 * 3) / 12)


def test_the_json_export_keeps_each_segments_language_and_loads_back(client, bilingual):
    from archive.exports.to_json import load_json

    body = client.get(f"/api/v1/interviews/{bilingual.id}/transcript.json").get_data()
    doc = load_json(body)
    assert doc.languages == ("ru", "kk")
    assert [s.language for s in doc.segments] == ["ru", "kk"]
    older = json.loads(body)  # as exported before segments kept their language
    del older["languages"]
    for segment in older["segments"]:
        del segment["language"]
    doc = load_json(json.dumps(older))
    assert doc.languages == () and {s.language for s in doc.segments} == {None}


def test_a_segment_split_between_speakers_keeps_its_doubt_and_its_language(app, interviewer):
    """Speaker separation splits a segment where the voice changes: every piece stays
    hidden from readers when the whole was doubted, and keeps the language."""
    from archive.transcription.pipeline import Job

    interview = interviews.create_interview(interviewer, {"title": "Split"})
    unit_of_work.commit()
    recording = Recording(interview_id=interview.id, master_key="s", sha256="0" * 64, size_bytes=1)
    db.session.add(recording)
    db.session.flush()
    first, second = interviews.add_speaker(interview), interviews.add_speaker(interview)
    words = [
        {"start": 0.0, "end": 0.5, "word": " да", "probability": 0.9},
        {"start": 0.6, "end": 1.0, "word": " да", "probability": 0.9},
        {"start": 1.2, "end": 1.6, "word": " иә", "probability": 0.9},
    ]
    segment = Segment(
        recording_id=recording.id,
        start=0.0,
        end=1.6,
        text="да да иә",
        words=words,
        suspect="loop",
        language="kk",
    )
    db.session.add(segment)
    db.session.commit()
    Job(recording, "test:1")._assign(segment, [first, first, second])
    db.session.commit()
    pieces = db.session.scalars(
        db.select(Segment).where(Segment.recording_id == recording.id).order_by(Segment.start)
    ).all()
    assert [(p.text, p.speaker_id) for p in pieces] == [("да да", first.id), ("иә", second.id)]
    assert {(p.suspect, p.language) for p in pieces} == {("loop", "kk")}


def test_the_languages_are_checked_outside_a_request_too(app):
    """The command line and the worker have no reader: the message is in English."""
    from archive.errors import ValidationError

    with pytest.raises(ValidationError) as refused:
        interviews.check_languages("ru, xx")
    assert "Unknown language code 'xx'" in refused.value.message
    assert interviews.check_languages(["KK", "ru", "kk"]) == ["kk", "ru"]
