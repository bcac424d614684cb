"""Naming speakers: pseudonyms, roles, encrypted real names, merges and reveals.

The services flush and leave the commit to the unit of work (``archive/unit_of_work.py``);
rebuilding listening copies and forgetting removed search text wait for the commit.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Mapping
from typing import Any

import av
import numpy as np
from sqlalchemy import func, select, update

from archive import audit, policy, queue, search, unit_of_work
from archive.errors import N_, ValidationError
from archive.extensions import db
from archive.interviews import identity
from archive.interviews.schemas import Reveal, SpeakerChanges
from archive.lookup import get_or_404
from archive.models import (
    Interview,
    Recording,
    Segment,
    Speaker,
    User,
)
from archive.recordings import audio, listening_copies, storage
from archive.search import indexing

log = logging.getLogger(__name__)

SAMPLE_SECONDS = 8.0


def get_speaker(interview: Interview, speaker_id: int) -> Speaker:
    return get_or_404(
        Speaker,
        speaker_id,
        lambda s: s.interview_id == interview.id and not s.merged_into_id,
    )


def has_real_name(speaker: Speaker) -> bool:
    return bool(identity.protected_names(speaker))


def update_speaker(
    actor: User, speaker: Speaker, data: Mapping[str, Any] | SpeakerChanges
) -> Speaker:
    """Apply a partial update; names are encrypted, and never written to the log."""
    # Renaming (the pseudonym alone) is part of correcting a transcript; names and
    # roles are the custodian's and the interviewer's.
    action = "rename_speaker" if set(data) == {"pseudonym"} else "manage_speakers"
    policy.require(actor, action, speaker.interview)
    changes = SpeakerChanges.parse(data)
    changed = changes.changed()
    if changes.pseudonym is not None:
        speaker.pseudonym = changes.pseudonym
    if changes.role is not None:
        speaker.role = changes.role
    names_changed = bool({"real_name", "aliases"} & set(changed))
    if names_changed:
        identity.set_identity(speaker, changes.real_name, changes.aliases)
    identity.check_pseudonym(speaker)
    if names_changed and speaker.named:
        # The agreement named the person it was recorded for: a new name is shown
        # only when a custodian records an agreement naming it.
        speaker.named = False
    if names_changed or "role" in changed:
        listening_copies.outdate(speaker.interview)
    audit.record(
        db.session,
        "speaker_updated",
        actor,
        interview_id=speaker.interview_id,
        object_type="speaker",
        object_id=speaker.id,
        fields=changed,
    )
    indexing.reindex(db.session, speaker.interview)
    touched = hide_everywhere(speaker.interview) if names_changed else []
    db.session.flush()

    def after() -> None:
        if names_changed:
            forget_removed_text()
        for interview in [speaker.interview, *touched]:
            listening_copies.rebuild(interview)

    unit_of_work.after_commit(after)
    return speaker


def forget_removed_text() -> None:
    """After the commit (``unit_of_work.after_commit``): the worker wipes removed search
    text (a name heard before it was known to be a name) from the database's files
    (``jobs.forget_deleted_entries``: on PostgreSQL a wait of up to 10 s and a VACUUM
    FULL, too long for a request).
    A queue that cannot take it does not leave the text behind: it is done here."""
    try:
        queue.enqueue_forget_now()
    except Exception as exc:
        log.error("forgetting removed search text not queued (%s)", type(exc).__name__)
        # What ran since the commit (an earlier after-commit callback) may have read,
        # which holds a transaction open; PostgreSQL's VACUUM FULL waits for every
        # older transaction and would give up. End it first: a plain commit, so the
        # work still waiting runs after this, not before it.
        db.session.commit()
        if not search.forget_deleted(db.engine):
            log.error("removed search text still held by another transaction; it stays")


def hide_everywhere(interview: Interview) -> list[Interview]:
    """A protected name is hidden in every interview: the others are reindexed, and
    those that mention it get a new listening copy."""
    touched = indexing.reindex_others(db.session, interview)
    for other in touched:
        listening_copies.outdate(other)
    return touched


def merge_speakers(actor: User, keep: Speaker, merged: Speaker) -> Speaker:
    """Fold ``merged`` into ``keep``: its segments and its names move over.

    The merged row stays (marked) so that earlier revisions still name it.
    """
    policy.require(actor, "manage_speakers", keep.interview)
    if keep.id == merged.id:
        raise ValidationError(N_("Choose two different speakers to merge."))
    moved = db.session.execute(
        update(Segment)
        .where(Segment.speaker_id == merged.id)
        .values(speaker_id=keep.id)
        .execution_options(synchronize_session=False)
    ).rowcount
    names = [n for n in identity.protected_names(merged) if n != identity.real_name(keep)]
    if names:
        keep.named = False  # names nobody agreed to show: a custodian decides anew
        if identity.real_name(keep) is None:
            identity.set_identity(keep, names[0], None)
            names = names[1:]
        identity.set_identity(keep, None, identity.aliases(keep) + names)
    identity.set_identity(merged, "", [])
    merged.merged_into_id = keep.id
    listening_copies.outdate(keep.interview)
    audit.record(
        db.session,
        "speakers_merged",
        actor,
        interview_id=keep.interview_id,
        object_type="speaker",
        object_id=keep.id,
        merged=merged.id,
        segments=moved,
    )
    indexing.reindex(db.session, keep.interview)
    touched = hide_everywhere(keep.interview)
    db.session.flush()

    def after() -> None:
        forget_removed_text()
        db.session.expire(keep.interview)
        for interview in [keep.interview, *touched]:
            listening_copies.rebuild(interview)

    unit_of_work.after_commit(after)
    return keep


def reveal(actor: User, speaker: Speaker, reason: str) -> dict[str, Any]:
    """A custodian sees a real name after saying why; the reveal is audited."""
    policy.require(actor, "reveal_identity", speaker.interview)
    reason = Reveal.parse({"reason": reason}).reason
    audit.record(
        db.session,
        "identity_revealed",
        actor,
        interview_id=speaker.interview_id,
        object_type="speaker",
        object_id=speaker.id,
        reason=reason[:500],
    )
    db.session.flush()  # the request commits the audit event before the name is sent
    return {"real_name": identity.real_name(speaker), "aliases": identity.aliases(speaker)}


def segment_counts(interview: Interview) -> dict[int, int]:
    query = (
        select(Segment.speaker_id, func.count())
        .join(Recording)
        .where(Recording.interview_id == interview.id)
        .group_by(Segment.speaker_id)
    )
    return dict(db.session.execute(query).all())


def sample_clip(speaker: Speaker) -> bytes | None:
    """A few seconds of this voice (from its longest segment), as MP3, to tell voices
    apart; None when the speaker has not been heard yet."""
    segment = db.session.scalar(
        select(Segment)
        .where(Segment.speaker_id == speaker.id)
        .order_by((Segment.end - Segment.start).desc())
        .limit(1)
    )
    if segment is None:
        return None
    recording = segment.recording
    path = storage.recordings_path(recording.master_key)
    end = min(segment.end, segment.start + SAMPLE_SECONDS)
    return _mp3(audio.decode_range(path, segment.start, end))


def _mp3(samples: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp3") as container:
        stream = container.add_stream("libmp3lame", rate=audio.SAMPLE_RATE)
        stream.layout = "mono"
        frame = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(samples[None, :]), format="fltp", layout="mono"
        )
        frame.sample_rate = audio.SAMPLE_RATE
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            container.mux(packet)
    return buffer.getvalue()
