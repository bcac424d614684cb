"""The interview's table of contents: index points in the OHMS sense.

Staff mark a moment with a title, keywords and a synopsis; readers see the list
beside the transcript, and the OHMS export carries it. The words are staff's own
writing about testimony, so they are encrypted at rest and redacted like the
transcript when shown.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from archive import audit
from archive.errors import N_, NotFoundError, ValidationError
from archive.extensions import db
from archive.models import IndexPoint, Interview, User


def index_points(interview: Interview) -> list[IndexPoint]:
    query = (
        select(IndexPoint)
        .where(IndexPoint.interview_id == interview.id)
        .order_by(IndexPoint.time, IndexPoint.id)
    )
    return list(db.session.scalars(query))


def _keywords(value: Any) -> list[str]:
    if value in (None, ""):
        return []
    if isinstance(value, str):
        value = value.split(";") if ";" in value else value.split(",")
    if not isinstance(value, list) or not all(isinstance(k, str) for k in value):
        raise ValidationError(N_("keywords must be a list of words, or text separated by commas."))
    return [k.strip() for k in value if k.strip()][:50]


def add_index_point(actor: User, interview: Interview, data: dict) -> IndexPoint:
    try:
        time = float(data.get("time"))
    except (TypeError, ValueError):
        raise ValidationError(N_("time must be a number of seconds from the start.")) from None
    duration = sum(r.duration or 0 for r in interview.recordings)
    if not 0 <= time <= max(duration, 0) + 0.5:
        raise ValidationError(
            N_("time must be between 0 and %(duration)s seconds."), duration=duration
        )
    title = data.get("title")
    if not isinstance(title, str) or not title.strip() or len(title) > 300:
        raise ValidationError(N_("Give the index point a title (at most 300 characters)."))
    synopsis = data.get("synopsis") or ""
    if not isinstance(synopsis, str) or len(synopsis) > 5_000:
        raise ValidationError(N_("synopsis must be text of at most 5,000 characters."))
    point = IndexPoint(
        interview_id=interview.id,
        time=round(time, 2),
        title=title.strip(),
        keywords=_keywords(data.get("keywords")),
        synopsis=synopsis.strip(),
        created_by_id=actor.id,
    )
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
    db.session.commit()
    return point


def remove_index_point(actor: User, interview: Interview, point_id: int) -> None:
    point = db.session.get(IndexPoint, point_id)
    if point is None or point.interview_id != interview.id:
        raise NotFoundError()
    db.session.delete(point)
    audit.record(
        db.session,
        "index_point_removed",
        actor,
        interview_id=interview.id,
        object_type="index_point",
        object_id=point_id,
    )
    db.session.commit()
