"""A segment's history (its revisions, an earlier one restored) and an interview's
review workflow (machine transcript, in review, approved)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from archive import audit, policy
from archive.errors import N_, ValidationError
from archive.extensions import db
from archive.models import Revision, Segment, User, utcnow
from archive.transcripts.transcript_edits import edit_segment


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
