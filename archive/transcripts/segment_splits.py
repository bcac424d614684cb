"""Splits and joins: a segment cut in two at a character, or joined with the next.

A change to the transcript's structure, claimed like an edit (``transcript_edits``)
and recorded as revisions of both segments; the listening copy is remade, since a
name that a cut separates or a join brings together is matched anew.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from archive import audit, policy
from archive.errors import N_, ValidationError
from archive.extensions import db
from archive.interviews.sequences import lock
from archive.models import Revision, Segment, User
from archive.recordings import listening_copies
from archive.search import indexing
from archive.transcription import translation_track
from archive.transcripts.redaction import Redactor, word_offsets
from archive.transcripts.transcript_edits import claim


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
    _finish(actor, segment, [segment.id, tail.id], "segment_split", new_segment=tail.id)
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
    _finish(actor, segment, [segment.id, gone], "segments_merged", merged_segment=gone)
    return segment


def _finish(actor: User, segment: Segment, touched: list[int], action: str, **details: Any) -> None:
    """Record a change to the transcript's structure and reindex the ``touched``
    segments (both halves of a split; the joined segment and the one it absorbed,
    whose rows go).

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
    indexing.reindex_segments(db.session, recording.interview, touched)
    listening_copies.rebuild_after_commit(recording)
