"""A name matcher upgrade reaches the search index and the listening copies.

Pages render with the matcher of the running code, but the index and the redacted
audio are made ahead. An interview indexed by an older matcher (one that missed a
near spelling of the narrator's name) keeps that name searchable and audible until
the catch-up (the worker's task, at its start and hourly, or ``flask search
reindex``) reindexes it; edits and other whole reindexes made before it must not
leave the audio behind either.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pytest
from cachetools import LRUCache
from sqlalchemy import select

from archive import consent, interviews, jobs, queue, recordings, unit_of_work
from archive.extensions import db
from archive.interviews import speakers
from archive.models import Interview, Recording, Segment
from archive.recordings import audio, listening_copies, storage
from archive.search import catch_up, indexing
from archive.transcripts import redaction, transcript_edits
from archive.transcripts.names import matching as name_matching
from archive.transcripts.names.matching import NameMatcher
from tests.helpers import bearer, tone_file

CURRENT = name_matching.MATCHER_VERSION
# tiny.en's way of writing "Gulnara": the matcher of this code finds it (a near
# spelling), the older one below did not.
SAID = "Golnara told us to run."
NAME_AT = (0.2, 0.6)  # when "Golnara" is said


@contextmanager
def older_matcher() -> Iterator[None]:
    """The code before the upgrade: matcher version ``CURRENT - 1``, which found
    names exactly, inflected and transliterated but missed near spellings."""
    real_find = NameMatcher.find

    def find(self, text):
        return [m for m in real_find(self, text) if m.how not in ("fuzzy", "phonetic")]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(name_matching, "MATCHER_VERSION", CURRENT - 1)
        patch.setattr(NameMatcher, "find", find)
        patch.setattr(redaction, "_MATCHERS", LRUCache(maxsize=8))
        yield


@pytest.fixture
def upgraded(app, people, tmp_path, run_tasks):
    """An open interview whose narrator's name the older matcher missed in the
    transcript: indexed, and its listening copies made, before the upgrade."""
    with older_matcher():
        item = interviews.create_interview(people["interviewer"], {"title": "Square"})
        with storage.copy_to_incoming(tone_file(tmp_path / "tone.wav")) as temp:
            recording = recordings.add_recording(None, item, temp, "tone.wav")
        narrator = interviews.add_speaker(
            item, pseudonym="Svetlana", role="narrator", real_name="Gulnara Bekova"
        )
        for start, said, times in (
            (0.2, SAID, [NAME_AT, (0.6, 0.7), (0.7, 0.8), (0.8, 0.9), (0.9, 1.0)]),
            (
                1.05,
                "The square was full.",
                [(1.05, 1.15), (1.15, 1.25), (1.25, 1.35), (1.35, 1.45)],
            ),
        ):
            db.session.add(
                Segment(
                    recording_id=recording.id,
                    speaker_id=narrator.id,
                    start=start,
                    end=times[-1][1],
                    text=said,
                    words=[
                        {"start": a, "end": b, "word": " " + word, "probability": 0.9}
                        for word, (a, b) in zip(said.split(), times, strict=True)
                    ],
                )
            )
        recording.status = "done"
        db.session.commit()
        indexing.reindex(db.session, item)
        unit_of_work.commit()
        consent.record_agreement(
            people["custodian"], item, {"access_level": "open", "audio": "redacted"}
        )
        unit_of_work.commit()
        assert run_tasks("build_access_copies") == 1
        recording = _recording(recording.id)
        assert listening_copies.path_for(recording, "redacted")
        assert db.session.get(Interview, item.id).names_matched_with == CURRENT - 1
    return {"interview_id": item.id, "recording_id": recording.id}


def _found(client, user, query: str) -> list[str]:
    """What a researcher's search finds, as the API answers it."""
    answer = client.get(f"/api/v1/search?q={query}", headers=bearer(user))
    assert answer.status_code == 200
    return [hit["snippet"] for hit in answer.json["hits"]]


def _recording(recording_id: int) -> Recording:
    db.session.expire_all()
    return db.session.get(Recording, recording_id)


def _tone_share(chunk: np.ndarray) -> float:
    """How much of the chunk's energy is the listening copies' 1 kHz tone."""
    spectrum = np.abs(np.fft.rfft(chunk * np.hanning(len(chunk)))) ** 2
    freqs = np.fft.rfftfreq(len(chunk), 1 / listening_copies.RATE)
    band = np.abs(freqs - listening_copies.TONE_HZ) < 40
    return float(spectrum[band].sum() / spectrum.sum())


def _name_heard_as_tone(recording: Recording) -> float:
    path = listening_copies.path_for(recording, "redacted")
    assert path is not None, "no redacted copy to serve"
    samples = audio.decode(path, sample_rate=listening_copies.RATE)
    rate = listening_copies.RATE
    return _tone_share(samples[int((NAME_AT[0] + 0.05) * rate) : int((NAME_AT[1] - 0.05) * rate)])


def test_before_the_catch_up_the_older_index_and_audio_still_hold_the_name(
    client, people, upgraded
):
    # The upgrade is the premise: pages already hide the name, the rest does not.
    page = client.get(
        f"/api/v1/interviews/{upgraded['interview_id']}/transcript",
        headers=bearer(people["researcher"]),
    ).get_data(as_text=True)
    assert "Golnara" not in page and "Svetlana told us" in page
    assert _found(client, people["researcher"], "Golnara")
    assert _name_heard_as_tone(_recording(upgraded["recording_id"])) < 0.2


def test_the_catch_up_task_hides_the_name_from_search_and_tones_it_out(
    client, people, upgraded, run_tasks
):
    copy_version = _recording(upgraded["recording_id"]).redaction_version
    queue.enqueue_name_catch_up()
    assert run_tasks("catch_up_names") == 1
    researcher = people["researcher"]
    assert _found(client, researcher, "Golnara") == []
    assert [s for s in _found(client, researcher, "Svetlana") if "told us" in s]
    recording = _recording(upgraded["recording_id"])
    assert recording.redaction_version > copy_version
    assert listening_copies.path_for(recording, "redacted") is None  # never the old one
    assert run_tasks("build_access_copies") >= 1
    assert _name_heard_as_tone(_recording(upgraded["recording_id"])) > 0.9
    assert db.session.get(Interview, upgraded["interview_id"]).names_matched_with == CURRENT


def test_a_second_catch_up_reindexes_nothing(app, upgraded, run_tasks, monkeypatch):
    assert catch_up.catch_up() == catch_up.CatchUp(reindexed=1, moved=1)
    run_tasks("build_access_copies")
    version = _recording(upgraded["recording_id"]).redaction_version
    calls = []
    real = indexing.reindex
    monkeypatch.setattr(indexing, "reindex", lambda *a: calls.append(a) or real(*a))
    queue.enqueue_name_catch_up()
    assert run_tasks("catch_up_names") == 1
    assert calls == []
    assert run_tasks("build_access_copies") == 0
    recording = _recording(upgraded["recording_id"])
    assert recording.redaction_version == version
    assert listening_copies.path_for(recording, "redacted")


def test_the_command_catches_up_with_a_progress_line(client, people, runner, upgraded):
    result = runner.invoke(args=["search", "reindex", "--stale-only"])
    assert result.exit_code == 0, result.output
    interview_id = upgraded["interview_id"]
    assert f"[1/1] interview {interview_id}: names moved, listening copies queued" in result.output
    assert f"1 interview(s) reindexed with name matcher version {CURRENT}" in result.output
    assert _found(client, people["researcher"], "Golnara") == []
    assert listening_copies.path_for(_recording(upgraded["recording_id"]), "redacted") is None
    again = runner.invoke(args=["search", "reindex", "--stale-only"])
    assert again.exit_code == 0
    assert "[1/" not in again.output and "0 interview(s) reindexed" in again.output


def test_the_command_without_stale_only_reindexes_every_interview_not_withdrawn(
    app, people, runner, upgraded
):
    runner.invoke(args=["search", "reindex", "--stale-only"])
    other = interviews.create_interview(people["interviewer"], {"title": "Later"})
    unit_of_work.commit()
    everything = runner.invoke(args=["search", "reindex"])
    assert everything.exit_code == 0
    assert f"[1/2] interview {upgraded['interview_id']}: reindexed" in everything.output
    assert f"[2/2] interview {other.id}: reindexed" in everything.output


def test_an_interview_that_fails_is_left_behind_for_the_next_run_and_the_rest_go_on(
    client, people, runner, upgraded, monkeypatch
):
    later = interviews.create_interview(people["interviewer"], {"title": "Later"})
    unit_of_work.commit()
    real = indexing.reindex

    def deadlocked(session, interview):
        if interview.id == upgraded["interview_id"]:
            raise RuntimeError("deadlock detected")
        return real(session, interview)

    monkeypatch.setattr(indexing, "reindex", deadlocked)
    failed = runner.invoke(args=["search", "reindex", "--stale-only"])
    assert failed.exit_code == 1
    assert f"interview {upgraded['interview_id']}: FAILED" in failed.output
    assert f"[2/2] interview {later.id}: reindexed" in failed.output
    db.session.expire_all()
    assert db.session.get(Interview, later.id).names_matched_with == CURRENT
    assert db.session.get(Interview, upgraded["interview_id"]).names_matched_with == CURRENT - 1
    monkeypatch.setattr(indexing, "reindex", real)
    assert catch_up.catch_up() == catch_up.CatchUp(reindexed=1, moved=1)
    assert _found(client, people["researcher"], "Golnara") == []


def test_an_edit_before_the_catch_up_catches_the_whole_interview_up(
    client, people, upgraded, run_tasks
):
    # Another segment is corrected after the upgrade: the edit reindexes the whole
    # interview rather than that segment alone, and the copy is made again.
    other = db.session.scalars(select(Segment).where(Segment.start > 1)).one()
    copy_version = _recording(upgraded["recording_id"]).redaction_version
    transcript_edits.edit_segment(
        people["archivist"], other, {"text": "The square was full of people."}
    )
    unit_of_work.commit()
    assert _found(client, people["researcher"], "Golnara") == []
    assert _recording(upgraded["recording_id"]).redaction_version > copy_version
    assert run_tasks("build_access_copies") >= 1
    assert _name_heard_as_tone(_recording(upgraded["recording_id"])) > 0.9
    assert catch_up.catch_up() == catch_up.CatchUp(reindexed=0, moved=0)


def test_a_whole_reindex_that_ignores_its_answer_still_outdates_the_audio(
    app, people, upgraded, run_tasks
):
    # Renaming the speaker (its pseudonym alone) reindexes the interview and does not
    # itself outdate the copy: names moved since the older matcher, so reindex does.
    narrator = db.session.get(Interview, upgraded["interview_id"]).speakers[0]
    speakers.update_speaker(people["archivist"], narrator, {"pseudonym": "Sveta"})
    unit_of_work.commit()
    assert listening_copies.path_for(_recording(upgraded["recording_id"]), "redacted") is None
    run_tasks("build_access_copies")
    assert _name_heard_as_tone(_recording(upgraded["recording_id"])) > 0.9


def test_a_job_that_commits_itself_still_has_the_audio_made_again(app, upgraded, run_tasks):
    # As the translation job ends (the first whole reindex after the upgrade):
    # reindex, then a plain commit; the copies it outdated are queued all the same.
    with jobs._app_context():
        item = db.session.get(Interview, upgraded["interview_id"])
        assert indexing.reindex(db.session, item)
        db.session.commit()
    assert listening_copies.path_for(_recording(upgraded["recording_id"]), "redacted") is None
    assert run_tasks("build_access_copies") == 1
    assert _name_heard_as_tone(_recording(upgraded["recording_id"])) > 0.9


def test_a_withdrawn_interview_stays_out_of_the_index(client, people, upgraded, run_tasks):
    item = db.session.get(Interview, upgraded["interview_id"])
    consent.withdraw(people["custodian"], item, "the narrator asked", confirm_title="Square")
    unit_of_work.commit()
    assert catch_up.catch_up() == catch_up.CatchUp(reindexed=0, moved=0)
    assert _found(client, people["custodian"], "Golnara") == []
    assert _found(client, people["custodian"], "Svetlana") == []
    assert run_tasks("build_access_copies") == 0
    assert not list(storage.recordings_path(f"access/{upgraded['recording_id']}").glob("*"))


def test_the_catch_up_changes_no_catalogue_datestamp(app, upgraded):
    before = db.session.get(Interview, upgraded["interview_id"]).updated_at
    catch_up.catch_up()
    db.session.expire_all()
    assert db.session.get(Interview, upgraded["interview_id"]).updated_at == before


def test_a_starting_worker_catches_up_an_interview_an_older_matcher_indexed(
    client, people, upgraded, worker
):
    queue.huey.flush()  # the recording's transcription, queued by the upload: done already
    worker.start()
    recording_id = upgraded["recording_id"]
    for _ in range(240):
        db.session.expire_all()
        item = db.session.get(Interview, upgraded["interview_id"])
        if item.names_matched_with == CURRENT and listening_copies.path_for(
            _recording(recording_id), "redacted"
        ):
            break
        time.sleep(0.25)
    else:
        pytest.fail(f"not caught up\n{worker.logs()[-4000:]}")
    assert _found(client, people["researcher"], "Golnara") == []
    assert _name_heard_as_tone(_recording(recording_id)) > 0.9
