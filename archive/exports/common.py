"""Helpers shared by the formats: speaker turns, time stamps, whitespace."""

from __future__ import annotations

import re
from dataclasses import dataclass

from archive.exports.model import TRANSLATION_LABEL, ExportDocument, ExportSegment
from archive.timecodes import hms

ORGANIZATION = "Testimony Archive"

# Characters XML 1.0 cannot hold (DOCX and OHMS are XML): dropped, never replaced.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def xml_safe(text: str) -> str:
    return _XML_ILLEGAL.sub("", text)


def one_line(text: str) -> str:
    """The text with every run of whitespace (line breaks included) as one space."""
    return " ".join(text.split())


def stamp(seconds: float) -> str:
    """The transcript's time stamp: ``[00:01:23]``."""
    return f"[{hms(seconds)}]"


@dataclass(frozen=True)
class Turn:
    """Consecutive segments of one speaker within one recording."""

    speaker: str
    role: str
    segments: tuple[ExportSegment, ...]

    @property
    def start(self) -> float:
        return self.segments[0].abs_start

    @property
    def end(self) -> float:
        return max(s.abs_end for s in self.segments)

    @property
    def text(self) -> str:
        return " ".join(w for s in self.segments for w in s.text.split())


def turns(doc: ExportDocument) -> list[Turn]:
    """Speaker turns in document order; a new part (recording) starts a new turn.

    Segments with no words are left out (they would only make empty lines)."""
    result: list[Turn] = []
    current: list[ExportSegment] = []
    for segment in doc.segments:
        if not segment.text.split():
            continue
        if current and (
            segment.speaker != current[-1].speaker or segment.recording != current[-1].recording
        ):
            result.append(Turn(current[0].speaker, current[0].speaker_role, tuple(current)))
            current = []
        current.append(segment)
    if current:
        result.append(Turn(current[0].speaker, current[0].speaker_role, tuple(current)))
    return result


#: What a machine translation's header says (TXT, DOCX, VTT NOTE, OHMS).
TRANSLATION_NOTE = (
    f"{TRANSLATION_LABEL} into English of the original transcript, segment by segment, "
    "made by a speech model and not checked by a person"
)


def metadata_lines(doc: ExportDocument) -> list[tuple[str, str]]:
    """(label, value) pairs of the header block of TXT and DOCX; empty values left out."""
    pairs = [
        ("Transcript", TRANSLATION_NOTE if doc.machine_translation else ""),
        ("Date", doc.recorded_on or ""),
        ("Place", doc.place),
        ("Language", doc.language or ""),
        ("Collection", doc.collection or ""),
        ("Duration", hms(doc.duration) if doc.duration else ""),
        ("Speakers", "; ".join(f"{n} ({r})" if r else n for n, r in doc.speakers)),
        ("Link", doc.url),
        ("Citation", doc.citation),
    ]
    return [(label, one_line(value)) for label, value in pairs if value and value.strip()]
