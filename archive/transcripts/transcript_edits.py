"""Changes to transcripts: segment edits (text, speaker, times) as revisions.

Every change is a new revision or a new row; nothing is overwritten without a trace.
Here too the claim and the version check every change to a segment starts with;
splits and joins are in ``segment_splits``, marked redactions in
``redaction_edits``, history and the review workflow in ``revisions``. What is
hidden changes with these, so each service tells the recording its redacted
listening copy is out of date.

Services ask the policy, flush and audit; the unit of work commits
(``archive/unit_of_work.py``), and only then is a listening copy remade.
"""

from __future__ import annotations

import difflib
import logging
from typing import Any

from sqlalchemy import select, update

from archive import audit, policy
from archive.errors import N_, ConflictError
from archive.extensions import db
from archive.interviews.sequences import lock
from archive.models import Redaction, Revision, Segment, User
from archive.recordings import listening_copies
from archive.search import indexing
from archive.transcripts import redaction as hiding
from archive.transcripts.redaction import Redactor, segment_audio_spans
from archive.transcripts.schemas import Claim, SegmentChanges

log = logging.getLogger(__name__)


def claim(segment: Segment, version: Any = None) -> None:
    """Take ``segment`` for one change: the single write that decides between editors.

    ``UPDATE segments SET version = v + 1 WHERE id = :id AND version = v``, where v is
    the version the editor saw (``version``), or, when none is sent, the version the
    segment has once its row is locked. Of two requests with the same version, one
    updates the row and the other finds no row to update: a ``ConflictError`` (409),
    with nothing written. The winner holds the row until it commits and works on the
    segment as it is now (reloaded), so every revision number is given once.
    """
    version = Claim.parse({"version": version}).version
    if version is None:
        lock(Segment, segment.id)
        db.session.refresh(segment)
        version = segment.version
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
    edit = SegmentChanges.parse(changes, segment=segment)
    text, speaker_id = edit.text, edit.speaker_id
    start, end = edit.times()
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
    indexing.reindex_segments(db.session, segment.recording.interview, [segment.id])
    if copy_outdated:
        listening_copies.rebuild_after_commit(segment.recording)
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
        indexing.reindex_segments(db.session, segment.recording.interview, [segment.id])
    except BaseException:
        db.session.rollback()
        raise
    return segment


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
