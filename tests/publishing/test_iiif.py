"""IIIF Presentation 3 manifests: built by iiif-prezi3, read back by its pydantic
models, and obeying the policy like every other rendering of an interview."""

from __future__ import annotations

import json

import pytest
import webvtt
from iiif_prezi3 import Manifest

from archive import consent, unit_of_work
from archive.extensions import db
from archive.models import Recording, Segment
from archive.search import indexing
from tests.helpers import bearer
from tests.narrated import forms_in

# Each test starts from a copy of the narrated archive (tests/narrated.py).
pytestmark = pytest.mark.narrated


def _manifest_url(interview) -> str:
    return f"/iiif/interviews/{interview.id}/manifest.json"


def _second_part(interview) -> Recording:
    """A second recording of the interview, 8 s long, whose words name the narrator."""
    recording = Recording(
        interview_id=interview.id,
        position=2,
        master_key=f"masters/{interview.id}-2.flac",
        sha256="0" * 64,
        size_bytes=1,
        duration=8.0,
        status="done",
    )
    db.session.add(recording)
    db.session.flush()
    speaker = interview.speakers[0]
    db.session.add(
        Segment(
            recording_id=recording.id,
            speaker_id=speaker.id,
            start=1.0,
            end=3.5,
            text="Gulnara Bekova came back in spring.",
        )
    )
    indexing.reindex(db.session, interview)
    db.session.commit()
    return recording


def _points(client, interview, people, first_length: float) -> None:
    archivist = bearer(people["archivist"])
    for at, title in ((0.5, "Gulnara Bekova gives her name"), (first_length + 2, "Spring")):
        response = client.post(
            f"/api/v1/interviews/{interview.id}/index-points",
            json={"time": at, "title": title, "keywords": "list", "synopsis": ""},
            headers=archivist,
        )
        assert response.status_code == 201, response.json


@pytest.fixture
def two_parts(client, narrated, people):
    interview = narrated["interview"]
    first = db.session.get(Recording, narrated["recording_id"])
    second = _second_part(interview)
    _points(client, interview, people, first.duration)
    return interview, first, second


def _read(client, url, **headers) -> tuple[dict, Manifest]:
    response = client.get(url, headers=headers)
    assert response.status_code == 200, response.data[:300]
    assert response.headers["Content-Type"].startswith("application/ld+json")
    assert "presentation/3/context.json" in response.headers["Content-Type"]
    data = response.json if response.is_json else json.loads(response.data)
    # The library's own models read it back: a manifest that does not validate
    # raises here.
    return data, Manifest(**data)


def test_a_visitor_gets_one_canvas_per_part_the_audio_and_the_transcript(client, two_parts):
    interview, first, second = two_parts
    data, model = _read(client, _manifest_url(interview))
    assert data["type"] == "Manifest"
    assert data["id"] == f"http://localhost{_manifest_url(interview)}"
    assert len(model.items) == 2
    canvases = data["items"]
    assert [c["duration"] for c in canvases] == [pytest.approx(first.duration), 8.0]
    for canvas, recording in zip(canvases, (first, second), strict=True):
        (painting,) = canvas["items"][0]["items"]
        assert painting["motivation"] == "painting"
        assert painting["target"] == canvas["id"]
        assert painting["body"]["type"] == "Sound"
        assert painting["body"]["format"] == "audio/mpeg"
        assert painting["body"]["id"].endswith(
            f"/api/v1/interviews/{interview.id}/audio?recording={recording.id}"
        )
        (supplementing,) = canvas["annotations"][0]["items"]
        assert supplementing["motivation"] == "supplementing"
        assert supplementing["body"]["format"] == "text/vtt"
    # The listening copy of the first part plays, for a visitor, from the manifest.
    audio = client.get(canvases[0]["items"][0]["items"][0]["body"]["id"].split("localhost")[1])
    assert audio.status_code == 200 and audio.mimetype == "audio/mpeg"
    audio.close()
    # Each canvas's WebVTT is the caller's rendering of its own part, timed from its start.
    vtt_url = canvases[1]["annotations"][0]["items"][0]["body"]["id"].split("localhost")[1]
    vtt = client.get(vtt_url).get_data(as_text=True)
    cues = webvtt.from_string(vtt)
    assert [(c.start, c.raw_text) for c in cues] == [
        ("00:00:01.000", "<v Svetlana>Svetlana came back in spring.")
    ]
    assert forms_in(vtt) == []
    first_vtt = client.get(
        canvases[0]["annotations"][0]["items"][0]["body"]["id"].split("localhost")[1]
    ).get_data(as_text=True)
    assert "spring" not in first_vtt and "<v Svetlana>" in first_vtt
    # The index points are ranges on the canvas of their part, timed within it.
    (contents,) = data["structures"]
    ranges = contents["items"]
    assert [r["label"] for r in ranges] == [
        {"none": ["Svetlana gives her name"]},
        {"none": ["Spring"]},
    ]
    assert ranges[0]["items"] == [
        {"id": f"{canvases[0]['id']}#t=0.5,{first.duration:.3f}".rstrip("0"), "type": "Canvas"}
    ]
    assert ranges[1]["items"][0]["id"] == f"{canvases[1]['id']}#t=2,8"
    body = json.dumps(data)
    assert forms_in(body) == []
    assert "Svetlana" in body  # the narrator, by pseudonym, in metadata and the citation
    assert data["requiredStatement"]["label"] == {"en": ["Cite as"]}


def test_no_audio_body_when_the_agreement_allows_reading_only(client, two_parts):
    interview, _first, _second = two_parts
    interview.audio_permission = "none"
    db.session.commit()
    data, _model = _read(client, _manifest_url(interview))
    for canvas in data["items"]:
        assert canvas["items"][0]["items"] == []
        assert canvas["annotations"][0]["items"][0]["motivation"] == "supplementing"
    assert "/audio" not in json.dumps(data)


def test_the_manifest_is_404_for_whoever_may_not_read(client, narrated, people):
    interview = narrated["interview"]
    url = _manifest_url(interview)
    consent.record_agreement(people["custodian"], interview, {"access_level": "catalogue"})
    unit_of_work.commit()
    assert client.get(url).status_code == 404
    assert client.get(url, headers=bearer(people["researcher"])).status_code == 404
    assert client.get(url, headers=bearer(people["archivist"])).status_code == 200
    assert client.get("/iiif/interviews/999999/manifest.json").status_code == 404
    assert client.get(f"/iiif/interviews/{interview.id}/player").status_code == 404


def test_a_withdrawn_interview_has_no_manifest(client, narrated, people):
    interview = narrated["interview"]
    url = _manifest_url(interview)
    assert client.get(url).status_code == 200
    consent.withdraw(people["custodian"], interview, "The narrator asked.")
    unit_of_work.commit()
    for headers in ({}, bearer(people["researcher"]), bearer(people["archivist"])):
        assert client.get(url, headers=headers).status_code == 404
        assert (
            client.get(f"/iiif/interviews/{interview.id}/player", headers=headers).status_code
            == 404
        )


def test_a_custodian_reads_the_names_a_visitor_does_not(client, two_parts, people):
    interview, _first, _second = two_parts
    visitor, _ = _read(client, _manifest_url(interview))
    custodian, _ = _read(client, _manifest_url(interview), **bearer(people["custodian"]))
    labels = [r["label"] for r in custodian["structures"][0]["items"]]
    assert labels[0] == {"none": ["Gulnara Bekova gives her name"]}
    assert forms_in(json.dumps(visitor)) == []


def test_a_part_that_is_not_of_the_interview_is_404(client, narrated):
    interview = narrated["interview"]
    url = f"/api/v1/interviews/{interview.id}/transcript.vtt?recording=999999"
    assert client.get(url).status_code == 404
