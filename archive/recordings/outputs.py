"""What the API shows of a recording's transcription job, as output models.

Two readers see it differently: everyone with ``see_restricted_metadata`` sees the
job (``RecordingStatusView``, ``file_name`` always null), and those who name the
speakers also see the name the file was uploaded under (``RecordingStatusNamerView``),
which may hold a real name, so it arrives hidden for the reader as the interview's
other typed fields are: the caller passes ``hide`` (``transcripts.redaction.hider``),
the transcripts package being one recordings does not import. ``status_view``
asks the policy which of the two a reader gets.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Self

from archive import policy
from archive.models import Recording
from archive.recordings import eta_seconds
from archive.schemas import View


class RecordingStatusView(View):
    """A recording's job as staff and the interviewer of record follow it."""

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
    def of(cls, recording: Recording, hide: Callable[[str], str] | None = None) -> Self:
        """The view; ``hide`` is the reader's hider, used only by views that show
        the file name."""
        probability = recording.language_probability
        return cls(
            id=recording.id,
            interview=recording.interview_id,
            position=recording.position,
            file_name=cls._file_name(recording, hide),
            status=recording.status,
            progress=round(recording.progress or 0.0, 4),
            duration=recording.duration,
            channels=recording.channels,
            sample_rate=recording.sample_rate,
            language=recording.language,
            language_probability=None if probability is None else round(probability, 3),
            error=recording.error,
            eta_seconds=eta_seconds(recording),
            sha256=recording.sha256,
            size=recording.size_bytes,
        )

    @classmethod
    def _file_name(cls, recording: Recording, hide: Callable[[str], str] | None) -> str | None:
        return None


class RecordingStatusNamerView(RecordingStatusView):
    """The job as those who name the speakers see it: with the uploaded file's name,
    names in it hidden as ``hide`` says."""

    file_name: str

    @classmethod
    def _file_name(cls, recording: Recording, hide: Callable[[str], str] | None) -> str:
        if hide is None:
            raise TypeError("the file name is shown only through the reader's hider")
        return hide(recording.original_filename or "")


def status_view(reader: Any, recording: Recording) -> type[RecordingStatusView]:
    """The view of a recording's job for ``reader``, as the policy says."""
    if policy.sees_file_names(reader, recording.interview):
        return RecordingStatusNamerView
    return RecordingStatusView
