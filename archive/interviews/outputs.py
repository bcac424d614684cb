"""What each kind of reader is shown of a speaker or a recording, as output models.

One model per view (``archive.schemas.View``), in the manner of CTFd's schema
views: the JSON API builds its output from these and never picks fields by hand.
A speaker's ``name`` is always ``identity.display_name``: the real name only where
the agreement names the speaker and the policy lets the reader see it.
"""

from __future__ import annotations

from typing import Any, Self

from archive.interviews import identity
from archive.models import Recording, Speaker
from archive.schemas import View


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
