"""Marked redactions: a span or a phrase hidden by an archivist, and its undoing.

Every redaction can be undone: removing one keeps its row, marked removed, as the
trace of it. Positions are those of the text as the archivist reads it.
"""

from __future__ import annotations

from typing import Any

from archive import audit, policy
from archive.errors import N_, ValidationError
from archive.extensions import db
from archive.models import Redaction, Segment, User, utcnow
from archive.recordings import listening_copies
from archive.search import indexing
from archive.transcripts import positions
from archive.transcripts import redaction as hiding
from archive.transcripts.redaction import DEFAULT_REPLACEMENT
from archive.transcripts.schemas import RedactionNote
from archive.transcripts.transcript_edits import check_version


def add_redaction(
    actor: User,
    segment: Segment,
    start: Any,
    end: Any,
    reason: Any,
    replacement: Any = None,
    version: Any = None,
) -> Redaction:
    """Hide characters start..end of the segment's text as ``actor`` reads it (the
    rendering with hidden words as labels, for all but custodians) from every
    non-custodian. Positions, bounds and messages are those of that rendering, so
    nothing here answers differently for what is hidden.

    The segment's row is held first (with ``version``, only if still at it), so the
    positions are checked against the text as it is and no edit moves it meanwhile.
    """
    policy.require(actor, "edit_transcript", segment.recording.interview)
    check_version(segment, version)
    try:
        return _add_rendered_redaction(actor, segment, start, end, reason, replacement)
    except BaseException:
        db.session.rollback()
        raise


def _add_rendered_redaction(actor, segment, start, end, reason, replacement) -> Redaction:
    """Positions in the caller's rendering, checked and mapped to the stored text."""
    try:
        start, end = int(start), int(end)
    except (TypeError, ValueError):
        raise ValidationError(
            N_("start and end must be character positions (whole numbers).")
        ) from None
    hidden = _hidden_for(actor, segment)
    length = len(hiding.apply(segment.text, hidden))
    if not 0 <= start < end <= length:
        raise ValidationError(
            N_(
                "start and end must satisfy 0 <= start < end <= %(length)s "
                "(the length of the segment's text)."
            ),
            length=length,
        )
    return _add_redaction(
        actor,
        segment,
        positions.source_offset(hidden, start),
        positions.source_offset(hidden, end, is_end=True),
        reason,
        replacement,
    )


def _hidden_for(actor: User, segment: Segment) -> list:
    redactor = hiding.redactor_for(actor, segment.recording.interview)
    return redactor.hidden(segment) if redactor else []


def _add_redaction(
    actor: User, segment: Segment, start: int, end: int, reason: Any, replacement: Any
) -> Redaction:
    redaction = _new_redaction(actor, segment, start, end, reason, replacement)
    indexing.reindex_segments(db.session, segment.recording.interview, [segment.id])
    listening_copies.rebuild_after_commit(segment.recording)
    return redaction


def _new_redaction(
    actor: User, segment: Segment, start: int, end: int, reason: Any, replacement: Any
) -> Redaction:
    """One redaction row and its audit event; the caller reindexes once."""
    note = RedactionNote.parse({"reason": reason, "replacement": replacement})
    redaction = Redaction(
        segment_id=segment.id,
        start_char=start,
        end_char=end,
        replacement=note.replacement or DEFAULT_REPLACEMENT,
        reason=note.reason,
        created_by_id=actor.id,
    )
    db.session.add(redaction)
    listening_copies.outdate(segment.recording)
    db.session.flush()
    audit.record(
        db.session,
        "redaction_added",
        actor,
        interview_id=segment.recording.interview_id,
        object_type="redaction",
        object_id=redaction.id,
        segment=segment.id,
    )
    return redaction


def redact_phrase(
    actor: User, segment: Segment, phrase: str, reason: str, replacement: str | None = None
) -> list[Redaction]:
    """Redact every occurrence of ``phrase`` in the segment as ``actor`` reads it
    (case-insensitive): hidden words are labels there, never searched. One change:
    every occurrence in one transaction, the segment reindexed once."""
    policy.require(actor, "edit_transcript", segment.recording.interview)
    try:
        return _redact_phrase(actor, segment, phrase, reason, replacement)
    except BaseException:
        db.session.rollback()
        raise


def _redact_phrase(
    actor: User, segment: Segment, phrase: str, reason: str, replacement: str | None
) -> list[Redaction]:
    phrase = (phrase or "").strip()
    if not phrase:
        raise ValidationError(N_("Type the words to redact, as they appear in the segment."))
    check_version(segment, None)  # the text the positions are found in stays as it is
    hidden = _hidden_for(actor, segment)
    text, needle = hiding.apply(segment.text, hidden).casefold(), phrase.casefold()
    starts, position = [], text.find(needle)
    while position >= 0:
        starts.append(position)
        position = text.find(needle, position + len(needle))
    if not starts:
        raise ValidationError(N_("Those words are not in this segment's text."))
    spans = [
        (
            positions.source_offset(hidden, at),
            positions.source_offset(hidden, at + len(needle), True),
        )
        for at in starts
    ]
    made = [_new_redaction(actor, segment, a, b, reason, replacement) for a, b in spans]
    indexing.reindex_segments(db.session, segment.recording.interview, [segment.id])
    listening_copies.rebuild_after_commit(segment.recording)
    return made


def remove_redaction(actor: User, redaction: Redaction) -> Redaction:
    """Undo a redaction; the row stays, marked removed, as the trace of it."""
    policy.require(actor, "edit_transcript", redaction.segment.recording.interview)
    if redaction.removed_at is not None:
        return redaction
    redaction.removed_at = utcnow()
    redaction.removed_by_id = actor.id
    listening_copies.outdate(redaction.segment.recording)
    audit.record(
        db.session,
        "redaction_removed",
        actor,
        interview_id=redaction.segment.recording.interview_id,
        object_type="redaction",
        object_id=redaction.id,
    )
    indexing.reindex_segments(
        db.session, redaction.segment.recording.interview, [redaction.segment_id]
    )
    listening_copies.rebuild_after_commit(redaction.segment.recording)
    return redaction
