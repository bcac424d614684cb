"""The interview's table of contents: index points in the OHMS sense.

Staff mark a moment with a title, keywords and a synopsis; readers see the list
beside the transcript, and the OHMS export carries it. The words are staff's own
writing about testimony, so they are encrypted at rest and redacted like the
transcript when shown.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select

from archive import audit, policy
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


# OHMS fields of a point beyond time, title, keywords and synopsis, kept where given.
EXTRA_FIELDS = ("subjects", "gps", "gps_zoom", "gps_text", "hyperlinks")
_GPS = re.compile(r"\s*(-?\d{1,3}(?:\.\d+)?)\s*,\s*(-?\d{1,3}(?:\.\d+)?)\s*")


def _text(data: dict, name: str, limit: int) -> str:
    value = data.get(name) or ""
    if not isinstance(value, str) or len(value) > limit:
        raise ValidationError(
            N_("%(name)s must be text of at most %(limit)s characters."),
            name=name,
            limit=f"{limit:,}",
        )
    return value.strip()


def _extra(data: dict) -> dict | None:
    """The point's subjects, GPS and hyperlinks, checked; None when there are none."""
    extra: dict[str, Any] = {}
    subjects = _keywords(data.get("subjects"))
    if subjects:
        extra["subjects"] = subjects
    gps = _text(data, "gps", 100)
    if gps:
        match = _GPS.fullmatch(gps)
        if not match or abs(float(match[1])) > 90 or abs(float(match[2])) > 180:
            raise ValidationError(N_("gps must be a latitude and a longitude: 43.25, 76.95."))
        extra["gps"] = f"{match[1]}, {match[2]}"
        zoom = _text(data, "gps_zoom", 3)
        if zoom and not (zoom.isdigit() and int(zoom) <= 21):
            raise ValidationError(N_("gps_zoom must be a map zoom level from 0 to 21."))
        extra.update(gps_zoom=zoom, gps_text=_text(data, "gps_text", 300))
    links = data.get("hyperlinks") or []
    if not isinstance(links, list) or len(links) > 20:
        raise ValidationError(N_("hyperlinks must be a list of at most 20 links."))
    kept = []
    for link in links:
        url = link.get("url") if isinstance(link, dict) else None
        if not isinstance(url, str) or not url.strip():
            continue
        url = url.strip()
        if len(url) > 2000 or urlsplit(url).scheme not in ("http", "https") or " " in url:
            raise ValidationError(N_("Each hyperlink must be an http(s) address."))
        kept.append({"url": url, "text": _text(link, "text", 300)})
    if kept:
        extra["hyperlinks"] = kept
    return extra or None


def _point(actor: User, interview: Interview, data: dict) -> IndexPoint:
    """A new index point from ``data``, checked (not yet added to the session)."""
    if not isinstance(data, dict):
        raise ValidationError(N_("An index point must be an object with time and title."))
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
    return IndexPoint(
        interview_id=interview.id,
        time=round(time, 2),
        title=title.strip(),
        keywords=_keywords(data.get("keywords")),
        synopsis=synopsis.strip(),
        extra=_extra(data),
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
    db.session.flush()
