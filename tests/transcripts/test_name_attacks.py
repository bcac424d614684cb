"""An insider pushes at a hidden name: by editing around it, by asking yes/no
questions of the redaction forms, by changing a role. Nothing gives it away.

The narrated archive's first segment reads "My name is Galara Bicova. Galara is what
my mother called me." (tiny.en's spelling); an archivist sees "My name is Svetlana.
Svetlana is ...".
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from sqlalchemy import select

from archive.extensions import db
from archive.models import Recording, Redaction, Segment
from archive.recordings import listening_copies
from archive.transcripts import redaction
from tests.helpers import bearer
from tests.narrated import forms_in

# Each test starts from a copy of the narrated archive (tests/narrated.py).
pytestmark = pytest.mark.narrated


def _segments() -> list[Segment]:
    db.session.expire_all()
    return list(db.session.scalars(select(Segment).order_by(Segment.start)))


def _name_word_times() -> list[tuple[float, float]]:
    return [
        (w["start"], w["end"]) for s in _segments() for w in s.words or [] if forms_in(w["word"])
    ]


def _toned(recording_id: int) -> list[tuple[float, float]]:
    """The stretches the listening copy tones out (each word widened by the margin)."""
    db.session.expire_all()
    times = redaction.audio_spans(db.session.get(Recording, recording_id))
    return [(s.start, s.end) for s in listening_copies.merged_spans(times)]


def _everything_a_reader_sees(client, narrated, people) -> str:
    interview_id = narrated["interview"].id
    seen = []
    for headers in (bearer(people["researcher"]), bearer(people["archivist"]), {}):
        seen.append(
            client.get(f"/api/v1/interviews/{interview_id}/transcript", headers=headers).get_data(
                as_text=True
            )
        )
    archivist = bearer(people["archivist"])
    seen.append(
        client.get(f"/api/v1/interviews/{interview_id}/editor", headers=archivist).get_data(
            as_text=True
        )
    )
    for segment in _segments():
        seen.append(
            client.get(f"/api/v1/segments/{segment.id}/revisions", headers=archivist).get_data(
                as_text=True
            )
        )
    client.login_as(people["archivist"])
    seen.append(client.get(f"/interviews/{interview_id}/edit").get_data(as_text=True))
    return "\n".join(seen)


GLUED = [
    # text glued before the label
    ["My name is x", {"hidden": 0}, ". ", {"hidden": 1}, " is what my mother called me."],
    # the space before the label deleted, text glued after the other
    ["My name is", {"hidden": 0}, ". ", {"hidden": 1}, "x is what my mother called me."],
    # the neighbouring words replaced, and punctuation glued on both sides
    ["Name:", {"hidden": 0}, "!", {"hidden": 1}, "-is what my mother called me."],
]


@pytest.mark.parametrize("parts", GLUED, ids=["before", "after", "punctuation"])
def test_editing_around_a_hidden_name_never_unhides_it(client, narrated, people, parts):
    first = _segments()[0]
    heard = _name_word_times()
    assert heard
    response = client.patch(
        f"/api/v1/segments/{first.id}",
        json={"parts": parts, "version": 1},
        headers=bearer(people["archivist"]),
    )
    assert response.status_code == 200, response.json
    assert forms_in(_everything_a_reader_sees(client, narrated, people)) == []
    researcher = bearer(people["researcher"])
    for word in ("xgalara", "galara", "bicova", "galarax", "xgal*"):
        hits = client.get(f"/api/v1/search?q={word}", headers=researcher).json["hits"]
        assert hits == [], word
    # The listening copy still tones every word of the name.
    toned = _toned(narrated["recording_id"])
    for start, end in heard:
        assert any(a <= start and end <= b for a, b in toned), (start, end)


def test_a_custodian_gluing_a_word_onto_a_name_keeps_it_hidden(client, narrated, people):
    first = _segments()[0]
    glued = first.text.replace("is Galara", "isGalara")
    response = client.patch(
        f"/api/v1/segments/{first.id}",
        json={"text": glued},
        headers=bearer(people["custodian"]),
    )
    assert response.status_code == 200, response.json
    assert _segments()[0].text.startswith("My name isGalara")
    assert forms_in(_everything_a_reader_sees(client, narrated, people)) == []


def test_split_merge_and_restore_keep_the_name_hidden(client, narrated, people):
    archivist = bearer(people["archivist"])
    first = _segments()[0]
    edited = client.patch(
        f"/api/v1/segments/{first.id}",
        json={"parts": GLUED[0], "version": 1},
        headers=archivist,
    )
    assert edited.status_code == 200
    split = client.post(
        f"/api/v1/segments/{first.id}/split",
        json={"at": len("My name is x Svetlana.")},
        headers=archivist,
    )
    assert split.status_code == 201, split.json
    assert forms_in(_everything_a_reader_sees(client, narrated, people)) == []
    merged = client.post(f"/api/v1/segments/{first.id}/merge", json={}, headers=archivist)
    assert merged.status_code == 200, merged.json
    assert forms_in(_everything_a_reader_sees(client, narrated, people)) == []
    restored = client.post(
        f"/api/v1/segments/{first.id}/restore", json={"version": 2}, headers=archivist
    )
    assert restored.status_code == 200, restored.json
    assert forms_in(_everything_a_reader_sees(client, narrated, people)) == []


@pytest.mark.parametrize("guess", ["Galara B", "Galara K", "xGalara", "Bicova", "alara"])
def test_redacting_by_phrase_answers_the_same_whatever_the_hidden_words(
    client, narrated, people, guess
):
    first = _segments()[0]
    client.login_as(people["archivist"])
    page = client.post_form(
        f"/segments/{first.id}/redact",
        {"phrase": guess, "reason": "guessing"},
        token_from=f"/interviews/{narrated['interview'].id}/redactions",
        follow_redirects=True,
    )
    body = page.get_data(as_text=True)
    assert "Those words are not in this segment" in body
    assert "Redacted." not in body
    assert db.session.scalars(select(Redaction)).all() == []


def test_redacting_by_phrase_finds_the_words_the_archivist_reads(client, narrated, people):
    first = _segments()[0]
    client.login_as(people["archivist"])
    page = client.post_form(
        f"/segments/{first.id}/redact",
        {"phrase": "what my mother", "reason": "family"},
        token_from=f"/interviews/{narrated['interview'].id}/redactions",
        follow_redirects=True,
    )
    assert "Redacted." in page.get_data(as_text=True)
    row = db.session.scalar(select(Redaction))
    assert _segments()[0].text[row.start_char : row.end_char] == "what my mother"


def test_redaction_positions_are_those_of_the_rendering_and_never_tell_its_length(
    client, narrated, people
):
    first = _segments()[0]
    rendered = "My name is Svetlana. Svetlana is what my mother called me."
    response = client.post(
        f"/api/v1/segments/{first.id}/redactions",
        json={"start": 0, "end": 100_000, "reason": "probing"},
        headers=bearer(people["archivist"]),
    )
    assert response.status_code == 422
    assert f"<= {len(rendered)} " in response.json["error"]
    assert str(len(first.text)) not in response.json["error"]
    start = rendered.index("mother")
    placed = client.post(
        f"/api/v1/segments/{first.id}/redactions",
        json={"start": start, "end": start + len("mother"), "reason": "family"},
        headers=bearer(people["archivist"]),
    )
    assert placed.status_code == 201, placed.json
    row = db.session.get(Redaction, placed.json["id"])
    assert _segments()[0].text[row.start_char : row.end_char] == "mother"


def test_revision_history_hides_what_the_transcript_hides(client, narrated, people):
    second = _segments()[1]
    archivist = bearer(people["archivist"])
    rendered = "The soul just wrote Svetlana on the list. Everyone you Svetlana in our street."
    # Corrected first (so the history holds the words in two versions), then marked.
    parts = ["The guard just wrote ", {"hidden": 0}, " on the list. Everyone knew "]
    corrected = client.patch(
        f"/api/v1/segments/{second.id}",
        json={"parts": [*parts, {"hidden": 1}, " in our street."]},
        headers=archivist,
    )
    assert corrected.status_code == 200, corrected.json
    start = rendered.replace("The soul", "The guard").replace("you", "knew").index("our street")
    marked = client.post(
        f"/api/v1/segments/{second.id}/redactions",
        json={"start": start, "end": start + len("our street"), "reason": "address"},
        headers=archivist,
    )
    assert marked.status_code == 201, marked.json
    history = client.get(f"/api/v1/segments/{second.id}/revisions", headers=archivist).json
    texts = [r["text"] for r in history["revisions"]]
    assert len(texts) == 2
    for text in texts:
        assert "our street" not in text
        assert text.endswith("in [redacted].")
        assert forms_in(text) == []
    custodian = client.get(
        f"/api/v1/segments/{second.id}/revisions", headers=bearer(people["custodian"])
    ).json
    assert all("our street" in r["text"] for r in custodian["revisions"])


def _agreement(client, narrated, people, who="custodian", **terms):
    body = {"access_level": "open", "audio": "redacted", "identity": "named", **terms}
    return client.post(
        f"/api/v1/interviews/{narrated['interview'].id}/agreements",
        json=body,
        headers=bearer(people[who]),
    )


def _other_speaker(client, narrated, people) -> int:
    """A second person in the interview, named by the interviewer as "other"."""
    from archive import interviews as interview_service

    extra = interview_service.add_speaker(narrated["interview"], pseudonym="Neighbour")
    db.session.commit()
    response = client.patch(
        f"/api/v1/interviews/{narrated['interview'].id}/speakers/{extra.id}",
        json={"role": "other", "real_name": "Aigerim Nurlanovna"},
        headers=bearer(people["interviewer"]),
    )
    assert response.status_code == 200, response.json
    return extra.id


def _visitor_sees(client, narrated) -> str:
    interview_id = narrated["interview"].id
    return "\n".join(
        client.get(url).get_data(as_text=True)
        for url in (
            f"/api/v1/interviews/{interview_id}",
            f"/api/v1/interviews/{interview_id}/transcript",
            f"/api/v1/interviews/{interview_id}/citation",
            f"/interviews/{interview_id}",
        )
    )


def test_a_role_change_never_shows_a_name(client, narrated, people):
    other = _other_speaker(client, narrated, people)
    recorded = _agreement(client, narrated, people, named_speakers=[narrated["speaker_id"]])
    assert recorded.status_code == 201, recorded.json
    assert "Gulnara Bekova" in _visitor_sees(client, narrated)  # the narrator chose this
    changed = client.patch(
        f"/api/v1/interviews/{narrated['interview'].id}/speakers/{other}",
        json={"role": "narrator"},
        headers=bearer(people["interviewer"]),
    )
    assert changed.status_code == 200
    seen = _visitor_sees(client, narrated)
    assert "Aigerim" not in seen and "Nurlanovna" not in seen
    assert "Neighbour" in seen


def test_renaming_a_named_speaker_shows_the_new_name_to_nobody(client, narrated, people):
    recorded = _agreement(client, narrated, people, named_speakers=[narrated["speaker_id"]])
    assert recorded.status_code == 201
    renamed = client.patch(
        f"/api/v1/interviews/{narrated['interview'].id}/speakers/{narrated['speaker_id']}",
        json={"real_name": "Aigerim Nurlanovna"},
        headers=bearer(people["interviewer"]),
    )
    assert renamed.status_code == 200
    seen = _visitor_sees(client, narrated)
    assert "Aigerim" not in seen and "Gulnara" not in seen
    assert "Svetlana" in seen


def test_naming_a_speaker_is_a_custodians_decision(client, narrated, people):
    interview = narrated["interview"]
    interview.agreement_version = 0  # the interviewer records the first agreement
    db.session.commit()
    refused = _agreement(
        client, narrated, people, who="interviewer", named_speakers=[narrated["speaker_id"]]
    )
    assert refused.status_code == 422
    assert "Only a custodian" in refused.json["error"]
    unnamed = _agreement(client, narrated, people)
    assert unnamed.status_code == 422
    assert "say which speakers chose to be named" in unnamed.json["error"]
    assert "Gulnara" not in _visitor_sees(client, narrated)


# -- listening copies of a withdrawn interview ------------------------------------


def _copies(recording_id: int) -> list[str]:
    from archive.recordings import storage

    folder = storage.recordings_path(f"access/{recording_id}")
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_a_new_listening_copy_removes_the_one_it_supersedes(client, narrated, people):
    recording_id = narrated["recording_id"]
    before = _copies(recording_id)
    assert len(before) == 2
    start = "The soul just wrote Svetlana on the list.".index("list")
    marked = client.post(
        f"/api/v1/segments/{_segments()[1].id}/redactions",
        json={"start": start, "end": start + 4, "reason": "a place"},
        headers=bearer(people["archivist"]),
    )
    assert marked.status_code == 201
    assert listening_copies.build(recording_id)
    after = _copies(recording_id)
    assert len(after) == 2 and "full.mp3" in after
    assert not set(before) - {"full.mp3"} & set(after)


def test_withdrawal_removes_every_listening_copy_and_none_is_made_again(client, narrated, people):
    recording_id = narrated["recording_id"]
    interview_id = narrated["interview"].id
    start = "The soul just wrote Svetlana on the list.".index("list")
    client.post(
        f"/api/v1/segments/{_segments()[1].id}/redactions",
        json={"start": start, "end": start + 4, "reason": "a place"},
        headers=bearer(people["archivist"]),
    )
    listening_copies.build(recording_id)
    custodian = bearer(people["custodian"])
    withdrawn = client.post(
        f"/api/v1/interviews/{interview_id}/withdraw",
        json={"reason": "the narrator asked"},
        headers=custodian,
    )
    assert withdrawn.status_code == 200, withdrawn.json
    assert _copies(recording_id) == []
    # A custodian still names speakers; nothing makes a listening copy again.
    renamed = client.patch(
        f"/api/v1/interviews/{interview_id}/speakers/{narrated['speaker_id']}",
        json={"pseudonym": "Sveta", "aliases": ["Gulya"]},
        headers=custodian,
    )
    assert renamed.status_code == 200, renamed.json
    db.session.expire_all()
    assert not listening_copies.build(recording_id)
    assert _copies(recording_id) == []
    audio = client.get(f"/api/v1/interviews/{interview_id}/audio", headers=custodian)
    assert audio.status_code == 404


# -- bags ------------------------------------------------------------------------


def _files_under(folder) -> list[str]:
    return sorted(str(p) for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def test_a_bag_leaves_nothing_readable_behind(fetch_bag, narrated, people, app):
    """Bags are kept for a day, sealed: what stays on disk is the sealed zip and its
    state, never the bag's folder or an open zip (a custodian's holds what was said)."""
    import zipfile

    from archive.recordings import storage

    interview_id = narrated["interview"].id
    for who in ("custodian", "researcher"):
        response = fetch_bag(interview_id, bearer(people[who]))
        assert response.status_code == 200
        with zipfile.ZipFile(io.BytesIO(response.data)) as bundle:
            assert any(name.endswith("transcript.txt") for name in bundle.namelist())
        response.close()
    kept = [Path(p).name for p in _files_under(storage.exports_dir(interview_id))]
    assert len(kept) == 4  # two views: a sealed bag and its state each
    assert all(n.endswith((".zip.sealed", ".json")) and n.startswith("bag-") for n in kept)
    for path in storage.exports_dir(interview_id).glob("*.zip.sealed"):
        assert not zipfile.is_zipfile(path)
