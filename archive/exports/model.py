"""What an export is made from: a transcript already rendered for one reader.

The caller builds an :class:`ExportDocument` from the redacted rendering (the
speaker names are the display names the policy allowed, the text is redacted).
Nothing in ``archive.exports`` reads the database, identities or the policy, and
nothing in it adds words that are not in the document.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ExportSegment:
    id: int
    recording: int
    start: float  # seconds within its recording
    end: float
    offset: float  # seconds of the earlier parts of the interview (parts play one after another)
    speaker: str  # the display name already decided by the caller (a pseudonym)
    speaker_role: str  # interviewer / narrator / other
    text: str  # already redacted
    language: str | None = None  # the language it was transcribed in ("ru", "kk")

    @property
    def abs_start(self) -> float:
        """Seconds from the start of the whole interview (all parts in a row)."""
        return self.offset + self.start

    @property
    def abs_end(self) -> float:
        return self.offset + max(self.end, self.start)


@dataclass(frozen=True)
class IndexPoint:
    """One entry of an OHMS-style table of contents."""

    time: float  # seconds from the start of the whole interview
    title: str
    keywords: tuple[str, ...]
    synopsis: str
    # OHMS's other fields, where given: subjects, a place (GPS) and links.
    subjects: tuple[str, ...] = ()
    gps: str = ""  # "latitude, longitude"
    gps_zoom: str = ""
    gps_text: str = ""
    hyperlinks: tuple[tuple[str, str], ...] = ()  # (address, text)


@dataclass(frozen=True)
class ExportDocument:
    interview_id: int
    title: str
    summary: str
    recorded_on: str | None  # ISO date (YYYY-MM-DD) or free text
    place: str
    language: str | None
    collection: str | None
    duration: float  # seconds, all parts together
    citation: str
    url: str  # stable link to the interview
    speakers: tuple[tuple[str, str], ...]  # (display name, role)
    segments: tuple[ExportSegment, ...]
    index_points: tuple[IndexPoint, ...]
    access_level: str  # agreement summary for BagIt
    audio_permission: str
    languages: tuple[str, ...] = ()  # all the languages listed for the interview
    #: "original", or "translation": ``segments`` are a machine translation (every
    #: format says so: ``TRANSLATION_LABEL``).
    track: str = "original"
    #: The machine translation of the original's segments (already redacted), for
    #: formats that carry both (OHMS's alternate-language transcript).
    translation: tuple[ExportSegment, ...] = ()

    @property
    def machine_translation(self) -> bool:
        return self.track == "translation"


#: How a machine translation is labelled in every export.
TRANSLATION_LABEL = "Machine translation"
TRANSLATION_LANGUAGE = "en"
