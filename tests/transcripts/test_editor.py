"""The editor's API on the narrated archive: hidden words stay hidden and stay put.

The first segment reads "My name is Galara Bicova. Galara is what my mother called
me." (tiny.en's spelling); an archivist sees "My name is Svetlana. Svetlana is ...".
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from archive.extensions import db
from archive.models import AuditEvent, Redaction, Revision, Segment
from tests.helpers import bearer
from tests.narrated import forms_in

# Each test starts from a copy of the narrated archive (tests/narrated.py).
pytestmark = pytest.mark.narrated


def _segments() -> list[Segment]:
    db.session.expire_all()
    return list(db.session.scalars(select(Segment).order_by(Segment.start)))


def _view(client, headers, segment_id: int) -> dict:
    response = client.get(f"/api/v1/segments/{segment_id}", headers=headers)
    assert response.status_code == 200, response.json
    return response.json["segment"]


@pytest.fixture
def archivist(people):
    return bearer(people["archivist"])


def test_editor_payload_has_labels_and_timed_words_but_no_name(client, narrated, archivist):
    interview_id = narrated["interview"].id
    response = client.get(f"/api/v1/interviews/{interview_id}/editor", headers=archivist)
    assert response.status_code == 200
    assert forms_in(response.get_data(as_text=True)) == []
    first = response.json["segments"][0]
    assert first["t"] == "My name is Svetlana. Svetlana is what my mother called me."
    # Each hidden span is a label with the time it covers; its words are not sent.
    assert [first["t"][h[0] : h[1]] for h in first["h"]] == ["Svetlana", "Svetlana"]
    # (Times come from the model's words: they differ by a few hundredths between
    # CPUs and CTranslate2 builds, so they are read from the stored words.)
    heard = [w for w in _segments()[0].words if forms_in(w["word"])]
    assert first["h"][0][2:4] == [heard[0]["start"], heard[1]["end"]]
    spelled = [first["t"][w[0] : w[1]] for w in first["w"]]
    assert spelled == ["My", "name", "is", "is", "what", "my", "mother", "called", "me."]
    assert response.json["speakers"][0]["name"] == "Svetlana"


def test_editor_page_loads_everything_at_once_without_names(client, narrated, people):
    client.login_as(people["archivist"])
    page = client.get(f"/interviews/{narrated['interview'].id}/edit")
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'id="editor-data"' in body and "what my mother called me" in body
    assert forms_in(body) == []
    assert "no-store" in page.headers["Cache-Control"]


def test_editing_around_a_label_keeps_the_name_underneath(client, narrated, archivist, people):
    segment = _segments()[0]
    response = client.patch(
        f"/api/v1/segments/{segment.id}",
        json={
            "parts": [
                "My name is ",
                {"hidden": 0},
                ". ",
                {"hidden": 1},
                " is what mama called me.",
            ],
            "version": 1,
        },
        headers=archivist,
    )
    assert response.status_code == 200, response.json
    assert response.json["segment"]["t"] == "My name is Svetlana. Svetlana is what mama called me."
    assert forms_in(response.get_data(as_text=True)) == []
    stored = _segments()[0]
    assert stored.text == "My name is Galara Bicova. Galara is what mama called me."
    assert stored.version == 2
    # The custodian reads what was spoken, with the correction.
    custodian = bearer(people["custodian"])
    assert "Galara is what mama" in _view(client, custodian, segment.id)["t"]


def test_plain_text_over_hidden_words_is_refused(client, narrated, archivist):
    segment = _segments()[0]
    response = client.patch(
        f"/api/v1/segments/{segment.id}",
        json={"text": "My name is Svetlana. Svetlana is what my mother called me."},
        headers=archivist,
    )
    assert response.status_code == 422
    assert "hidden words you do not see" in response.json["error"]
    assert _segments()[0].text.startswith("My name is Galara Bicova.")
    assert _segments()[0].version == 1


@pytest.mark.parametrize(
    "parts, message",
    [
        (["x", {"hidden": 5}], "hidden span of this version"),
        ([{"hidden": 1}, {"hidden": 0}], "once, in order"),
        ([{"hidden": 0}, {"hidden": 0}], "once, in order"),
        ("My name", "parts must be a list"),
    ],
)
def test_bad_parts_change_nothing(client, narrated, archivist, parts, message):
    segment = _segments()[0]
    response = client.patch(
        f"/api/v1/segments/{segment.id}", json={"parts": parts}, headers=archivist
    )
    assert response.status_code == 422
    assert message in response.json["error"]
    assert _segments()[0].version == 1
    assert db.session.scalar(select(Revision).where(Revision.version == 2)) is None


def test_an_edit_to_an_old_version_is_refused_and_kept_apart(client, narrated, archivist):
    segment = _segments()[1]
    first = client.patch(
        f"/api/v1/segments/{segment.id}",
        json={"parts": ["The soldier wrote ", {"hidden": 0}, " on the list."], "version": 1},
        headers=archivist,
    )
    assert first.status_code == 200
    late = client.patch(
        f"/api/v1/segments/{segment.id}",
        json={"parts": ["Someone else's words."], "version": 1},
        headers=archivist,
    )
    assert late.status_code == 409
    assert "now version 2" in late.json["error"]
    assert _segments()[1].text == "The soldier wrote Bicova on the list."


def test_split_at_the_cursor_makes_two_segments_timed_by_their_words(client, narrated, archivist):
    segment = _segments()[1]
    text = "The soul just wrote Svetlana on the list. Everyone you Svetlana in our street."
    at = text.index("Everyone")
    everyone = next(w for w in segment.words if w["word"].strip() == "Everyone")
    response = client.post(
        f"/api/v1/segments/{segment.id}/split", json={"at": at, "version": 1}, headers=archivist
    )
    assert response.status_code == 201, response.json
    head, tail = response.json["segments"]
    assert head["t"] == "The soul just wrote Svetlana on the list."
    assert tail["t"] == "Everyone you Svetlana in our street."
    assert head["e"] == tail["s"] == everyone["start"]  # "Everyone" begins there
    assert forms_in(response.get_data(as_text=True)) == []
    first, second = _segments()[1:3]
    assert first.text == "The soul just wrote Bicova on the list."
    assert second.text == "Everyone you Galara Bicova in our street."
    assert second.words[0]["word"] == " Everyone"
    assert second.speaker_id == first.speaker_id
    kinds = db.session.scalars(select(Revision.kind).where(Revision.segment_id == second.id))
    assert list(kinds) == ["split"]
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "segment_split"))


def test_split_inside_a_label_snaps_before_the_hidden_words(client, narrated, archivist):
    segment = _segments()[0]
    inside = len("My name is Sve")
    response = client.post(
        f"/api/v1/segments/{segment.id}/split", json={"at": inside}, headers=archivist
    )
    assert response.status_code == 201
    head, tail = response.json["segments"]
    assert head["t"] == "My name is"
    assert tail["t"].startswith("Svetlana. Svetlana is")
    assert _segments()[1].text.startswith("Galara Bicova.")


@pytest.mark.parametrize("at", [0, 200, "3"])
def test_split_needs_a_position_inside_the_text(client, narrated, archivist, at):
    segment = _segments()[0]
    response = client.post(
        f"/api/v1/segments/{segment.id}/split", json={"at": at}, headers=archivist
    )
    assert response.status_code == 422
    assert len(_segments()) == 2


def test_merge_joins_text_words_redactions_and_history(client, narrated, archivist, people):
    first, second = _segments()
    second_end = second.end
    marked = client.post(
        f"/api/v1/segments/{second.id}/redactions",
        json={"start": 0, "end": 8, "reason": "identifies a guard"},
        headers=archivist,
    )
    assert marked.status_code == 201
    parts = [{"hidden": 0}, " just wrote ", {"hidden": 1}, " on the list. Everyone knew "]
    corrected = client.patch(
        f"/api/v1/segments/{second.id}",
        json={"parts": [*parts, {"hidden": 2}, " in our street."], "version": 1},
        headers=archivist,
    )
    assert corrected.status_code == 200, corrected.json
    response = client.post(
        f"/api/v1/segments/{first.id}/merge", json={"version": 1}, headers=archivist
    )
    assert response.status_code == 200, response.json
    assert response.json["removed"] == second.id
    merged = _segments()
    assert len(merged) == 1
    joined = merged[0]
    assert joined.end == second_end
    assert "me. The soul" in joined.text
    assert joined.text.endswith("Everyone knew Galara Bicova in our street.")
    assert len(joined.words) == 12 + 15
    # The marked span moved with its words, and still hides them.
    redaction = db.session.scalar(select(Redaction))
    assert redaction.segment_id == joined.id
    assert joined.text[redaction.start_char : redaction.end_char] == "The soul"
    assert "[redacted] just wrote Svetlana" in response.json["segment"]["t"]
    history = client.get(f"/api/v1/segments/{joined.id}/revisions", headers=archivist).json
    kinds = [r["kind"] for r in history["revisions"]]
    assert kinds == ["merge", "joined", "joined", "machine"]
    assert forms_in(str(history)) == []


def test_the_last_segment_has_nothing_to_merge_with(client, narrated, archivist):
    last = _segments()[-1]
    response = client.post(f"/api/v1/segments/{last.id}/merge", json={}, headers=archivist)
    assert response.status_code == 422
    assert "nothing follows" in response.json["error"]
    assert len(_segments()) == 2


def test_redacting_a_selection_of_the_rendering_hides_those_words(client, narrated, archivist):
    segment = _segments()[1]
    text = "The soul just wrote Svetlana on the list. Everyone you Svetlana in our street."
    start = text.index("our street")
    response = client.post(
        f"/api/v1/segments/{segment.id}/redactions",
        json={
            "rendered": True,
            "start": start,
            "end": start + len("our street"),
            "reason": "address",
        },
        headers=archivist,
    )
    assert response.status_code == 201, response.json
    assert response.json["segment"]["t"].endswith("Svetlana in [redacted].")
    stored = _segments()[1]
    redaction = db.session.scalar(select(Redaction))
    assert stored.text[redaction.start_char : redaction.end_char] == "our street"


def test_a_selection_ending_inside_a_label_covers_the_whole_name(client, narrated, archivist):
    segment = _segments()[0]
    response = client.post(
        f"/api/v1/segments/{segment.id}/redactions",
        json={"rendered": True, "start": 3, "end": 14, "reason": "whole sentence"},
        headers=archivist,
    )
    assert response.status_code == 201
    redaction = db.session.scalar(select(Redaction))
    assert _segments()[0].text[redaction.start_char : redaction.end_char] == "name is Galara Bicova"


def test_archivist_renames_a_speaker_once_but_cannot_name_them(client, narrated, archivist):
    interview_id, speaker_id = narrated["interview"].id, narrated["speaker_id"]
    url = f"/api/v1/interviews/{interview_id}/speakers/{speaker_id}"
    renamed = client.patch(url, json={"pseudonym": "Sveta"}, headers=archivist)
    assert renamed.status_code == 200
    transcript = client.get(f"/api/v1/interviews/{interview_id}/editor", headers=archivist).json
    assert transcript["segments"][0]["t"] == "My name is Sveta. Sveta is what my mother called me."
    named = client.patch(url, json={"real_name": "Someone Else"}, headers=archivist)
    assert named.status_code == 404
    from archive.interviews import identity
    from archive.models import Speaker

    db.session.expire_all()
    assert identity.real_name(db.session.get(Speaker, speaker_id)) == "Gulnara Bekova"


@pytest.mark.parametrize("who", ["researcher", "interviewer", "visitor"])
def test_readers_cannot_open_the_editor_nor_change_segments(client, narrated, people, who):
    headers = bearer(people[who]) if who != "visitor" else {}
    interview_id = narrated["interview"].id
    segment = _segments()[0]
    calls = [
        client.get(f"/api/v1/interviews/{interview_id}/editor", headers=headers),
        client.get(f"/api/v1/segments/{segment.id}", headers=headers),
        client.patch(f"/api/v1/segments/{segment.id}", json={"parts": ["x"]}, headers=headers),
        client.post(f"/api/v1/segments/{segment.id}/split", json={"at": 3}, headers=headers),
        client.post(f"/api/v1/segments/{segment.id}/merge", json={}, headers=headers),
    ]
    assert {c.status_code for c in calls} <= {401, 404}
    for call in calls:
        assert forms_in(call.get_data(as_text=True)) == []
    assert [s.version for s in _segments()] == [1, 1]
    if who != "visitor":
        client.login_as(people[who])
        assert client.get(f"/interviews/{interview_id}/edit").status_code == 404


def test_a_corrected_word_keeps_the_time_of_the_word_it_replaced(client, narrated, archivist):
    recording = narrated["interview"].recordings[0]
    copy_version = recording.redaction_version
    segment = _segments()[0]
    before = {w["word"].strip(): w for w in segment.words}
    mother, called = before["mother"], before["called"]
    response = client.patch(
        f"/api/v1/segments/{segment.id}",
        json={
            "parts": [
                "My name is ",
                {"hidden": 0},
                ". ",
                {"hidden": 1},
                " is what my mama and papa called me.",
            ]
        },
        headers=archivist,
    )
    assert response.status_code == 200
    words = {
        w["word"].strip(): (w["start"], w["end"], w["probability"]) for w in _segments()[0].words
    }
    # "mama and papa" share the time of "mother", the word they replaced.
    step = (mother["end"] - mother["start"]) / 3
    assert words["mama"] == (
        mother["start"],
        round(mother["start"] + step, 3),
        1.0,
    )
    assert words["papa"][1] == mother["end"]
    assert words["called"][:2] == (called["start"], called["end"])
    spelled = [response.json["segment"]["t"][w[0] : w[1]] for w in response.json["segment"]["w"]]
    assert "mama" in spelled and "papa" in spelled
    # What is toned out did not move: the listening copy stands, nothing is remade.
    db.session.refresh(recording)
    assert recording.redaction_version == copy_version
