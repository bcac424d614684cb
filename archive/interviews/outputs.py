"""What each kind of reader is shown of an interview, its speakers and its
recordings, as output models.

One model per view (``archive.schemas.View``), in the manner of CTFd's schema
views: the JSON API builds its output from these and never picks fields by hand.
Which view a reader gets is the policy's answer (``interview_view``,
``status_view``), never a role compared here. A speaker's ``name`` is always
``identity.display_name``: the real name only where the agreement names the
speaker and the policy lets the reader see it. Every text a person typed (title,
summary, place, vocabulary, an uploaded file's name) goes through the reader's
hider (``transcripts.redaction.hider``), so names are hidden as in the transcript.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any, Self

from pydantic import SerializeAsAny

from archive import policy
from archive.interviews import access_status, identity
from archive.models import Interview, Recording, Speaker
from archive.schemas import View
from archive.transcripts import redaction

#: From the text as typed to the text as one reader may read it.
Hider = Callable[[str], str]


class SpeakerView(View):
    """A speaker as everyone who may see the interview sees it."""

    id: int
    label: str
    name: str
    role: str

    @classmethod
    def of(cls, reader: Any, speaker: Speaker) -> Self:
        return cls.model_validate(
            {
                "id": speaker.id,
                "label": speaker.label,
                "name": identity.display_name(reader, speaker),
                "role": speaker.role,
                **cls._more(speaker),
            }
        )

    @classmethod
    def _more(cls, speaker: Speaker) -> dict[str, Any]:
        return {}


class SpeakerEditorView(SpeakerView):
    """A speaker as those who name speakers see it (``rename_speaker``,
    ``manage_speakers``): the pseudonym, and whether a real name is on record
    (never the name itself; that takes a reveal)."""

    pseudonym: str
    has_real_name: bool

    @classmethod
    def _more(cls, speaker: Speaker) -> dict[str, Any]:
        return {
            "pseudonym": speaker.pseudonym,
            "has_real_name": bool(identity.protected_names(speaker)),
        }


class RecordingView(View):
    """A recording as readers without ``see_restricted_metadata`` see it."""

    id: int
    position: int
    duration: float | None
    status: str

    @classmethod
    def of(cls, recording: Recording) -> Self:
        return cls.model_validate(recording, from_attributes=True)


class RecordingStatusView(View):
    """A recording's job as staff and the interviewer of record follow it
    (``see_restricted_metadata``); ``file_name`` is always null here."""

    id: int
    interview: int
    position: int
    file_name: str | None
    status: str
    progress: float
    duration: float | None
    channels: int | None
    sample_rate: int | None
    language: str | None
    language_probability: float | None
    error: str | None
    eta_seconds: float | None
    sha256: str
    size: int | None

    @classmethod
    def of(cls, reader: Any, recording: Recording, hide: Hider | None = None) -> Self:
        """``hide``: the reader's hider for the recording's interview, when the
        caller already holds it (one per interview, not one per recording)."""
        probability = recording.language_probability
        return cls(
            id=recording.id,
            interview=recording.interview_id,
            position=recording.position,
            file_name=cls._file_name(reader, recording, hide),
            status=recording.status,
            progress=round(recording.progress or 0.0, 4),
            duration=recording.duration,
            channels=recording.channels,
            sample_rate=recording.sample_rate,
            language=recording.language,
            language_probability=None if probability is None else round(probability, 3),
            error=recording.error,
            eta_seconds=recording.eta_seconds,
            sha256=recording.sha256,
            size=recording.size_bytes,
        )

    @classmethod
    def _file_name(cls, reader: Any, recording: Recording, hide: Hider | None) -> str | None:
        return None


class RecordingStatusNamerView(RecordingStatusView):
    """The job as those who name the speakers see it (``policy.sees_file_names``):
    with the name the file was uploaded under, which may hold a real name, hidden
    for the reader as the interview's other typed fields are."""

    file_name: str

    @classmethod
    def _file_name(cls, reader: Any, recording: Recording, hide: Hider | None) -> str:
        hide = hide or redaction.hider(reader, recording.interview)
        return hide(recording.original_filename or "")


def status_view(reader: Any, recording: Recording) -> type[RecordingStatusView]:
    """The view of a recording's job for ``reader``, as the policy says."""
    if policy.sees_file_names(reader, recording.interview):
        return RecordingStatusNamerView
    return RecordingStatusView


class InterviewSummaryView(View):
    """An interview's catalogue entry, as everyone who may list it sees it."""

    id: int
    title: str
    summary: str
    recorded_on: date | None
    place: str
    language: str | None
    languages: list[str]
    collection: int | None
    access_level: str
    access: str
    duration: float
    embargo_until: date | None

    @classmethod
    def of(cls, reader: Any, interview: Interview) -> Self:
        return cls.model_validate(
            cls._fields(reader, interview, redaction.hider(reader, interview))
        )

    @classmethod
    def _fields(cls, reader: Any, interview: Interview, hide: Hider) -> dict[str, Any]:
        return {
            "id": interview.id,
            "title": hide(interview.title),
            "summary": hide(interview.summary or ""),
            "recorded_on": interview.recorded_on,
            "place": hide(interview.place or ""),
            "language": interview.language,
            "languages": interview.language_codes,
            "collection": interview.collection_id,
            "access_level": interview.access_level,
            "access": access_status(interview),
            "duration": sum(r.duration or 0 for r in interview.recordings),
            "embargo_until": interview.embargo_until if policy.is_embargoed(interview) else None,
        }


class InterviewView(InterviewSummaryView):
    """An interview's page in the API as readers without ``see_restricted_metadata``
    see it: speakers by the name the policy allows, recordings without their jobs."""

    workflow_status: str
    speakers: list[SpeakerView]
    recordings: list[RecordingView]

    @classmethod
    def _fields(cls, reader: Any, interview: Interview, hide: Hider) -> dict[str, Any]:
        return {
            **super()._fields(reader, interview, hide),
            "workflow_status": interview.workflow_status,
            "speakers": [SpeakerView.of(reader, speaker) for speaker in interview.speakers],
            "recordings": cls._recordings(reader, interview, hide),
        }

    @classmethod
    def _recordings(cls, reader: Any, interview: Interview, hide: Hider) -> list[View]:
        return [RecordingView.of(recording) for recording in interview.recordings]


class InterviewStaffView(InterviewView):
    """The page as staff and the interviewer of record see it
    (``see_restricted_metadata``): each recording's job (with its file name for
    those who name the speakers), the vocabulary, the speakers expected."""

    recordings: list[SerializeAsAny[RecordingStatusView]]
    vocabulary: str
    expected_speakers: int | None

    @classmethod
    def _fields(cls, reader: Any, interview: Interview, hide: Hider) -> dict[str, Any]:
        return {
            **super()._fields(reader, interview, hide),
            "vocabulary": hide(interview.vocabulary or ""),
            "expected_speakers": interview.expected_speakers,
        }

    @classmethod
    def _recordings(cls, reader: Any, interview: Interview, hide: Hider) -> list[View]:
        return [
            status_view(reader, recording).of(reader, recording, hide)
            for recording in interview.recordings
        ]


def interview_view(reader: Any, interview: Interview) -> type[InterviewView]:
    """The view of an interview's page for ``reader``, as the policy says."""
    if policy.can(reader, "see_restricted_metadata", interview):
        return InterviewStaffView
    return InterviewView
