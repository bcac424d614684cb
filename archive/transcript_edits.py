"""Changes to transcripts: segment edits (as revisions) and marked redactions.

Every change is a new revision or a new row; nothing is overwritten without a trace,
and every redaction can be undone. What is hidden changes with these, so each
service tells the recording its redacted listening copy is out of date.
"""

from __future__ import annotations

import difflib
import logging
from typing import Any

from sqlalchemy import select

from archive import audit, indexing
from archive.errors import NotFoundError, ValidationError
from archive.extensions import db
from archive.models import Recording, Redaction, Revision, Segment, Speaker, User, utcnow
from archive.redaction import DEFAULT_REPLACEMENT

log = logging.getLogger(__name__)

MAX_TEXT = 20_000


def get_segment(segment_id: int) -> Segment:
    segment = db.session.get(Segment, segment_id)
    if segment is None:
        raise NotFoundError()
    return segment


def get_redaction(redaction_id: int) -> Redaction:
    redaction = db.session.get(Redaction, redaction_id)
    if redaction is None:
        raise NotFoundError()
    return redaction


def _outdate_copy(recording: Recording) -> None:
    recording.redaction_version = (recording.redaction_version or 0) + 1


def _rebuild(recording: Recording) -> None:
    from archive import tasks

    if recording.status == "done":
        tasks.enqueue_access_copies(recording.id)


def edit_segment(
    actor: User, segment: Segment, changes: dict[str, Any], kind: str = "edit"
) -> Segment:
    """Apply ``text``, ``speaker_id``, ``start``, ``end`` as one new revision."""
    allowed = {"text", "speaker_id", "start", "end"}
    unknown = set(changes) - allowed
    if unknown:
        raise ValidationError(f"Unknown field(s): {', '.join(sorted(unknown))}.")
    if not changes:
        raise ValidationError("Nothing to change: send text, speaker_id, start or end.")
    text = changes.get("text", segment.text)
    if not isinstance(text, str) or len(text) > MAX_TEXT:
        raise ValidationError(f"text must be text of at most {MAX_TEXT} characters.")
    start, end = _times(segment, changes)
    speaker_id = _speaker_id(segment, changes)
    if (text, speaker_id, start, end) == (
        segment.text,
        segment.speaker_id,
        segment.start,
        segment.end,
    ):
        return segment
    if text != segment.text:
        _follow_text(segment, segment.text, text)
        _outdate_copy(segment.recording)
    if (start, end) != (segment.start, segment.end):
        _outdate_copy(segment.recording)
    segment.text, segment.speaker_id, segment.start, segment.end = text, speaker_id, start, end
    segment.version += 1
    db.session.add(
        Revision(
            segment_id=segment.id,
            version=segment.version,
            kind=kind,
            text=text,
            speaker_id=speaker_id,
            start=start,
            end=end,
            author_id=actor.id,
        )
    )
    audit.record(
        db.session,
        "segment_edited",
        actor,
        interview_id=segment.recording.interview_id,
        object_type="segment",
        object_id=segment.id,
        version=segment.version,
        fields=sorted(changes),
    )
    indexing.reindex(db.session, segment.recording.interview)
    db.session.commit()
    _rebuild(segment.recording)
    return segment


def _times(segment: Segment, changes: dict) -> tuple[float, float]:
    try:
        start = float(changes.get("start", segment.start))
        end = float(changes.get("end", segment.end))
    except (TypeError, ValueError):
        raise ValidationError("start and end must be numbers of seconds.") from None
    duration = segment.recording.duration or end
    if not 0 <= start < end <= duration + 0.5:
        raise ValidationError(
            f"start and end must satisfy 0 <= start < end <= {duration:.1f} (the recording)."
        )
    return round(start, 3), round(end, 3)


def _speaker_id(segment: Segment, changes: dict) -> int | None:
    if "speaker_id" not in changes:
        return segment.speaker_id
    speaker = db.session.get(Speaker, changes["speaker_id"]) if changes["speaker_id"] else None
    if (
        speaker is None
        or speaker.interview_id != segment.recording.interview_id
        or speaker.merged_into_id
    ):
        raise ValidationError("speaker_id must be a speaker of this interview.")
    return speaker.id


def _follow_text(segment: Segment, old: str, new: str) -> None:
    """Move marked redactions with the words they cover when the text is edited.

    Offsets are carried through the diff of old and new text; a span whose words
    were rewritten covers whatever replaced them, so nothing becomes visible.
    """
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    opcodes = matcher.get_opcodes()
    for redaction in _active(segment):
        start = min(_map(opcodes, redaction.start_char, is_end=False), len(new))
        end = min(max(_map(opcodes, redaction.end_char, is_end=True), start), len(new))
        redaction.start_char, redaction.end_char = start, end


def _map(opcodes, position: int, is_end: bool) -> int:
    for tag, a0, a1, b0, b1 in opcodes:
        inside = a0 <= position < a1 or (is_end and a0 < position <= a1)
        if not inside:
            continue
        if tag == "equal":
            return b0 + (position - a0)
        return b1 if is_end else b0
    return opcodes[-1][4] if opcodes else 0


def _active(segment: Segment) -> list[Redaction]:
    query = select(Redaction).where(
        Redaction.segment_id == segment.id, Redaction.removed_at.is_(None)
    )
    return list(db.session.scalars(query))


def add_redaction(
    actor: User,
    segment: Segment,
    start: Any,
    end: Any,
    reason: Any,
    replacement: Any = None,
) -> Redaction:
    """Hide characters start..end of the segment's text from every non-custodian."""
    try:
        start, end = int(start), int(end)
    except (TypeError, ValueError):
        raise ValidationError(
            "start and end must be character positions (whole numbers)."
        ) from None
    if not 0 <= start < end <= len(segment.text):
        raise ValidationError(
            f"start and end must satisfy 0 <= start < end <= {len(segment.text)} "
            "(the length of the segment's text)."
        )
    reason = reason.strip() if isinstance(reason, str) else ""
    if not reason:
        raise ValidationError("Give a reason for the redaction; it is kept with it.")
    replacement = replacement.strip() if isinstance(replacement, str) else ""
    if len(replacement) > 120:
        raise ValidationError("The replacement must be at most 120 characters.")
    redaction = Redaction(
        segment_id=segment.id,
        start_char=start,
        end_char=end,
        replacement=replacement or DEFAULT_REPLACEMENT,
        reason=reason[:2000],
        created_by_id=actor.id,
    )
    db.session.add(redaction)
    _outdate_copy(segment.recording)
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
    indexing.reindex(db.session, segment.recording.interview)
    db.session.commit()
    _rebuild(segment.recording)
    return redaction


def redact_phrase(
    actor: User, segment: Segment, phrase: str, reason: str, replacement: str | None = None
) -> list[Redaction]:
    """Redact every occurrence of ``phrase`` in the segment (case-insensitive)."""
    phrase = (phrase or "").strip()
    if not phrase:
        raise ValidationError("Type the words to redact, as they appear in the segment.")
    text, needle = segment.text.casefold(), phrase.casefold()
    starts, position = [], text.find(needle)
    while position >= 0:
        starts.append(position)
        position = text.find(needle, position + len(needle))
    if not starts:
        raise ValidationError("Those words are not in this segment's text.")
    return [
        add_redaction(actor, segment, start, start + len(needle), reason, replacement)
        for start in starts
    ]


def remove_redaction(actor: User, redaction: Redaction) -> Redaction:
    """Undo a redaction; the row stays, marked removed, as the trace of it."""
    if redaction.removed_at is not None:
        return redaction
    redaction.removed_at = utcnow()
    redaction.removed_by_id = actor.id
    _outdate_copy(redaction.segment.recording)
    audit.record(
        db.session,
        "redaction_removed",
        actor,
        interview_id=redaction.segment.recording.interview_id,
        object_type="redaction",
        object_id=redaction.id,
    )
    indexing.reindex(db.session, redaction.segment.recording.interview)
    db.session.commit()
    _rebuild(redaction.segment.recording)
    return redaction


def revisions(segment: Segment) -> list[Revision]:
    """Every version of the segment, newest first (the machine's is version 1)."""
    query = (
        select(Revision).where(Revision.segment_id == segment.id).order_by(Revision.version.desc())
    )
    return list(db.session.scalars(query))


def restore(actor: User, segment: Segment, version: Any) -> Segment:
    """Bring back an earlier version; the restore is itself a new revision."""
    try:
        number = int(version)
    except (TypeError, ValueError):
        raise ValidationError("version must be a whole number.") from None
    old = db.session.scalar(
        select(Revision).where(Revision.segment_id == segment.id, Revision.version == number)
    )
    if old is None:
        raise ValidationError(f"This segment has no version {number}.")
    changes = {"text": old.text, "start": old.start, "end": old.end}
    if old.speaker_id is not None:
        changes["speaker_id"] = old.speaker_id
    return edit_segment(actor, segment, changes, kind="restore")


WORKFLOW_STEPS = ("machine_transcript", "in_review", "approved")


def set_workflow(actor: User, interview: Any, status: Any) -> Any:
    """Move an interview through review: machine transcript, in review, approved."""
    if status not in WORKFLOW_STEPS:
        raise ValidationError(f"status must be one of {', '.join(WORKFLOW_STEPS)}.")
    if interview.workflow_status in ("new", "transcribing"):
        raise ValidationError("The interview is still being transcribed.")
    previous = interview.workflow_status
    interview.workflow_status = status
    interview.status_changed_at = utcnow()
    interview.status_changed_by_id = actor.id
    audit.record(
        db.session,
        "workflow_changed",
        actor,
        interview_id=interview.id,
        object_type="interview",
        object_id=interview.id,
        previous=previous,
        status=status,
    )
    db.session.commit()
    return interview
