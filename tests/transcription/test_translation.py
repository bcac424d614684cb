"""The translation track: a machine English translation of a Russian interview,
made by a real job (Whisper ``base``, ``translate`` task) after its transcription,
per segment with the same times, shown labelled beside the original, exported,
searchable, and hidden exactly as strictly as the original.

The archive is built once for the module, as a person would (upload, transcribe,
translate, name the narrator); each test gets a copy. The model's English for an
espeak-ng voice is poor, so the tests of names give a segment a known English
text (``translation.store``): what matters there is what a reader gets to see.
"""

from __future__ import annotations

import io
import re
import shutil
import zipfile

import pytest
from sqlalchemy import LargeBinary, func, select, type_coerce

from archive import queue, unit_of_work
from archive.extensions import db
from archive.models import Interview, Recording, Segment, SegmentTranslation, utcnow
from archive.search import indexing
from archive.transcription import pipeline, translation, translation_track
from archive.transcripts import redaction_edits
from archive.transcripts import transcript_edits as edits
from tests.fixtures import FIXTURES
from tests.helpers import bearer

# Real ``base`` jobs: the module's archive is transcribed and translated.
pytestmark = pytest.mark.slow

FIXTURE = FIXTURES / "russian_translation.flac"
ROLES = ("interviewer", "archivist", "custodian", "researcher")
# Every form of the protected name a reader must not meet, in either script.
NAME_FORMS = ("gulnara", "saparova", "гульнара", "сапарова")
ENGLISH = "My name is Gulnara Saparova. I live in Almaty."


def _names_in(text: str) -> list[str]:
    lowered = text.casefold()
    return [form for form in NAME_FORMS if form in lowered]


@pytest.fixture(scope="module")
def translated_state(tmp_path_factory, databases, template_db, model_cache):
    from archive import accounts, create_app
    from tests.helpers import QUEUES, ArchiveClient, archive_config

    base = tmp_path_factory.mktemp("translated")
    database = databases.new(template_db, base)
    prefix = QUEUES.new() if QUEUES else None
    config = archive_config(base, database, prefix)
    config.update(WHISPER_MODEL="base", MODEL_CACHE_DIR=model_cache, WORKER_THREADS=2)
    app = create_app(config)
    app.test_client_class = ArchiveClient
    with app.app_context():
        users = {
            role: accounts.create_user(None, f"{role}@example.org", role, "long enough password")
            for role in ROLES
        }
        unit_of_work.commit()
        client = app.test_client()
        interviewer = bearer(users["interviewer"])
        interview_id = client.post(
            "/api/v1/interviews",
            json={"title": "Witness", "expected_speakers": 1, "language": "ru"},
            headers=interviewer,
        ).json["id"]
        recording_id = client.post(
            f"/api/v1/interviews/{interview_id}/recordings",
            data={"file": (io.BytesIO(FIXTURE.read_bytes()), "part.flac")},
            content_type="multipart/form-data",
            headers=interviewer,
        ).json["id"]
        pipeline.run(recording_id, "test:1")
        recording = db.session.get(Recording, recording_id)
        queued_after_transcription = recording.translation_status
        pending = [task.name for task in queue.huey.pending()]
        translation.run(recording_id, "test:1")
        db.session.expire_all()
        interview = db.session.get(Interview, interview_id)
        speaker = interview.speakers[0]
        db.session.rollback()
        response = client.patch(
            f"/api/v1/interviews/{interview_id}/speakers/{speaker.id}",
            json={"pseudonym": "Svetlana", "role": "narrator", "real_name": "Гульнара Сапарова"},
            headers=interviewer,
        )
        assert response.status_code == 200, response.json
        interview = db.session.get(Interview, interview_id)
        interview.access_level, interview.audio_permission = "open", "redacted"
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    ids = {
        "interview": interview_id,
        "recording": recording_id,
        "queued_after_transcription": queued_after_transcription,
        "pending": pending,
    }
    yield base, database, ids
    databases.drop(database)
    if QUEUES:
        QUEUES.flush(prefix)


@pytest.fixture
def source_database(translated_state) -> str:
    return translated_state[1]


@pytest.fixture
def app_config(app_config, translated_state):
    base = translated_state[0]
    for folder in ("recordings", "transcripts"):
        if (base / folder).exists():
            shutil.copytree(base / folder, app_config[f"{folder.upper()}_DIR"], dirs_exist_ok=True)
    app_config["WHISPER_MODEL"] = "base"
    return app_config


@pytest.fixture
def ids(app, translated_state):
    return translated_state[2]


def _segments(recording_id: int) -> list[Segment]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(Segment).where(Segment.recording_id == recording_id).order_by(Segment.start)
        )
    )


def _translations() -> dict[int, SegmentTranslation]:
    return {t.segment_id: t for t in db.session.scalars(select(SegmentTranslation))}


def _give_english(ids, text: str = ENGLISH) -> Segment:
    """The first segment's translation says ``text`` (as the model might have)."""
    first = _segments(ids["recording"])[0]
    translation.store(first, text, "test")
    indexing.reindex(db.session, db.session.get(Interview, ids["interview"]))
    db.session.commit()
    return first


# -- the job ---------------------------------------------------------------------


def test_a_real_job_translates_every_segment_with_the_same_times(client, ids):
    # Queued by the transcription's end, for a worker (the test then ran the job).
    assert ids["queued_after_transcription"] == "queued"
    assert any(name.endswith("translate_recording") for name in ids["pending"])
    recording = db.session.get(Recording, ids["recording"])
    assert recording.language == "ru"
    assert recording.translation_status == "done"
    segments = _segments(ids["recording"])
    rows = _translations()
    assert segments and set(rows) == {s.id for s in segments}
    english = " ".join(rows[s.id].text for s in segments)
    assert re.search(r"[A-Za-z]{3}", english), english
    assert not re.search(r"[А-Яа-яЁё]", english), "the track is English, not Russian"
    for segment in segments:
        assert rows[segment.id].source_version == segment.version
    # Stored encrypted, like the transcript: no English word in the column's bytes.
    raw = db.session.scalars(select(type_coerce(SegmentTranslation.text, LargeBinary))).all()
    word = max(re.findall(r"[A-Za-z]+", english), key=len)
    assert raw and all(word.encode() not in bytes(value) for value in raw)


def test_the_reader_and_the_api_show_it_labelled_beside_the_original(client, ids):
    interview_id = ids["interview"]
    segments = client.get(f"/api/v1/interviews/{interview_id}/transcript").json
    assert segments["translation"] == {
        "label": "Machine translation",
        "language": "en",
        "status": "done",
    }
    rows = _translations()
    shown = {s["id"]: s for s in segments["segments"]}
    for segment in _segments(ids["recording"]):
        assert shown[segment.id]["start"] == segment.start
        if shown[segment.id]["text"] == segment.text:  # nothing hidden in the original
            assert shown[segment.id]["translation"] == rows[segment.id].text
        else:  # a name hidden in the Russian that the model's English does not carry
            assert shown[segment.id]["translation"] in ("", "[translation withheld]")
    page = client.get(f"/interviews/{interview_id}").get_data(as_text=True)
    assert page.count('class="translation" lang="en"') >= 1
    assert "Machine translation" in page
    assert "track=translation" in page


def test_the_editor_shows_it_read_only(client, ids, people):
    archivist = bearer(people["archivist"])
    payload = client.get(f"/api/v1/interviews/{ids['interview']}/editor", headers=archivist).json
    assert payload["translation"]["label"] == "Machine translation"
    assert any("tr" in view for view in payload["segments"])


def test_a_killed_job_resumes_without_duplicates(client, ids):
    segments = _segments(ids["recording"])
    db.session.delete(db.session.scalar(select(SegmentTranslation).limit(1)))
    recording = db.session.get(Recording, ids["recording"])
    recording.translation_status, recording.translation_worker = "running", "elsewhere:1"
    recording.translation_heartbeat_at = utcnow().replace(year=2000)  # the worker died
    db.session.commit()
    assert translation.run(ids["recording"], "test:2") is None
    db.session.expire_all()
    assert db.session.get(Recording, ids["recording"]).translation_status == "done"
    assert db.session.scalar(select(func.count(SegmentTranslation.id))) == len(segments)
    # Run twice: nothing to do, still one row per segment.
    recording = db.session.get(Recording, ids["recording"])
    recording.translation_status = "queued"
    db.session.commit()
    translation.run(ids["recording"], "test:2")
    assert db.session.scalar(select(func.count(SegmentTranslation.id))) == len(segments)


def test_a_corrected_segment_is_stale_hidden_and_made_again(client, ids, people):
    first = _segments(ids["recording"])[0]
    translation.store(first, "An old translation about apples.", "test")
    db.session.commit()
    edits.edit_segment(people["archivist"], first, {"text": "Меня зовут Гульнара Сапарова."})
    unit_of_work.commit()  # the test is the unit of work a request would be
    db.session.expire_all()
    assert db.session.get(Recording, ids["recording"]).translation_status == "queued"
    body = str(client.get(f"/api/v1/interviews/{ids['interview']}/transcript").json)
    assert "apples" not in body  # stale: made from the text before the correction
    translation.run(ids["recording"], "test:3")
    db.session.expire_all()
    row = _translations()[first.id]
    assert row.source_version == db.session.get(Segment, first.id).version
    assert "apples" not in row.text
    assert db.session.get(Recording, ids["recording"]).translation_status == "done"


# -- names: hidden in the English as in the Russian ---------------------------------


def _reader_surfaces(client, interview_id: int, headers=None, login=None) -> dict[str, str]:
    """Every place a reader meets the translation: the page, the API, the exports."""
    if login is not None:
        client.login_as(login)
    base = f"/api/v1/interviews/{interview_id}"
    out = {
        "page": client.get(f"/interviews/{interview_id}").get_data(as_text=True),
        "api": str(client.get(f"{base}/transcript", headers=headers).json),
    }
    for fmt in ("txt", "vtt"):
        response = client.get(f"{base}/transcript.{fmt}?track=translation", headers=headers)
        assert response.status_code == 200
        out[fmt] = response.get_data(as_text=True)
    docx = client.get(f"{base}/transcript.docx?track=translation", headers=headers).data
    with zipfile.ZipFile(io.BytesIO(docx)) as archive_zip:
        out["docx"] = archive_zip.read("word/document.xml").decode()
    out["ohms"] = client.get(f"{base}/transcript.ohms.xml", headers=headers).get_data(as_text=True)
    editor = client.get(f"{base}/editor", headers=headers)
    if editor.status_code == 200:  # staff only
        out["editor"] = str(editor.json)
    return out


def _search(client, word: str, headers=None) -> list[dict]:
    return client.get(f"/api/v1/search?q={word}", headers=headers).json["hits"]


@pytest.mark.parametrize("role", ["visitor", "researcher", "archivist"])
def test_a_transliterated_name_is_hidden_on_every_surface(client, ids, people, role):
    _give_english(ids)
    user = None if role == "visitor" else people[role]
    headers = bearer(user) if user else None
    surfaces = _reader_surfaces(client, ids["interview"], headers, login=user)
    assert "Svetlana" in surfaces["api"] and "Almaty" in surfaces["api"]
    for name, text in surfaces.items():
        assert _names_in(text) == [], f"{role} reads a name on the {name}"
    assert ("editor" in surfaces) == (role == "archivist")
    if role == "archivist":
        assert "Svetlana. I live in Almaty" in surfaces["editor"]
    assert "Machine translation" in surfaces["txt"]
    assert "NOTE\nMachine translation" in surfaces["vtt"]
    assert "Machine translation" in surfaces["docx"]
    assert 'type="Machine translation"' in surfaces["ohms"]
    assert "Almaty" in surfaces["ohms"].split("<transcript_alt type=")[1]
    for word in ("gulnara", "saparova", "гульнара"):
        assert _search(client, word, headers) == []
    hits = _search(client, "almaty", headers)
    assert hits and all(hit["track"] == "translation" for hit in hits)
    page = client.get("/search?q=almaty").get_data(as_text=True)
    assert "matched the machine translation" in page and _names_in(page) == []
    # The speaker's role still filters (the track is packed beside it in the index).
    by_role = client.get("/api/v1/search?q=almaty&role=narrator", headers=headers).json
    assert by_role["hits"] and by_role["facets"]["speaker_role"] == {"narrator": 1}
    assert all(not _names_in(hit["snippet"] + hit["text"]) for hit in hits)


def test_the_first_name_alone_is_hidden_too(client, ids):
    _give_english(ids, "They called me Gulnara when I was small.")
    body = str(client.get(f"/api/v1/interviews/{ids['interview']}/transcript").json)
    assert "called me Svetlana" in body
    assert _names_in(body) == []


def test_an_unrecognised_spelling_withholds_the_whole_segment(client, ids):
    """The Russian hides the name; the English carries nothing the matcher knows as
    it (the model may have mangled it beyond any rule: even "Gyulnyaraa Spaarov" is
    found): the segment's English is withheld."""
    first = _give_english(ids, "My name is Lara and I live in Almaty.")
    rendered = {
        s["id"]: s
        for s in client.get(f"/api/v1/interviews/{ids['interview']}/transcript").json["segments"]
    }
    assert rendered[first.id]["translation"] == "[translation withheld]"
    assert _search(client, "lara") == []


def test_a_marked_span_withholds_the_segments_translation(client, ids, people):
    segments = _segments(ids["recording"])
    second = segments[1]
    translation.store(second, "I live in Almaty near the square.", "test")
    db.session.commit()
    redaction_edits.add_redaction(people["archivist"], second, 0, 3, "an address")
    unit_of_work.commit()
    transcript = client.get(f"/api/v1/interviews/{ids['interview']}/transcript").json
    shown = {s["id"]: s for s in transcript["segments"]}
    assert shown[second.id]["translation"] == "[translation withheld]"
    assert _search(client, "square") == []
    custodian = bearer(people["custodian"])
    transcript = client.get(f"/api/v1/interviews/{ids['interview']}/transcript", headers=custodian)
    shown = {s["id"]: s for s in transcript.json["segments"]}
    assert shown[second.id]["translation"] == "I live in Almaty near the square."


def test_a_custodian_reads_it_unredacted_as_the_original(client, ids, people):
    _give_english(ids)
    custodian = people["custodian"]
    surfaces = _reader_surfaces(client, ids["interview"], bearer(custodian), login=custodian)
    assert "Gulnara Saparova" in surfaces["api"]
    assert "Gulnara Saparova" in surfaces["txt"]


def test_a_doubted_segment_has_no_translation_shown(client, ids):
    first = _give_english(ids, "A sentence about the river.")
    first = db.session.get(Segment, first.id)
    first.suspect = "loop"
    indexing.reindex(db.session, db.session.get(Interview, ids["interview"]))
    db.session.commit()
    for headers in (None,):
        body = str(client.get(f"/api/v1/interviews/{ids['interview']}/transcript").json)
        txt = client.get(
            f"/api/v1/interviews/{ids['interview']}/transcript.txt?track=translation"
        ).get_data(as_text=True)
        assert "river" not in body + txt
        assert _search(client, "river", headers) == []


def test_an_english_interview_gets_no_translation(app):
    recording = Recording(language="en")
    recording.interview = Interview(title="x", language="en")
    assert not translation_track.wanted(recording)
    recording.language = "kk"
    assert translation_track.wanted(recording)


def test_the_translate_command_queues_what_is_missing(app, ids):
    recording = db.session.get(Recording, ids["recording"])
    recording.translation_status, recording.translation_error = "failed", "Translation failed"
    db.session.delete(db.session.scalar(select(SegmentTranslation).limit(1)))
    db.session.commit()
    runner = app.test_cli_runner()
    assert "0 recording(s)" in runner.invoke(args=["translate"]).output  # failed: left
    result = runner.invoke(args=["translate", "--retry-failed"])
    assert result.exit_code == 0 and "1 recording(s) queued" in result.output
    db.session.expire_all()
    assert db.session.get(Recording, ids["recording"]).translation_status == "queued"
