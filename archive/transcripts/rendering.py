"""Renders an interview's transcript for one reader.

Every page, API response and export that shows transcript text takes it from
here, so what a reader may see is decided in one place: the speaker's name comes
from ``identity.display_name`` and (with the redaction rules) the text from
``redaction``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Row

from archive.errors import N_
from archive.extensions import db
from archive.interviews import identity
from archive.models import Interview, Segment, SegmentTranslation
from archive.transcription import translation_track as track
from archive.transcripts import contents, redaction


@dataclass
class RenderedSegment:
    id: int
    recording: int
    start: float
    end: float
    speaker_id: int | None
    speaker_name: str
    speaker_role: str
    text: str
    words: list[dict] = field(default_factory=list)
    #: Its machine translation as this reader may read it (``render(translation=
    #: True)``): None when there is none made from the segment as it is now.
    translation: str | None = None
    #: The language the segment was transcribed in ("ru", "kk"), or None.
    language: str | None = None

    def as_json(self) -> dict[str, Any]:
        more = {} if self.translation is None else {"translation": self.translation}
        return more | {
            "id": self.id,
            "recording": self.recording,
            "start": self.start,
            "end": self.end,
            "speaker": {
                "id": self.speaker_id,
                "name": self.speaker_name,
                "role": self.speaker_role,
            },
            "text": self.text,
            "language": self.language,
        }


def segments_of(
    interview: Interview, *more: Any, doubted: bool = False, translation: bool = False
) -> list[Row]:
    """The interview's segments in reading order, as rows of the columns a reading
    needs (``id``, ``recording_id``, ``start``, ``end``, ``speaker_id``, ``text``, and
    the names indexing found in it: ``name_spans``, ``name_key``), its ``language``,
    and ``more``.

    Segments the engine doubts (``Segment.suspect``: a possible hallucination) are
    left out unless ``doubted``: only the editor shows them, for an archivist to
    check against the audio. Every reading, export and the search index come
    through here or ``Segment.readable`` and so never show one.

    With ``translation``, each row also has ``translation``: the text of the
    segment's machine translation when one was made from the segment as it is now
    (not stale) and is not doubted, else None.

    Rows, not ORM objects, and without the timed words unless asked: a page of an
    hour-long interview builds and decrypts half as much."""
    query = Segment.in_reading_order(
        interview.id,
        Segment.id,
        Segment.recording_id,
        Segment.start,
        Segment.end,
        Segment.speaker_id,
        Segment.text,
        Segment.name_spans,
        Segment.name_key,
        Segment.held_spans,
        Segment.language,
        *more,
    )
    if not doubted:
        query = query.where(Segment.readable())
    if translation:
        query = query.add_columns(SegmentTranslation.text.label("translation")).outerjoin(
            SegmentTranslation,
            (SegmentTranslation.segment_id == Segment.id)
            & (SegmentTranslation.source_version == Segment.version)
            & SegmentTranslation.suspect.is_(None),
        )
    return list(db.session.execute(query))


def render(user: Any, interview: Interview, translation: bool = False) -> list[RenderedSegment]:
    """The transcript as ``user`` may read it (the caller has asked the policy):
    speakers by the name ``identity.display_name`` allows, text through ``redaction``.
    With ``translation``, each segment also carries its machine translation, hidden
    as strictly as the original (``Redactor.translation``)."""
    names = {s.id: (identity.display_name(user, s), s.role) for s in interview.speakers}
    redactor = redaction.redactor_for(user, interview)
    rendered = []
    for segment in segments_of(interview, translation=translation):
        name, role = names.get(segment.speaker_id, ("…", ""))
        english = segment.translation if translation else None
        if english is not None and redactor is not None:
            english = redactor.translation(segment, english)
        rendered.append(
            RenderedSegment(
                id=segment.id,
                recording=segment.recording_id,
                start=segment.start,
                end=segment.end,
                speaker_id=segment.speaker_id,
                speaker_name=name,
                speaker_role=role,
                text=redactor.text(segment) if redactor else segment.text,
                translation=english,
                language=segment.language,
            )
        )
    return rendered


@dataclass(frozen=True)
class TranslationTrack:
    """What a page says about the interview's machine translation."""

    status: str | None  # None: none is made (the interview is in English)
    label: str = track.LABEL
    language: str = track.LANGUAGE


def translation_track(interview: Interview) -> TranslationTrack:
    return TranslationTrack(track.status_of(interview))


@dataclass(frozen=True)
class ShownMetadata:
    """The interview's free-text fields as ``user`` may read them."""

    title: str
    summary: str
    place: str
    vocabulary: str
    collection: str | None
    file_names: dict[int, str]


def metadata_for(user: Any, interview: Interview) -> ShownMetadata:
    """Every field a person typed about the interview, names hidden as in its
    transcript for whoever may not see them (the caller has asked the policy)."""
    hide = redaction.hider(user, interview)
    collection = interview.collection
    return ShownMetadata(
        title=hide(interview.title),
        summary=hide(interview.summary or ""),
        place=hide(interview.place or ""),
        vocabulary=hide(interview.vocabulary or ""),
        collection=hide(collection.title) if collection else None,
        file_names={r.id: hide(r.original_filename or "") for r in interview.recordings},
    )


def shown(user: Any, interview: Interview | None, text: str | None) -> str:
    """One free-text value as ``user`` may read it (about the archive when no
    interview: a collection's name or description)."""
    return redaction.hider(user, interview)(text or "")


def request_hider(user: Any, row: Any) -> Callable[[str], str]:
    """How ``user`` reads what was typed in an access request (names of the
    interview asked for hidden; of the archive, for a collection)."""
    interview = db.session.get(Interview, row.interview_id) if row.interview_id else None
    return redaction.hider(user, interview)


def request_texts(user: Any, row: Any) -> tuple[str, str]:
    """An access request's purpose and the custodian's message, as ``user`` may read them."""
    hide = request_hider(user, row)
    return hide(row.purpose or ""), hide(row.message or "")


#: The interview's fields as the names notice calls them.
FIELD_NAMES = {
    "title": N_("title"),
    "summary": N_("summary"),
    "place": N_("place"),
    "vocabulary": N_("vocabulary"),
    "file name": N_("file name"),
}


def names_notice(
    interview: Interview, translate: Callable[[str], str] = lambda text: text
) -> str | None:
    """What a form says when a protected name was typed into the interview's fields;
    ``translate`` (the web's ``gettext``) puts it in the reader's language."""
    fields = fields_hiding_names(interview)
    if not fields:
        return None
    template = translate(
        N_(
            "A protected name is typed in the %(fields)s: everyone who may not see it "
            "reads the speaker's pseudonym there instead (or “[name withheld]” for a "
            "person of another interview)."
        )
    )
    return template % {"fields": ", ".join(translate(FIELD_NAMES[name]) for name in fields)}


def fields_hiding_names(interview: Interview) -> list[str]:
    """The interview's fields in which a reader will see a pseudonym (or "[name
    withheld]") where a name was typed: what the forms warn about."""
    hide = redaction.Redactor(interview).plain
    fields = {
        "title": interview.title,
        "summary": interview.summary,
        "place": interview.place,
        "vocabulary": interview.vocabulary,
    }
    found = [name for name, value in fields.items() if value and hide(value) != value]
    if any(
        r.original_filename and hide(r.original_filename) != r.original_filename
        for r in interview.recordings
    ):
        found.append("file name")
    return found


@dataclass(frozen=True)
class RenderedPoint:
    id: int
    time: float
    title: str
    keywords: list[str]
    synopsis: str
    subjects: list[str] = field(default_factory=list)
    gps: str = ""
    gps_zoom: str = ""
    gps_text: str = ""
    hyperlinks: list[tuple[str, str]] = field(default_factory=list)


def contents_for(user: Any, interview: Interview) -> list[RenderedPoint]:
    """The table of contents as ``user`` may read it (names hidden as in the text)."""
    redactor = redaction.redactor_for(user, interview)
    hide = redactor.plain if redactor else (lambda text: text)
    points = []
    for p in contents.index_points(interview):
        extra = p.extra or {}
        points.append(
            RenderedPoint(
                p.id,
                p.time,
                hide(p.title),
                [hide(k) for k in p.keywords or []],
                hide(p.synopsis),
                subjects=[hide(s) for s in extra.get("subjects", [])],
                gps=extra.get("gps", ""),
                gps_zoom=extra.get("gps_zoom", ""),
                gps_text=hide(extra.get("gps_text", "")),
                # an address that holds a hidden name is left out whole (half a URL is no link)
                hyperlinks=[
                    (h["url"], hide(h["text"]))
                    for h in extra.get("hyperlinks", [])
                    if hide(h["url"]) == h["url"]
                ],
            )
        )
    return points
