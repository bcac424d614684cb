"""The export document: everything one export holds, already rendered for its reader.

Every writer in ``archive.exports`` (DOCX, OHMS, SRT, TXT, VTT, JSON, BagIt) takes this
document and nothing else, so what an export shows is decided here, by the same
rendering (names hidden, translation withheld) as the pages.
"""

from __future__ import annotations

from typing import Any

from archive.exports import ExportDocument, ExportSegment, IndexPoint
from archive.interviews import identity
from archive.models import Interview
from archive.transcription import translation_track
from archive.transcripts import rendering
from archive.transcripts.citations import cite, interview_url


def export_document(user: Any, interview: Interview, track: str = "original") -> ExportDocument:
    """Everything an export holds, already rendered for ``user``: nothing an export
    writes comes from anywhere else. ``track`` "translation": the segments are the
    machine translation (those that have one), and the document says so; with the
    original, ``translation`` holds it too (OHMS writes it as its alternate
    transcript)."""
    offsets, position = {}, 0.0
    for recording in interview.recordings:
        offsets[recording.id] = position
        position += recording.duration or 0.0
    rendered = rendering.render(user, interview, translation=True)

    def export_segments(english: bool) -> tuple[ExportSegment, ...]:
        return tuple(
            ExportSegment(
                id=s.id,
                recording=s.recording,
                start=s.start,
                end=s.end,
                offset=offsets.get(s.recording, 0.0),
                speaker=s.speaker_name,
                speaker_role=s.speaker_role,
                text=s.translation if english else s.text,
                language=None if english else s.language,
            )
            for s in rendered
            if not english or s.translation
        )

    translated = export_segments(english=True)
    if track == "translation":
        segments, alternate = translated, ()
    else:
        segments, alternate = export_segments(english=False), translated
    shown = rendering.metadata_for(user, interview)
    return ExportDocument(
        interview_id=interview.id,
        title=shown.title,
        summary=shown.summary,
        recorded_on=interview.recorded_on.isoformat() if interview.recorded_on else None,
        place=shown.place,
        language=translation_track.LANGUAGE if track == "translation" else interview.language,
        languages=(translation_track.LANGUAGE,)
        if track == "translation"
        else tuple(interview.language_codes),
        collection=shown.collection,
        duration=position,
        citation=cite(user, interview),
        url=interview_url(interview),
        speakers=tuple((identity.display_name(user, s), s.role) for s in interview.speakers),
        segments=segments,
        index_points=tuple(
            IndexPoint(
                time=p.time,
                title=p.title,
                keywords=tuple(p.keywords),
                synopsis=p.synopsis,
                subjects=tuple(p.subjects),
                gps=p.gps,
                gps_zoom=p.gps_zoom,
                gps_text=p.gps_text,
                hyperlinks=tuple(p.hyperlinks),
            )
            for p in rendering.contents_for(user, interview)
        ),
        access_level=interview.access_level,
        audio_permission=interview.audio_permission,
        track=track,
        translation=alternate,
    )
