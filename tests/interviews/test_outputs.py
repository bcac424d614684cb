"""The interview and recording views: which one a reader gets is the policy's
answer, and an uploaded file's name or the vocabulary reach no one else."""

from __future__ import annotations

import pytest

from archive import interviews
from archive.extensions import db
from archive.interviews.outputs import (
    InterviewStaffView,
    InterviewView,
    RecordingStatusNamerView,
    RecordingStatusView,
    interview_view,
    status_view,
)

NAME = "Aigerim Bekova"


@pytest.fixture
def named(interview):
    interviews.add_speaker(interview, pseudonym="Svetlana", role="narrator", real_name=NAME)
    interview.recordings[0].original_filename = f"{NAME}.wav"
    interview.vocabulary = f"{NAME}, Almaty"
    interview.access_level = "open"
    db.session.commit()
    return interview


@pytest.mark.parametrize(
    ("role", "view"),
    [
        ("custodian", RecordingStatusNamerView),
        ("interviewer", RecordingStatusNamerView),
        ("admin", RecordingStatusView),
        ("archivist", RecordingStatusView),
    ],
)
def test_only_those_who_name_speakers_get_the_file_name(people, named, role, view):
    recording = named.recordings[0]
    assert status_view(people[role], recording) is view
    shown = view.of(people[role], recording).as_json()["file_name"]
    expected = {"custodian": f"{NAME}.wav", "interviewer": "Svetlana.wav"}.get(role)
    assert shown == expected


@pytest.mark.parametrize(
    ("role", "view"),
    [
        ("researcher", InterviewView),
        (None, InterviewView),
        ("archivist", InterviewStaffView),
        ("interviewer", InterviewStaffView),
    ],
)
def test_readers_outside_staff_get_no_vocabulary_nor_jobs(people, named, role, view):
    reader = people[role] if role else None
    assert interview_view(reader, named) is view
    shown = view.of(reader, named).as_json()
    assert NAME not in str(shown)
    if view is InterviewView:
        assert "vocabulary" not in shown
        assert set(shown["recordings"][0]) == {"id", "position", "duration", "status"}
    else:
        assert shown["vocabulary"] == "Svetlana, Almaty"
