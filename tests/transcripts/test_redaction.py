"""A narrator whose real name is spoken: pseudonym everywhere, names hidden, audio toned.

The recording says "My name is Gulnara Bekova ... Everyone knew Gulnara Bekova", and
tiny.en hears "Galara Bicova": the misspellings are real, not made up here.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import pytest
from cachetools import LRUCache
from sqlalchemy import select

from archive.extensions import db
from archive.models import AuditEvent, Interview, Recording, Redaction, Segment
from archive.recordings import audio, listening_copies, storage
from archive.transcripts import redaction, suggestions
from archive.transcripts.names import matching as name_matching
from tests.helpers import bearer
from tests.narrated import forms_in

# Each test starts from a copy of the narrated archive (tests/narrated.py).
pytestmark = pytest.mark.narrated


def test_model_really_misspells_the_name(narrated):
    segments = db.session.scalars(select(Segment)).all()
    spoken = " ".join(s.text for s in segments).casefold()
    assert {"galara", "bicova"} <= set(re.findall(r"\w+", spoken))


def test_researcher_and_visitor_read_the_pseudonym_and_no_form_of_the_name(
    client, narrated, people
):
    interview_id = narrated["interview"].id
    for headers in (bearer(people["researcher"]), {}):
        transcript = client.get(f"/api/v1/interviews/{interview_id}/transcript", headers=headers)
        body = transcript.get_data(as_text=True)
        assert transcript.status_code == 200
        assert forms_in(body) == []
        assert "Svetlana" in body
        assert {s["speaker"]["name"] for s in transcript.json["segments"]} == {"Svetlana"}
        detail = client.get(f"/api/v1/interviews/{interview_id}", headers=headers)
        assert forms_in(detail.get_data(as_text=True)) == []
    page = client.get(f"/interviews/{interview_id}").get_data(as_text=True)
    assert forms_in(page) == []
    assert "My name is Svetlana" in page


def test_a_name_given_after_a_read_is_hidden_from_the_next_read(client, narrated, people):
    """Names found are remembered between requests, keyed by the names: a new alias
    must not be answered from what was found before it existed."""
    interview_id = narrated["interview"].id
    url = f"/api/v1/interviews/{interview_id}/transcript"
    reader = bearer(people["researcher"])
    assert "mother" in client.get(url, headers=reader).get_data(as_text=True)
    response = client.patch(
        f"/api/v1/interviews/{interview_id}/speakers/{narrated['speaker_id']}",
        json={"aliases": ["Гульнара", "Gulya", "Mother"]},
        headers=bearer(people["custodian"]),
    )
    assert response.status_code == 200
    body = client.get(url, headers=reader).get_data(as_text=True)
    assert "mother" not in body.casefold()
    assert forms_in(body) == []


def test_archivist_and_interviewer_read_the_redacted_text_too(client, narrated, people):
    interview_id = narrated["interview"].id
    for role in ("archivist", "interviewer"):
        client.login_as(people[role])
        body = client.get(f"/api/v1/interviews/{interview_id}/transcript").get_data(as_text=True)
        assert forms_in(body) == [], role
        page = client.get(f"/interviews/{interview_id}/speakers").get_data(as_text=True)
        assert forms_in(page) == [], role


def test_custodian_reads_the_words_as_spoken(client, narrated, people):
    client.login_as(people["custodian"])
    segments = client.get(f"/api/v1/interviews/{narrated['interview'].id}/transcript").json
    assert "Galara" in " ".join(s["text"] for s in segments["segments"])
    assert {s["speaker"]["name"] for s in segments["segments"]} == {"Svetlana"}


def test_custodian_reveal_needs_a_reason_and_is_audited(client, narrated, people):
    url = f"/api/v1/interviews/{narrated['interview'].id}/speakers/{narrated['speaker_id']}/reveal"
    headers = bearer(people["custodian"])
    refused = client.post(url, json={"reason": ""}, headers=headers)
    assert refused.status_code == 422
    assert "Say why" in refused.json["error"]
    assert (
        db.session.scalar(select(AuditEvent).where(AuditEvent.action == "identity_revealed"))
        is None
    )
    response = client.post(url, json={"reason": "court order 2026/114"}, headers=headers)
    assert response.json == {"real_name": "Gulnara Bekova", "aliases": ["Гульнара", "Gulya"]}
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "identity_revealed"))
    assert event.actor_id == people["custodian"].id
    assert "court order 2026/114" in event.details
    assert forms_in(event.details) == []


@pytest.mark.parametrize("role", ["interviewer", "archivist", "researcher"])
def test_nobody_else_can_reveal(client, narrated, people, role):
    url = f"/api/v1/interviews/{narrated['interview'].id}/speakers/{narrated['speaker_id']}/reveal"
    response = client.post(
        url, json={"reason": "I would like to know"}, headers=bearer(people[role])
    )
    assert response.status_code == 404
    assert forms_in(response.get_data(as_text=True)) == []


def test_database_file_holds_no_real_name_in_plaintext(app, narrated, stored_bytes):
    # SQLite: the file and its WAL; PostgreSQL: every file of the database.
    raw = stored_bytes()
    assert b"Svetlana" in raw  # the reader does see the tables (the pseudonym is not secret)
    for form in ["Gulnara", "Bekova", "Galara", "Bicova", "Гульнара", "Gulya"]:
        assert form.encode() not in raw, form
        assert form.lower().encode() not in raw.lower(), form


def test_logs_carry_no_name(narrated_state):
    logs = narrated_state[3]
    assert "recording 1 stored" in logs
    assert forms_in(logs) == []


def _rms(signal: np.ndarray) -> float:
    return float(np.sqrt(np.mean(signal**2))) if signal.size else 0.0


def _decode(path: Path) -> np.ndarray:
    return audio.decode(path, sample_rate=listening_copies.RATE)


def _tone_share(chunk: np.ndarray) -> float:
    """How much of the chunk's energy is the 1 kHz tone."""
    spectrum = np.abs(np.fft.rfft(chunk * np.hanning(len(chunk)))) ** 2
    freqs = np.fft.rfftfreq(len(chunk), 1 / listening_copies.RATE)
    band = (freqs > listening_copies.TONE_HZ - 40) & (freqs < listening_copies.TONE_HZ + 40)
    return float(spectrum[band].sum() / spectrum.sum())


def test_access_copy_replaces_every_spoken_name_by_the_tone(app, narrated):
    recording = db.session.get(Recording, narrated["recording_id"])
    master = storage.recordings_path(recording.master_key)
    sha_before = recording.sha256
    redacted = _decode(listening_copies.path_for(recording, "redacted"))
    full = _decode(listening_copies.path_for(recording, "full"))
    rate = listening_copies.RATE
    name_words, other_words = [], []
    for segment in db.session.scalars(select(Segment)):
        for word in segment.words:
            target = name_words if forms_in(word["word"]) else other_words
            target.append((word["start"], word["end"]))
    assert len(name_words) >= 6
    for start, end in name_words:
        chunk = redacted[int((start + 0.02) * rate) : int((end - 0.02) * rate)]
        assert _tone_share(chunk) > 0.95, (start, end)
        assert _rms(chunk) == pytest.approx(listening_copies.TONE_LEVEL / np.sqrt(2), rel=0.2)
        assert _tone_share(full[int((start + 0.02) * rate) : int((end - 0.02) * rate)]) < 0.5
    spans = listening_copies.merged_spans(name_words)
    kept = [
        (s, e) for s, e in other_words if not any(span.start < e and s < span.end for span in spans)
    ]
    assert kept
    for start, end in kept:
        a = redacted[int(start * rate) : int(end * rate)]
        b = full[int(start * rate) : int(end * rate)]
        assert np.corrcoef(a, b)[0, 1] > 0.98, (start, end)
    master_audio = audio.decode(master, sample_rate=rate)
    n = min(len(master_audio), len(full))
    assert np.corrcoef(master_audio[:n], full[:n])[0, 1] > 0.95
    assert storage.sha256_file(master) == sha_before


def test_researcher_hears_the_redacted_copy_and_custodian_the_full_one(client, narrated, people):
    interview_id = narrated["interview"].id
    recording = db.session.get(Recording, narrated["recording_id"])
    researcher = client.get(
        f"/api/v1/interviews/{interview_id}/audio", headers=bearer(people["researcher"])
    )
    assert researcher.status_code == 200
    assert researcher.mimetype == "audio/mpeg"
    assert researcher.data == listening_copies.path_for(recording, "redacted").read_bytes()
    custodian = client.get(
        f"/api/v1/interviews/{interview_id}/audio", headers=bearer(people["custodian"])
    )
    assert custodian.data == listening_copies.path_for(recording, "full").read_bytes()


def test_audio_permission_none_means_no_audio_for_readers(client, narrated, people):
    interview = narrated["interview"]
    interview.audio_permission = "none"
    db.session.commit()
    response = client.get(
        f"/api/v1/interviews/{interview.id}/audio", headers=bearer(people["researcher"])
    )
    assert response.status_code == 404


def test_marked_redaction_hides_words_until_undone(client, narrated, people):
    interview_id = narrated["interview"].id
    segment = db.session.scalars(select(Segment).order_by(Segment.start)).all()[-1]
    start = segment.text.index("the list")
    archivist = bearer(people["archivist"])
    response = client.post(
        f"/api/v1/segments/{segment.id}/redactions",
        json={"start": start, "end": start + len("the list"), "reason": "identifies a place"},
        headers=archivist,
    )
    assert response.status_code == 201
    researcher = bearer(people["researcher"])
    text = client.get(f"/api/v1/interviews/{interview_id}/transcript", headers=researcher)
    assert "the list" not in text.get_data(as_text=True)
    assert "[redacted]" in text.get_data(as_text=True)
    # The listening copy made before this redaction is no longer served.
    stale = client.get(f"/api/v1/interviews/{interview_id}/audio", headers=researcher)
    assert stale.status_code == 503
    assert "being prepared" in stale.json["error"]
    assert listening_copies.build(narrated["recording_id"])
    assert (
        client.get(f"/api/v1/interviews/{interview_id}/audio", headers=researcher).status_code
        == 200
    )

    undone = client.delete(f"/api/v1/redactions/{response.json['id']}", headers=archivist)
    assert undone.status_code == 200
    text = client.get(f"/api/v1/interviews/{interview_id}/transcript", headers=researcher)
    assert "the list" in text.get_data(as_text=True)
    row = db.session.get(Redaction, response.json["id"])
    assert row.removed_at is not None
    actions = db.session.scalars(select(AuditEvent.action)).all()
    assert "redaction_added" in actions and "redaction_removed" in actions


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"start": 5, "end": 2, "reason": "x"}, "0 <= start < end"),
        ({"start": 0, "end": 9999, "reason": "x"}, "0 <= start < end"),
        ({"start": "a", "end": 2, "reason": "x"}, "character positions"),
        ({"start": 0, "end": 2}, "Give a reason"),
    ],
)
def test_bad_redaction_is_refused_and_nothing_stored(client, narrated, people, body, message):
    segment = db.session.scalars(select(Segment)).first()
    response = client.post(
        f"/api/v1/segments/{segment.id}/redactions", json=body, headers=bearer(people["archivist"])
    )
    assert response.status_code == 422
    assert message in response.json["error"]
    assert db.session.scalars(select(Redaction)).all() == []


@pytest.mark.parametrize("role", ["researcher", "interviewer"])
def test_readers_cannot_redact(client, narrated, people, role):
    segment = db.session.scalars(select(Segment)).first()
    response = client.post(
        f"/api/v1/segments/{segment.id}/redactions",
        json={"start": 0, "end": 2, "reason": "x"},
        headers=bearer(people[role]),
    )
    assert response.status_code == 404
    assert db.session.scalars(select(Redaction)).all() == []


def test_named_narrator_is_shown_by_name_to_readers(client, narrated, people):
    recorded = client.post(
        f"/api/v1/interviews/{narrated['interview'].id}/agreements",
        json={
            "access_level": "open",
            "audio": "redacted",
            "identity": "named",
            "named_speakers": [narrated["speaker_id"]],
        },
        headers=bearer(people["custodian"]),
    )
    assert recorded.status_code == 201, recorded.json
    response = client.get(
        f"/api/v1/interviews/{narrated['interview'].id}/transcript",
        headers=bearer(people["researcher"]),
    )
    assert {s["speaker"]["name"] for s in response.json["segments"]} == {"Gulnara Bekova"}


def test_suggestions_point_at_numbers_places_and_unknown_names(client, narrated, people):
    segment = db.session.scalars(select(Segment)).first()
    response = client.patch(
        f"/api/v1/segments/{segment.id}",
        json={"text": segment.text + " I phoned 8 701 555 12 34 from Almaty and met Yerlan."},
        headers=bearer(people["custodian"]),
    )
    assert response.status_code == 200, response.json

    found = {(s.kind, s.text) for s in suggestions.suggestions(narrated["interview"])}
    assert ("number", "8 701 555 12 34") in found
    assert ("place", "Almaty") in found
    assert ("name", "Yerlan") in found
    assert not any(forms_in(text) for _kind, text in found)


def test_speakers_page_never_shows_the_real_name_and_plays_a_sample(client, narrated, people):
    client.login_as(people["interviewer"])
    page = client.get(f"/interviews/{narrated['interview'].id}/speakers")
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "A real name is recorded (not shown)" in body
    assert forms_in(body) == []
    sample = client.get(
        f"/interviews/{narrated['interview'].id}/speakers/{narrated['speaker_id']}/sample.mp3"
    )
    assert sample.mimetype == "audio/mpeg"
    assert len(sample.data) > 1000


def test_merging_speakers_moves_segments_and_keeps_names_protected(client, narrated, people):
    from archive import interviews as interview_service

    interview = narrated["interview"]
    extra = interview_service.add_speaker(interview, pseudonym="Other")
    extra.real_name = "Bekova"
    segment = db.session.scalars(select(Segment)).first()
    segment.speaker_id = extra.id
    db.session.commit()
    response = client.post(
        f"/api/v1/interviews/{interview.id}/speakers/{extra.id}/merge",
        json={"into": narrated["speaker_id"]},
        headers=bearer(people["custodian"]),
    )
    assert response.status_code == 200
    db.session.expire_all()
    assert {s.speaker_id for s in db.session.scalars(select(Segment))} == {narrated["speaker_id"]}
    body = client.get(
        f"/api/v1/interviews/{interview.id}/transcript", headers=bearer(people["researcher"])
    ).get_data(as_text=True)
    assert forms_in(body) == []


@pytest.mark.parametrize("fmt", ["txt", "srt", "vtt", "json", "docx", "ohms.xml"])
def test_every_export_holds_the_pseudonym_and_no_form_of_the_name(client, narrated, people, fmt):
    response = client.get(
        f"/api/v1/interviews/{narrated['interview'].id}/transcript.{fmt}",
        headers=bearer(people["researcher"]),
    )
    assert response.status_code == 200
    if fmt == "docx":
        import docx

        document = docx.Document(io.BytesIO(response.data))
        text = "\n".join(p.text for p in document.paragraphs)
    else:
        text = response.get_data(as_text=True)
    assert "Svetlana" in text
    assert forms_in(text) == []


def test_bag_holds_no_form_of_the_name(fetch_bag, narrated, people, tmp_path):
    import zipfile

    import bagit

    response = fetch_bag(narrated["interview"].id, bearer(people["researcher"]))
    assert response.status_code == 200
    with zipfile.ZipFile(io.BytesIO(response.data)) as bundle:
        bundle.extractall(tmp_path)
        for name in bundle.namelist():
            if not name.endswith((".mp3", ".docx")):
                assert forms_in(bundle.read(name).decode("utf-8", "replace")) == [], name
    bag_dir = next(p for p in tmp_path.iterdir() if p.is_dir())
    bagit.Bag(str(bag_dir)).validate()
    audio_files = list((bag_dir / "data" / "audio").iterdir())
    recording = db.session.get(Recording, narrated["recording_id"])
    assert (
        audio_files[0].read_bytes() == listening_copies.path_for(recording, "redacted").read_bytes()
    )


def test_search_never_finds_a_name_nor_shows_one(client, narrated, people):
    researcher = bearer(people["researcher"])
    for word in ("Gulnara", "Galara", "Bicova", "Bekova", "Gulya", "Гульнара", "gal*", "bic*"):
        found = client.get(f"/api/v1/search?q={word}", headers=researcher).json
        assert found["hits"] == [], word
    found = client.get("/api/v1/search?q=Svetlana", headers=researcher)
    assert found.json["hits"]
    assert forms_in(found.get_data(as_text=True)) == []
    client.login_as(people["custodian"])
    assert client.get("/api/v1/search?q=Galara").json["hits"] == []


def test_edits_are_revisions_that_can_be_restored(client, narrated, people):
    segment = db.session.scalars(select(Segment).order_by(Segment.start)).first()
    original = segment.text
    archivist = bearer(people["archivist"])
    edited = client.patch(
        f"/api/v1/segments/{segment.id}",
        json={"parts": ["My name is ", {"hidden": 0}, "."]},
        headers=archivist,
    )
    assert edited.json["version"] == 2
    history = client.get(f"/api/v1/segments/{segment.id}/revisions", headers=archivist).json
    assert [(r["version"], r["kind"]) for r in history["revisions"]] == [
        (2, "edit"),
        (1, "machine"),
    ]
    assert forms_in(str(history)) == []
    restored = client.post(
        f"/api/v1/segments/{segment.id}/restore", json={"version": 1}, headers=archivist
    )
    assert restored.json["version"] == 3
    db.session.expire_all()
    assert db.session.get(Segment, segment.id).text == original
    bad = client.post(
        f"/api/v1/segments/{segment.id}/restore", json={"version": 9}, headers=archivist
    )
    assert bad.status_code == 422
    assert "no version 9" in bad.json["error"]


@pytest.mark.parametrize("who", ["researcher", "interviewer", "visitor"])
def test_readers_cannot_edit_nor_see_history(client, narrated, people, who):
    segment = db.session.scalars(select(Segment)).first()
    headers = bearer(people[who]) if who != "visitor" else {}
    edit = client.patch(f"/api/v1/segments/{segment.id}", json={"text": "x"}, headers=headers)
    assert edit.status_code in (401, 404)
    history = client.get(f"/api/v1/segments/{segment.id}/revisions", headers=headers)
    assert history.status_code in (401, 404)
    db.session.expire_all()
    assert db.session.get(Segment, segment.id).version == 1


def test_workflow_moves_through_review_with_who_and_when(client, narrated, people):
    interview_id = narrated["interview"].id
    archivist = bearer(people["archivist"])
    bad = client.post(
        f"/api/v1/interviews/{interview_id}/workflow", json={"status": "done"}, headers=archivist
    )
    assert bad.status_code == 422
    for status in ("in_review", "approved"):
        response = client.post(
            f"/api/v1/interviews/{interview_id}/workflow",
            json={"status": status},
            headers=archivist,
        )
        assert response.json["workflow_status"] == status
    interview = db.session.get(Interview, interview_id)
    db.session.refresh(interview)
    assert interview.status_changed_by_id == people["archivist"].id
    assert interview.status_changed_at is not None
    refused = client.post(
        f"/api/v1/interviews/{interview_id}/workflow",
        json={"status": "in_review"},
        headers=bearer(people["researcher"]),
    )
    assert refused.status_code == 404


def test_names_kept_on_a_segment_count_only_for_the_text_they_were_found_in(
    client, narrated, people
):
    segment = db.session.scalars(select(Segment).order_by(Segment.start)).first()
    assert segment.name_key and segment.name_spans  # kept when the transcript was indexed
    # Text changed behind the services' back: the kept spans no longer fit it, and
    # the name is found again rather than shown where the old spans do not cover it.
    segment.text = "They say Gulnara Bekova was the first to speak."
    db.session.commit()
    body = client.get(
        f"/api/v1/interviews/{narrated['interview'].id}/transcript",
        headers=bearer(people["archivist"]),
    ).get_data(as_text=True)
    assert forms_in(body) == []
    assert "They say Svetlana was the first" in body


def test_kept_names_are_keyed_on_the_matcher_version_not_its_source(client, narrated, monkeypatch):
    segment = db.session.scalars(select(Segment).order_by(Segment.start)).first()
    assert segment.name_key and segment.name_spans
    found = [tuple(span) for span in segment.name_spans]
    # A stored span list the matcher would not find now: only the key decides
    # whether it is read back.
    segment.name_spans = [[0, 1, found[0][2]]]
    redactor = redaction.Redactor(segment.recording.interview)
    assert redactor.name_spans(segment) == [(0, 1, found[0][2])]
    # Editing the module (a comment) changes nothing; bumping the version does.
    assert f"name_matching:{name_matching.MATCHER_VERSION}".encode() == redaction._matcher_code()
    monkeypatch.setattr(name_matching, "MATCHER_VERSION", name_matching.MATCHER_VERSION + 1)
    assert redactor.name_spans(segment) == found
    db.session.rollback()


def test_a_matcher_is_kept_per_set_of_names_and_the_least_recently_used_dropped(monkeypatch):
    monkeypatch.setattr(redaction, "_MATCHERS", LRUCache(maxsize=2))
    first, second, third = (
        [name_matching.ProtectedName(n, (name,))] for n, name in enumerate(NAMES, start=1)
    )
    kept = redaction._matcher(first)
    assert redaction._matcher(first) is kept
    dropped = redaction._matcher(second)
    redaction._matcher(first)  # read last: the second is now the oldest
    redaction._matcher(third)
    assert redaction._matcher(first) is kept
    assert redaction._matcher(second) is not dropped
    mentions = kept.find("Gulnara spoke first.")
    assert mentions and kept.find("Gulnara spoke first.") is mentions  # found once


NAMES = ("Gulnara", "Timur", "Aigerim")
