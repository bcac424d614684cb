"""Changes to transcripts: segment edits (as revisions) and marked redactions.

Every change is a new revision or a new row; nothing is overwritten without a trace,
and every redaction can be undone. What is hidden changes with these, so each
service tells the recording its redacted listening copy is out of date.

Services ask the policy, flush and audit; the unit of work commits
(``archive/unit_of_work.py``), and only then is a listening copy remade.
"""

from __future__ import annotations

import difflib
import logging
from typing import Any

from sqlalchemy import select, update

from archive import audit, policy, unit_of_work
from archive.errors import N_, ConflictError, ValidationError
from archive.extensions import db
from archive.interviews.sequences import lock
from archive.models import Recording, Redaction, Revision, Segment, Speaker, User, utcnow
from archive.recordings import listening_copies
from archive.search import indexing
from archive.transcription import translation_track
from archive.transcripts import positions
from archive.transcripts import redaction as hiding
from archive.transcripts.redaction import (
    DEFAULT_REPLACEMENT,
    Redactor,
    segment_audio_spans,
    word_offsets,
)

log = logging.getLogger(__name__)

MAX_TEXT = 20_000


def _rebuild(recording: Recording) -> None:
    """Once the change is committed, remake the recording's listening copy."""
    unit_of_work.after_commit(lambda: listening_copies.rebuild(recording))


def claim(segment: Segment, version: Any = None) -> None:
    """Take ``segment`` for one change: the single write that decides between editors.

    ``UPDATE segments SET version = v + 1 WHERE id = :id AND version = v``, where v is
    the version the editor saw (``version``), or, when none is sent, the version the
    segment has once its row is locked. Of two requests with the same version, one
    updates the row and the other finds no row to update: a ``ConflictError`` (409),
    with nothing written. The winner holds the row until it commits and works on the
    segment as it is now (reloaded), so every revision number is given once.
    """
    if version is None:
        lock(Segment, segment.id)
        db.session.refresh(segment)
        version = segment.version
    elif not isinstance(version, int) or isinstance(version, bool):
        raise ValidationError(N_("version must be the whole number the segment was shown with."))
    won = db.session.execute(
        update(Segment)
        .where(Segment.id == segment.id, Segment.version == version)
        .values(version=version + 1)
        .execution_options(synchronize_session=False)
    ).rowcount
    if won != 1:
        db.session.rollback()
        raise ConflictError(
            N_(
                "This segment was changed elsewhere (it is now version %(version)s); "
                "your text is kept on the page, compare and save again."
            ),
            version=segment.version,
        )
    db.session.refresh(segment)


def edit_segment(
    actor: User,
    segment: Segment,
    changes: dict[str, Any],
    kind: str = "edit",
    version: Any = None,
    claimed: bool = False,
) -> Segment:
    """Apply ``text``, ``speaker_id``, ``start``, ``end`` as one new revision.

    With ``version``, only if the segment is still at that version (else 409);
    ``claimed`` when the caller has already claimed it in this transaction.
    """
    policy.require(actor, "edit_transcript", segment.recording.interview)
    if not claimed:
        claim(segment, version)
    try:
        return _edit(actor, segment, changes, kind)
    except BaseException:
        db.session.rollback()
        raise


def _edit(actor: User, segment: Segment, changes: dict[str, Any], kind: str) -> Segment:
    allowed = {"text", "speaker_id", "start", "end"}
    unknown = set(changes) - allowed
    if unknown:
        raise ValidationError(
            N_("Unknown field(s): %(fields)s."), fields=", ".join(sorted(unknown))
        )
    if not changes:
        raise ValidationError(N_("Nothing to change: send text, speaker_id, start or end."))
    text = changes.get("text", segment.text)
    if not isinstance(text, str) or len(text) > MAX_TEXT:
        raise ValidationError(
            N_("text must be text of at most %(max_text)s characters."), max_text=MAX_TEXT
        )
    start, end = _times(segment, changes)
    speaker_id = _speaker_id(segment, changes)
    if (text, speaker_id, start, end) == (
        segment.text,
        segment.speaker_id,
        segment.start,
        segment.end,
    ):
        db.session.rollback()  # nothing changed: the claimed version is given back
        return segment
    redactor = Redactor(segment.recording.interview)
    heard_before = segment_audio_spans(redactor, segment)
    if text != segment.text:
        segment.suspect = None  # an archivist wrote what was said: it is checked
        segment.held_spans = hiding.carry_names(redactor, segment, text)
        _follow_text(segment, segment.text, text)
        segment.words = realign_words(segment.words, text)
    segment.text, segment.speaker_id, segment.start, segment.end = text, speaker_id, start, end
    # Most corrections leave what is toned out as it was: then the listening copy
    # stands (remaking three hours of audio after every word would starve the queue).
    copy_outdated = segment_audio_spans(redactor, segment) != heard_before
    if copy_outdated:
        listening_copies.outdate(segment.recording)
    db.session.add(Revision.of(segment, kind, actor.id))
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
    if copy_outdated:
        _rebuild(segment.recording)
    return segment


def confirm_segment(actor: User, segment: Segment, version: Any = None) -> Segment:
    """An archivist heard the audio and the doubted segment is what was said: it is
    shown to readers, searched and exported from now on."""
    policy.require(actor, "edit_transcript", segment.recording.interview)
    if segment.suspect is None:
        raise ConflictError(N_("This segment is not marked as doubtful; nothing to confirm."))
    claim(segment, version)
    try:
        doubt, segment.suspect = segment.suspect, None
        db.session.add(Revision.of(segment, "confirmed", actor.id))
        audit.record(
            db.session,
            "segment_confirmed",
            actor,
            interview_id=segment.recording.interview_id,
            object_type="segment",
            object_id=segment.id,
            version=segment.version,
            doubt=doubt,
        )
        indexing.reindex(db.session, segment.recording.interview)
    except BaseException:
        db.session.rollback()
        raise
    return segment


def _times(segment: Segment, changes: dict) -> tuple[float, float]:
    try:
        start = float(changes.get("start", segment.start))
        end = float(changes.get("end", segment.end))
    except (TypeError, ValueError):
        raise ValidationError(N_("start and end must be numbers of seconds.")) from None
    duration = segment.recording.duration or end
    if not 0 <= start < end <= duration + 0.5:
        raise ValidationError(
            N_("start and end must satisfy 0 <= start < end <= %(duration)s (the recording)."),
            duration=duration,
        )
    return round(start, 3), round(end, 3)


def _speaker_id(segment: Segment, changes: dict) -> int | None:
    if "speaker_id" not in changes:
        return segment.speaker_id
    wanted = changes["speaker_id"]
    valid = isinstance(wanted, int) and not isinstance(wanted, bool) and 0 < wanted < 2**31
    speaker = db.session.get(Speaker, wanted) if valid else None
    if (
        speaker is None
        or speaker.interview_id != segment.recording.interview_id
        or speaker.merged_into_id
    ):
        raise ValidationError(N_("speaker_id must be a speaker of this interview."))
    return speaker.id


def _follow_text(segment: Segment, old: str, new: str) -> None:
    """Move marked redactions with the words they cover when the text is edited.

    Offsets are carried through the diff of old and new text; a span whose words
    were rewritten covers whatever replaced them, so nothing becomes visible.
    """
    opcodes = hiding.diff(old, new)
    for redaction in _active(segment):
        redaction.start_char, redaction.end_char = hiding.moved(
            opcodes, redaction.start_char, redaction.end_char, len(new)
        )


def realign_words(words: list[dict] | None, new_text: str) -> list[dict] | None:
    """The timed words of the corrected text: unchanged words keep their times, a
    rewritten stretch shares the time of the words it replaced, and a typed word is
    certain (probability 1). So playback, highlighting and the toning out of hidden
    words stay exact after a correction instead of falling back to whole segments.
    """
    if not words:
        return words
    old = [w["word"].strip() for w in words]
    new = new_text.split()
    out: list[dict] = []
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    for tag, a0, a1, b0, b1 in matcher.get_opcodes():
        if tag == "equal":
            out += [dict(w) for w in words[a0:a1]]
            continue
        if b0 == b1:
            continue  # words deleted
        if a0 < a1:
            start, end = words[a0]["start"], words[a1 - 1]["end"]
        else:  # inserted between two words: at the gap
            start = end = out[-1]["end"] if out else words[0]["start"]
        step = (end - start) / (b1 - b0)
        out += [
            {
                "start": round(start + i * step, 3),
                "end": round(start + (i + 1) * step, 3),
                "word": " " + token,
                "probability": 1.0,
            }
            for i, token in enumerate(new[b0:b1])
        ]
    return out


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
    indexing.reindex(db.session, segment.recording.interview)
    _rebuild(segment.recording)
    return redaction


def _new_redaction(
    actor: User, segment: Segment, start: int, end: int, reason: Any, replacement: Any
) -> Redaction:
    """One redaction row and its audit event; the caller reindexes once."""
    reason = reason.strip() if isinstance(reason, str) else ""
    if not reason:
        raise ValidationError(N_("Give a reason for the redaction; it is kept with it."))
    replacement = replacement.strip() if isinstance(replacement, str) else ""
    if len(replacement) > 120:
        raise ValidationError(N_("The replacement must be at most 120 characters."))
    redaction = Redaction(
        segment_id=segment.id,
        start_char=start,
        end_char=end,
        replacement=replacement or DEFAULT_REPLACEMENT,
        reason=reason[:2000],
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
    every occurrence in one transaction, reindexed once."""
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
    indexing.reindex(db.session, segment.recording.interview)
    _rebuild(segment.recording)
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
    indexing.reindex(db.session, redaction.segment.recording.interview)
    _rebuild(redaction.segment.recording)
    return redaction


def check_version(segment: Segment, version: Any) -> None:
    """Hold the segment's row (to commit) and refuse a change made to an older
    version than the stored one, for changes that add no revision (a redaction):
    positions in the text are then read from the text they were chosen in, and no
    edit can slip in between. Edits, splits and joins ``claim`` instead.
    """
    lock(Segment, segment.id)
    db.session.refresh(segment)
    if version is None:
        return
    if not isinstance(version, int) or isinstance(version, bool) or version != segment.version:
        db.session.rollback()
        raise ConflictError(
            N_(
                "This segment was changed elsewhere (it is now version %(version)s); "
                "your text is kept on the page, compare and save again."
            ),
            version=segment.version,
        )


def split_segment(
    actor: User, segment: Segment, position: Any, version: Any = None, claimed: bool = False
) -> Segment:
    """Cut the segment at a character of its text; the second part becomes a new
    segment of the same speaker, starting at its first timed word."""
    policy.require(actor, "edit_transcript", segment.recording.interview)
    if not claimed:
        claim(segment, version)
    try:
        return _split(actor, segment, position)
    except BaseException:
        db.session.rollback()
        raise


def _split(actor: User, segment: Segment, position: Any) -> Segment:
    text = segment.text
    if not isinstance(position, int) or not 0 < position < len(text):
        raise ValidationError(N_("Put the cursor inside the text, between two words, to split it."))
    names = Redactor(segment.recording.interview).all_names(segment)
    before, after = text[:position].rstrip(), text[position:].lstrip()
    if not before or not after:
        raise ValidationError(N_("Put the cursor inside the text, between two words, to split it."))
    cut = len(text) - len(after)
    marked = list(segment.redactions)
    if any(r.removed_at is None and r.start_char < position < r.end_char for r in marked):
        raise ValidationError(N_("The cursor is inside a redaction; split before or after it."))
    if any(start < position < end for start, end, _key in names):
        raise ValidationError(N_("The cursor is inside a hidden name; split before or after it."))
    first_words, second_words = _split_words(text, segment.words or [], position)
    at = _split_time(segment, second_words, cut / len(text))
    tail = Segment(
        recording_id=segment.recording_id,
        speaker_id=segment.speaker_id,
        start=at,
        end=segment.end,
        text=after,
        words=second_words or None,
        avg_logprob=segment.avg_logprob,
        no_speech_prob=segment.no_speech_prob,
        suspect=segment.suspect,  # both halves still wait to be checked
        version=1,
        held_spans=[[s - cut, e - cut, k] for s, e, k in names if s >= cut] or None,
    )
    db.session.add(tail)
    db.session.flush()
    for redaction in marked:
        if redaction.start_char >= position:
            redaction.segment = tail
            redaction.start_char = max(redaction.start_char - cut, 0)
            redaction.end_char = max(redaction.end_char - cut, redaction.start_char)
        elif redaction.end_char > len(before):
            redaction.end_char = len(before)
            redaction.start_char = min(redaction.start_char, redaction.end_char)
    segment.text, segment.words, segment.end = before, first_words or None, at
    segment.held_spans = [[s, e, k] for s, e, k in names if e <= len(before)] or None
    db.session.add_all(
        [Revision.of(segment, "split", actor.id), Revision.of(tail, "split", actor.id)]
    )
    _finish(actor, segment, "segment_split", new_segment=tail.id)
    return tail


def _split_words(text: str, words: list[dict], position: int) -> tuple[list, list]:
    placed = word_offsets(text, words)
    first: list[dict] = []
    second: list[dict] = []
    for word, where in zip(words, placed, strict=True):
        if second or (where is not None and where[0] >= position):
            second.append(word)
        else:
            first.append(word)
    return first, second


def _split_time(segment: Segment, second_words: list[dict], share: float) -> float:
    span = segment.end - segment.start
    guess = second_words[0]["start"] if second_words else segment.start + span * share
    margin = min(0.01, span / 4)
    return round(min(max(guess, segment.start + margin), segment.end - margin), 3)


def next_segment(segment: Segment) -> Segment | None:
    query = (
        select(Segment)
        .where(
            Segment.recording_id == segment.recording_id,
            (Segment.start > segment.start)
            | ((Segment.start == segment.start) & (Segment.id > segment.id)),
        )
        .order_by(Segment.start, Segment.id)
        .limit(1)
    )
    return db.session.scalar(query)


def merge_with_next(actor: User, segment: Segment, version: Any = None) -> Segment:
    """Join the segment with the one after it in the same recording.

    The next segment's history comes along (its revisions are renumbered into this
    one's, marked "joined"), so no earlier wording is lost with the row.
    """
    policy.require(actor, "edit_transcript", segment.recording.interview)
    claim(segment, version)
    try:
        return _merge(actor, segment)
    except BaseException:
        db.session.rollback()
        raise


def _merge(actor: User, segment: Segment) -> Segment:
    following = next_segment(segment)
    if following is None:
        raise ValidationError(N_("This is the last segment of its recording: nothing follows it."))
    lock(Segment, following.id)  # nobody edits the next one while it is joined
    db.session.refresh(following)
    number = segment.version - 1  # the claim reserved the next number; history first
    separator = " " if segment.text and following.text else ""
    shift = len(segment.text) + len(separator)
    redactor = Redactor(segment.recording.interview)
    held = [[s, e, k] for s, e, k in redactor.all_names(segment)]
    held += [[s + shift, e + shift, k] for s, e, k in redactor.all_names(following)]
    for redaction in list(following.redactions):
        redaction.segment = segment
        redaction.start_char += shift
        redaction.end_char += shift
    history = db.session.scalars(
        select(Revision).where(Revision.segment_id == following.id).order_by(Revision.version)
    )
    for revision in history:
        number += 1
        revision.segment_id, revision.version, revision.kind = segment.id, number, "joined"
    segment.text = segment.text + separator + following.text
    segment.suspect = segment.suspect or following.suspect
    segment.held_spans = held or None
    segment.words = (segment.words or []) + (following.words or []) or None
    segment.end = max(segment.end, following.end)
    segment.version = number + 1
    db.session.add(Revision.of(segment, "merge", actor.id))
    db.session.flush()
    gone = following.id
    translation_track.forget(db.session, segment_id=gone)
    db.session.delete(following)
    _finish(actor, segment, "segments_merged", merged_segment=gone)
    return segment


def _finish(actor: User, segment: Segment, action: str, **details: Any) -> None:
    """Record and reindex a change to the transcript's structure.

    Hidden words move with the text, but a name that a cut separates or a join
    brings together is matched anew, so the listening copy is remade.
    """
    recording = segment.recording
    listening_copies.outdate(recording)
    audit.record(
        db.session,
        action,
        actor,
        interview_id=recording.interview_id,
        object_type="segment",
        object_id=segment.id,
        **details,
    )
    indexing.reindex(db.session, recording.interview)
    _rebuild(recording)


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
        raise ValidationError(N_("version must be a whole number.")) from None
    old = db.session.scalar(
        select(Revision).where(Revision.segment_id == segment.id, Revision.version == number)
    )
    if old is None:
        raise ValidationError(N_("This segment has no version %(number)s."), number=number)
    changes = {"text": old.text, "start": old.start, "end": old.end}
    if old.speaker_id is not None:
        changes["speaker_id"] = old.speaker_id
    return edit_segment(actor, segment, changes, kind="restore")


WORKFLOW_STEPS = ("machine_transcript", "in_review", "approved")


def set_workflow(actor: User, interview: Any, status: Any) -> Any:
    """Move an interview through review: machine transcript, in review, approved."""
    policy.require(actor, "set_workflow", interview)
    if status not in WORKFLOW_STEPS:
        raise ValidationError(
            N_("status must be one of %(choices)s."), choices=", ".join(WORKFLOW_STEPS)
        )
    if interview.workflow_status in ("new", "transcribing"):
        raise ValidationError(N_("The interview is still being transcribed."))
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
    db.session.flush()
    return interview
