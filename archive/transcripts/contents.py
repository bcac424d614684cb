"""The interview's table of contents: index points in the OHMS sense.

Staff mark a moment with a title, keywords and a synopsis; readers see the list
beside the transcript, and the OHMS export carries it. The words are staff's own
writing about testimony, so they are encrypted at rest and redacted like the
transcript when shown.
"""

from __future__ import annotations

from sqlalchemy import select

from archive import audit, policy
from archive.errors import N_, ValidationError
from archive.extensions import db
from archive.lookup import get_or_404
from archive.models import IndexPoint, Interview, User
from archive.transcripts.schemas import IndexPointBody


def index_points(interview: Interview) -> list[IndexPoint]:
    query = (
        select(IndexPoint)
        .where(IndexPoint.interview_id == interview.id)
        .order_by(IndexPoint.time, IndexPoint.id)
    )
    return list(db.session.scalars(query))


def _point(actor: User, interview: Interview, data: dict) -> IndexPoint:
    """A new index point from ``data``, checked (not yet added to the session)."""
    if not isinstance(data, dict):
        raise ValidationError(N_("An index point must be an object with time and title."))
    body = IndexPointBody.parse(data, duration=sum(r.duration or 0 for r in interview.recordings))
    return IndexPoint(
        interview_id=interview.id,
        time=body.time,
        title=body.title,
        keywords=body.keywords,
        synopsis=body.synopsis,
        extra=body.extra(),
        created_by_id=actor.id,
    )


MAX_POINTS = 2_000


def check_points(actor: User, interview: Interview, points: list[dict]) -> None:
    """Refuse ``points`` (``ValidationError``) as ``replace_index_points`` would,
    storing nothing."""
    if len(points) > MAX_POINTS:
        raise ValidationError(
            N_("An index may have at most %(limit)s points."), limit=f"{MAX_POINTS:,}"
        )
    for data in points:
        _point(actor, interview, data)


def add_index_point(actor: User, interview: Interview, data: dict) -> IndexPoint:
    policy.require(actor, "edit_transcript", interview)
    point = _point(actor, interview, data)
    db.session.add(point)
    db.session.flush()
    audit.record(
        db.session,
        "index_point_added",
        actor,
        interview_id=interview.id,
        object_type="index_point",
        object_id=point.id,
    )
    return point


def replace_index_points(actor: User, interview: Interview, points: list[dict]) -> int:
    """The interview's table of contents replaced by ``points`` in one transaction
    (an index made in another tool): every point is checked before anything changes."""
    policy.require(actor, "edit_transcript", interview)
    check_points(actor, interview, points)
    new = [_point(actor, interview, data) for data in points]
    try:
        for old in index_points(interview):
            db.session.delete(old)
        db.session.add_all(new)
        db.session.flush()
        audit.record(
            db.session,
            "index_points_replaced",
            actor,
            interview_id=interview.id,
            object_type="interview",
            object_id=interview.id,
            points=len(new),
        )
    except BaseException:
        db.session.rollback()
        raise
    return len(new)


def remove_index_point(actor: User, interview: Interview, point_id: int) -> None:
    policy.require(actor, "edit_transcript", interview)
    point = get_or_404(IndexPoint, point_id, lambda p: p.interview_id == interview.id)
    db.session.delete(point)
    audit.record(
        db.session,
        "index_point_removed",
        actor,
        interview_id=interview.id,
        object_type="index_point",
        object_id=point_id,
    )
    db.session.flush()
