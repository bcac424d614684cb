"""Collections, interviews, their recordings, speakers and transcript segments."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Select,
    String,
    Text,
    event,
    false,
    inspect,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from archive.models.base import Base, utcnow
from archive.models.types import EncryptedJSON, EncryptedText

JOB_STATUSES = ("queued", "processing", "done", "failed")
#: The machine English translation of a recording (None: not wanted, it is in English).
TRANSLATION_STATUSES = ("queued", "running", "done", "failed")
SPEAKER_ROLES = ("interviewer", "narrator", "other")


class Collection(Base):
    __tablename__ = "collections"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Typed by people, who type names: encrypted at rest like a real name, and shown
    # only through ``redaction.hider`` (names hidden as in the transcript).
    title: Mapped[str] = mapped_column(EncryptedText)
    description: Mapped[str] = mapped_column(EncryptedText, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    interviews: Mapped[list[Interview]] = relationship(back_populates="collection")


#: Below this probability the language a recording was transcribed in is shown to
#: staff as a guess to check (base took a Russian recording for Latin at 0.12-0.2).
LOW_LANGUAGE_CONFIDENCE = 0.7


class Interview(Base):
    __tablename__ = "interviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Free text typed by people, who type names into it: encrypted at rest, shown
    # only through ``redaction.hider``.
    title: Mapped[str] = mapped_column(EncryptedText)
    summary: Mapped[str] = mapped_column(EncryptedText, default="")
    recorded_on: Mapped[date | None]
    place: Mapped[str] = mapped_column(EncryptedText, default="")
    #: The first of ``languages``: catalogue filters, search facets and exports read it.
    language: Mapped[str | None] = mapped_column(String(16))
    #: The languages spoken, Whisper codes in order ("ru,kk"); None when not known,
    #: then the transcription chooses among all languages (engine.language_windows).
    languages: Mapped[str | None] = mapped_column(String(120))
    vocabulary: Mapped[str] = mapped_column(EncryptedText, default="")
    expected_speakers: Mapped[int | None] = mapped_column(Integer)
    collection_id: Mapped[int | None] = mapped_column(ForeignKey("collections.id"), index=True)
    interviewer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    workflow_status: Mapped[str] = mapped_column(String(24), default="new")
    status_changed_at: Mapped[datetime | None]
    status_changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    withdrawn_at: Mapped[datetime | None]
    # The agreement in force, copied from its newest version (``agreements`` keeps
    # the history) so that list pages and search can filter in SQL.
    agreement_version: Mapped[int] = mapped_column(Integer, default=0)
    access_level: Mapped[str] = mapped_column(String(20), default="sealed")
    audio_permission: Mapped[str] = mapped_column(String(20), default="none")
    identity: Mapped[str] = mapped_column(String(20), default="pseudonym")
    embargo_until: Mapped[date | None]
    #: The version of the name matcher (``names.matching.MATCHER_VERSION``) its search
    #: index and kept name spans were last wholly computed with (``indexing.reindex``);
    #: None: not known (indexed before it was recorded). An older one is caught up by
    #: the worker (``search.catch_up``), so no name a newer matcher finds stays in the
    #: index or unbleeped in a listening copy.
    names_matched_with: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The last change of what the catalogue shows: OAI-PMH datestamps, from/until.
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow, index=True)

    collection: Mapped[Collection | None] = relationship(back_populates="interviews")
    interviewer = relationship("User", foreign_keys=[interviewer_id])
    recordings: Mapped[list[Recording]] = relationship(
        back_populates="interview", order_by="Recording.position"
    )
    speakers: Mapped[list[Speaker]] = relationship(
        back_populates="interview",
        order_by="Speaker.position",
        primaryjoin="and_(Interview.id == Speaker.interview_id, Speaker.merged_into_id.is_(None))",
        viewonly=True,
    )
    all_speakers: Mapped[list[Speaker]] = relationship(
        order_by="Speaker.position", overlaps="speakers"
    )
    agreements = relationship("Agreement", back_populates="interview", order_by="Agreement.version")

    @property
    def language_codes(self) -> list[str]:
        """The interview's languages as a list: ["ru", "kk"]; [] when not known."""
        codes = (self.languages or self.language or "").split(",")
        return [code.strip() for code in codes if code.strip()]


class Recording(Base):
    """One part of an interview: the preservation master and its transcription job."""

    __tablename__ = "recordings"
    # Parts are numbered 1, 2, ... in upload order; two uploads never share a number.
    # (Unique indexes rather than constraints: SQLite adds them without rebuilding
    # the table, so migration 0005 runs on a full archive.)
    __table_args__ = (
        Index("uq_recordings_interview_position", "interview_id", "position", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    interview_id: Mapped[int] = mapped_column(ForeignKey("interviews.id"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=1)
    # The uploader's file name, kept as metadata only: never used to build a path.
    # People name files after narrators, so it is encrypted like a real name.
    original_filename: Mapped[str] = mapped_column(EncryptedText, default="")
    master_key: Mapped[str] = mapped_column(String(200), unique=True)
    sha256: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(Integer)
    duration: Mapped[float | None] = mapped_column(Float)
    channels: Mapped[int | None] = mapped_column(Integer)
    sample_rate: Mapped[int | None] = mapped_column(Integer)
    audio_format: Mapped[str] = mapped_column(String(40), default="")
    status: Mapped[str] = mapped_column(String(16), default="queued")
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    #: The language most of it was transcribed in, and how sure the model was (the
    #: speech-weighted probability of the chosen languages; 1.0 when one was given).
    language: Mapped[str | None] = mapped_column(String(16))
    language_probability: Mapped[float | None] = mapped_column(Float)
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    # Listening copies: the full one, and one with every redacted word silenced.
    # ``redaction_version`` counts changes to what is redacted; the redacted copy
    # may be served only while it was built from the current version.
    full_copy_key: Mapped[str | None] = mapped_column(String(200))
    access_copy_key: Mapped[str | None] = mapped_column(String(200))
    # Set only by the explicit purge of a withdrawn interview.
    master_purged_at: Mapped[datetime | None]
    access_copy_version: Mapped[int] = mapped_column(Integer, default=-1)
    #: How many voices speaker separation heard (None: not separated by voice). Fewer
    #: than the interview expects is shown to staff for review.
    voices_heard: Mapped[int | None] = mapped_column(Integer)
    redaction_version: Mapped[int] = mapped_column(Integer, default=0)
    # Lease of the worker transcribing it: "host:pid" and when it last showed life.
    worker: Mapped[str | None] = mapped_column(String(120))
    heartbeat_at: Mapped[datetime | None]
    #: The machine English translation of its segments (``archive.translation``):
    #: None when none is wanted (English), else one of TRANSLATION_STATUSES, with
    #: its own lease, as the transcription has.
    translation_status: Mapped[str | None] = mapped_column(String(16))
    translation_error: Mapped[str | None] = mapped_column(Text)
    translation_worker: Mapped[str | None] = mapped_column(String(120))
    translation_heartbeat_at: Mapped[datetime | None]

    interview: Mapped[Interview] = relationship(back_populates="recordings")
    segments: Mapped[list[Segment]] = relationship(
        back_populates="recording", order_by="Segment.start"
    )

    @property
    def language_doubtful(self) -> bool:
        """The model was not sure of the language it chose (shown to staff)."""
        return self.language_probability is not None and (
            self.language_probability < LOW_LANGUAGE_CONFIDENCE
        )

    @property
    def eta_seconds(self) -> float | None:
        """Time left, extrapolated from the time taken so far; None until it says anything."""
        if self.status != "processing" or not self.started_at:
            return None
        progress = self.progress or 0.0
        if progress < 0.02:
            return None
        elapsed = (utcnow() - self.started_at).total_seconds()
        return round(elapsed * (1 - progress) / progress, 1)

    @property
    def heard_fewer_voices(self) -> bool:
        """Speaker separation heard fewer voices than the interview says speak."""
        expected = self.interview.expected_speakers
        return bool(expected and self.voices_heard is not None and self.voices_heard < expected)


class Speaker(Base):
    __tablename__ = "speakers"
    __table_args__ = (
        Index("uq_speakers_interview_position", "interview_id", "position", unique=True),
        Index("uq_speakers_interview_label", "interview_id", "label", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    interview_id: Mapped[int] = mapped_column(ForeignKey("interviews.id"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=1)
    label: Mapped[str] = mapped_column(String(20))
    role: Mapped[str] = mapped_column(String(20), default="other")
    pseudonym: Mapped[str] = mapped_column(String(120), default="")
    # Encrypted at rest; read only through ``archive.identity``.
    real_name: Mapped[str | None] = mapped_column(EncryptedText)
    aliases: Mapped[list | None] = mapped_column(EncryptedJSON)
    # Named by the agreement in force (copied from its ``named_speakers``): only then,
    # and only while its identity is "named", do readers see the real name.
    named: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Set when merged into another speaker (the separation made two of one person).
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("speakers.id"))
    # Mean voice embedding (float32 bytes), to match this voice across recordings.
    voice_embedding: Mapped[bytes | None] = mapped_column(LargeBinary)

    interview: Mapped[Interview] = relationship(overlaps="all_speakers")


class Segment(Base):
    __tablename__ = "segments"

    id: Mapped[int] = mapped_column(primary_key=True)
    recording_id: Mapped[int] = mapped_column(ForeignKey("recordings.id"), index=True)
    speaker_id: Mapped[int | None] = mapped_column(ForeignKey("speakers.id"), index=True)
    start: Mapped[float] = mapped_column(Float)
    end: Mapped[float] = mapped_column(Float)
    # What was said, names included: encrypted at rest (see models.types).
    text: Mapped[str] = mapped_column(EncryptedText, default="")
    words: Mapped[list | None] = mapped_column(EncryptedJSON)
    avg_logprob: Mapped[float | None] = mapped_column(Float)
    no_speech_prob: Mapped[float | None] = mapped_column(Float)
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # Where protected names were found in ``text``, kept by ``redaction`` with a keyed
    # digest of the text and the names it looked for, so it is used only while both
    # are unchanged (finding names is the slow part of rendering a transcript).
    name_spans: Mapped[list | None] = mapped_column(EncryptedJSON)
    name_key: Mapped[str | None] = mapped_column(String(32))
    # Names found before an edit, carried through it with the words around them
    # ([start, end, speaker id]): hidden even where the matcher no longer finds them.
    held_spans: Mapped[list | None] = mapped_column(EncryptedJSON)
    #: Why the engine doubts this segment ("loop", "hotwords", "too_fast"): it is kept
    #: as produced but no reader sees it, nor search, nor an export, until an archivist
    #: corrects or confirms it (engine.suspect_reason).
    suspect: Mapped[str | None] = mapped_column(String(20))
    #: The language this segment was decoded in ("ru", "kk"): shown beside it in the
    #: editor, as ``lang`` on its text for readers, in exports, and used by search.
    language: Mapped[str | None] = mapped_column(String(16))

    @classmethod
    def readable(cls):
        """The WHERE clause of a segment readers, search and exports may show."""
        return cls.suspect.is_(None)

    @classmethod
    def in_reading_order(cls, interview_id: int, *columns: Any) -> Select:
        """SELECT ``columns`` (default: the segments) of an interview's segments in
        reading order: recordings by position, segments by start, the id breaking a
        tie (a split or an import can make two start at the same instant), so pages,
        exports, suggestions and the index all read them in one order."""
        return (
            select(*(columns or (cls,)))
            .join(Recording)
            .where(Recording.interview_id == interview_id)
            .order_by(Recording.position, cls.start, cls.id)
        )

    recording: Mapped[Recording] = relationship(back_populates="segments")
    speaker: Mapped[Speaker | None] = relationship()
    redactions = relationship("Redaction", back_populates="segment")


class SegmentTranslation(Base):
    """The machine English translation of one segment: the same times, its own text.

    Made from the segment's audio by Whisper's ``translate`` task (``archive.
    translation``), at the segment's ``version``: once the segment changes (a
    corrected text, new times) it is stale, no reader sees it, and it is made again.
    One per segment (a job run twice, or resumed, updates it).
    """

    __tablename__ = "segment_translations"
    __table_args__ = (Index("uq_segment_translations_segment", "segment_id", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    segment_id: Mapped[int] = mapped_column(ForeignKey("segments.id"))
    # What the model said, names included: encrypted at rest like the original.
    text: Mapped[str] = mapped_column(EncryptedText, default="")
    #: The segment's version it was made from.
    source_version: Mapped[int] = mapped_column(Integer)
    #: Why the translation is doubted (a loop, ...): then no reader sees it.
    suspect: Mapped[str | None] = mapped_column(String(20))
    model: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Revision(Base):
    """Every state a segment has had; restoring one writes a new revision."""

    __tablename__ = "revisions"
    # One revision per version of a segment: a second writer of the same version fails.
    __table_args__ = (Index("uq_revisions_segment_version", "segment_id", "version", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    segment_id: Mapped[int] = mapped_column(ForeignKey("segments.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20), default="edit")
    text: Mapped[str] = mapped_column(EncryptedText)
    speaker_id: Mapped[int | None] = mapped_column(ForeignKey("speakers.id"))
    start: Mapped[float] = mapped_column(Float)
    end: Mapped[float] = mapped_column(Float)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @classmethod
    def of(cls, segment: Segment, kind: str, author_id: int | None = None) -> Revision:
        """The segment as it is now, at its current version: the one way a revision is
        made (the machine's first, an edit, a split, a join, a restore), so none
        leaves out a field the history page or a restore reads."""
        return cls(
            segment_id=segment.id,
            version=segment.version,
            kind=kind,
            text=segment.text,
            speaker_id=segment.speaker_id,
            start=segment.start,
            end=segment.end,
            author_id=author_id,
        )


class Redaction(Base):
    """A span of a segment's text hidden from everyone but custodians."""

    __tablename__ = "redactions"

    id: Mapped[int] = mapped_column(primary_key=True)
    segment_id: Mapped[int] = mapped_column(ForeignKey("segments.id"), index=True)
    start_char: Mapped[int] = mapped_column(Integer)
    end_char: Mapped[int] = mapped_column(Integer)
    replacement: Mapped[str] = mapped_column(EncryptedText, default="[redacted]")
    reason: Mapped[str] = mapped_column(EncryptedText, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    removed_at: Mapped[datetime | None]
    removed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    segment: Mapped[Segment] = relationship(back_populates="redactions")


class IndexPoint(Base):
    """An entry of the interview's table of contents, in the OHMS sense."""

    __tablename__ = "index_points"

    id: Mapped[int] = mapped_column(primary_key=True)
    interview_id: Mapped[int] = mapped_column(ForeignKey("interviews.id"), index=True)
    # Seconds from the start of the interview (its parts played one after another).
    time: Mapped[float] = mapped_column(Float)
    # Written by staff about what was said: encrypted like the transcript itself.
    title: Mapped[str] = mapped_column(EncryptedText)
    keywords: Mapped[list | None] = mapped_column(EncryptedJSON)
    synopsis: Mapped[str] = mapped_column(EncryptedText, default="")
    # The other OHMS fields of a point, where given (archive/transcripts/schemas.py EXTRA_FIELDS):
    # subjects, partial_transcript, gps, gps_zoom, gps_text, hyperlinks.
    extra: Mapped[dict | None] = mapped_column(EncryptedJSON)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# What a catalogue record shows of an interview (OAI-PMH datestamps, archive/publishing/oai.py)
# changes with its speakers' public names and its collection's title as well as with
# its own row: those changes move ``Interview.updated_at`` too.
_SPEAKER_SHOWN = ("pseudonym", "role", "named", "merged_into_id")


@event.listens_for(Session, "before_flush")
def _touch_interviews(session, _context, _instances) -> None:
    for obj in list(session.new) + list(session.dirty):
        if isinstance(obj, Speaker):
            changed = obj in session.new or any(
                inspect(obj).attrs[name].history.has_changes() for name in _SPEAKER_SHOWN
            )
            interview = obj.interview if changed else None
            if interview is not None:
                interview.updated_at = utcnow()
        elif (
            isinstance(obj, Collection)
            and obj not in session.new
            and inspect(obj).attrs.title.history.has_changes()
        ):
            for interview in obj.interviews:
                interview.updated_at = utcnow()
