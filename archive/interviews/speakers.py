"""Naming speakers: pseudonyms, roles, encrypted real names, merges and reveals."""

from __future__ import annotations

import io
import logging
from typing import Any

import av
import numpy as np
from sqlalchemy import func, select, update

from archive import audit, policy, search
from archive.errors import N_, NotFoundError, ValidationError
from archive.extensions import db
from archive.interviews import identity
from archive.models import (
    SPEAKER_ROLES,
    Interview,
    Recording,
    Revision,
    Segment,
    Speaker,
    User,
)
from archive.recordings import audio, storage
from archive.search import indexing
from archive.transcripts import redaction

log = logging.getLogger(__name__)

SAMPLE_SECONDS = 8.0
MIN_REASON = 10


def get_speaker(interview: Interview, speaker_id: int) -> Speaker:
    speaker = db.session.get(Speaker, speaker_id)
    if speaker is None or speaker.interview_id != interview.id or speaker.merged_into_id:
        raise NotFoundError()
    return speaker


def has_real_name(speaker: Speaker) -> bool:
    return bool(identity.protected_names(speaker))


def _names(value: Any, field: str) -> list[str]:
    if isinstance(value, str):
        value = [part for part in value.replace("\n", ",").split(",")]
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValidationError(N_("%(field)s must be a list of names."), field=field)
    if any(len(item) > 300 for item in value):
        raise ValidationError(N_("Each of %(field)s must be at most 300 characters."), field=field)
    return value


def update_speaker(actor: User, speaker: Speaker, data: dict) -> Speaker:
    """Apply a partial update; names are encrypted, and never written to the log."""
    # Renaming (the pseudonym alone) is part of correcting a transcript; names and
    # roles are the custodian's and the interviewer's.
    action = "rename_speaker" if set(data) == {"pseudonym"} else "manage_speakers"
    policy.require(actor, action, speaker.interview)
    changed: list[str] = []
    if "pseudonym" in data:
        pseudonym = data["pseudonym"]
        if not isinstance(pseudonym, str) or len(pseudonym.strip()) > 120:
            raise ValidationError(N_("pseudonym must be text of at most 120 characters."))
        speaker.pseudonym = pseudonym.strip()
        changed.append("pseudonym")
    if "role" in data:
        if data["role"] not in SPEAKER_ROLES:
            raise ValidationError(
                N_("role must be one of %(choices)s."), choices=", ".join(SPEAKER_ROLES)
            )
        speaker.role = data["role"]
        changed.append("role")
    names_changed = False
    if "real_name" in data:
        if not isinstance(data["real_name"], str) or len(data["real_name"]) > 300:
            raise ValidationError(N_("real_name must be text of at most 300 characters."))
        identity.set_identity(speaker, data["real_name"], None)
        changed.append("real_name")
        names_changed = True
    if "aliases" in data:
        identity.set_identity(speaker, None, _names(data["aliases"], "aliases"))
        changed.append("aliases")
        names_changed = True
    if not changed:
        raise ValidationError(N_("Nothing to change: send pseudonym, role, real_name or aliases."))
    redaction.check_pseudonym(speaker)
    if names_changed and speaker.named:
        # The agreement named the person it was recorded for: a new name is shown
        # only when a custodian records an agreement naming it.
        speaker.named = False
    if names_changed or "role" in changed:
        redactions_changed(speaker.interview)
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
    db.session.commit()
    if names_changed:
        forget_removed_text()
    for interview in [speaker.interview, *touched]:
        rebuild_access_copies(interview)
    return speaker


def forget_removed_text() -> None:
    """After the commit: the worker wipes removed search text (a name heard before it
    was known to be a name) from the database's files (``tasks.forget_deleted_entries``:
    on PostgreSQL a wait of up to 10 s and a VACUUM FULL, too long for a request).
    A queue that cannot take it does not leave the text behind: it is done here."""
    from archive import tasks

    try:
        tasks.enqueue_forget_now()
    except Exception as exc:
        log.error("forgetting removed search text not queued (%s)", type(exc).__name__)
        search.forget_deleted(db.engine)


def hide_everywhere(interview: Interview) -> list[Interview]:
    """A protected name is hidden in every interview: the others are reindexed, and
    those that mention it get a new listening copy."""
    touched = indexing.reindex_others(db.session, interview)
    for other in touched:
        redactions_changed(other)
    return touched


def redactions_changed(interview: Interview) -> None:
    """What is hidden may have changed: no redacted copy made before now is served."""
    db.session.execute(
        update(Recording)
        .where(Recording.interview_id == interview.id)
        .values(redaction_version=Recording.redaction_version + 1)
        .execution_options(synchronize_session=False)
    )
    for recording in interview.recordings:
        db.session.expire(recording, ["redaction_version"])


def rebuild_access_copies(interview: Interview) -> None:
    from archive import tasks

    if interview.withdrawn_at is not None:
        return  # a withdrawn interview has no listening copy, and gets none again
    for recording in interview.recordings:
        if recording.status == "done":
            tasks.enqueue_access_copies(recording.id)


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
    redactions_changed(keep.interview)
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
    db.session.commit()
    forget_removed_text()
    db.session.expire(keep.interview)
    for interview in [keep.interview, *touched]:
        rebuild_access_copies(interview)
    return keep


def reveal(actor: User, speaker: Speaker, reason: str) -> dict[str, Any]:
    """A custodian sees a real name after saying why; the reveal is audited."""
    policy.require(actor, "reveal_identity", speaker.interview)
    reason = reason.strip() if isinstance(reason, str) else ""
    if len(reason) < MIN_REASON:
        raise ValidationError(
            N_(
                "Say why you need the real name (at least %(min_reason)s characters): "
                "the reason is kept in the audit log."
            ),
            min_reason=MIN_REASON,
        )
    audit.record(
        db.session,
        "identity_revealed",
        actor,
        interview_id=speaker.interview_id,
        object_type="speaker",
        object_id=speaker.id,
        reason=reason[:500],
    )
    db.session.commit()
    return {"real_name": identity.real_name(speaker), "aliases": identity.aliases(speaker)}


def reassign_segment(actor: User, segment: Segment, speaker: Speaker) -> Segment:
    """Give a segment to another speaker of the same interview, as a new revision."""
    if speaker.interview_id != segment.recording.interview_id or speaker.merged_into_id:
        raise ValidationError(N_("That speaker does not belong to this interview."))
    if segment.speaker_id == speaker.id:
        return segment
    segment.speaker_id = speaker.id
    segment.version += 1
    db.session.add(
        Revision(
            segment_id=segment.id,
            version=segment.version,
            kind="speaker",
            text=segment.text,
            speaker_id=speaker.id,
            start=segment.start,
            end=segment.end,
            author_id=actor.id,
        )
    )
    audit.record(
        db.session,
        "segment_reassigned",
        actor,
        interview_id=speaker.interview_id,
        object_type="segment",
        object_id=segment.id,
        speaker=speaker.id,
    )
    indexing.reindex(db.session, speaker.interview)
    db.session.commit()
    return segment


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
