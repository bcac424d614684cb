"""The home page's work lists: what each person has to do today, by role.

Sized for an archive of thousands of interviews: every count is one SQL query (no
row loaded to be counted), each list is a short page (``LIMIT``) with the figures
of its rows gathered in one grouped query, and no transcript segment is read. Every
interview shown comes through ``policy.visible`` (the catalogue's own rule); the
template prints typed text only through ``shown`` (names hidden as in the
transcript), like the pages the counts link to.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import and_, func, or_, select

from archive import policy
from archive.extensions import db
from archive.interviews import AWAITING_REVIEW, EMBARGO_SOON_DAYS, unnamed_speaker_exists
from archive.models import (
    AccessRequest,
    Agreement,
    AuditEvent,
    Collection,
    Grant,
    Interview,
    Recording,
    Speaker,
    User,
)
from archive.operations import health
from archive.transcripts import review_queue

#: How many rows each list on the home page shows (its count links to the rest).
LIST_SIZE = 10
#: Grants ending within this many days are shown to custodians (and the researcher).
SOON_DAYS = EMBARGO_SOON_DAYS


def _count(query) -> int:
    return int(db.session.scalar(select(func.count()).select_from(query.subquery())) or 0)


def _first(query) -> list:
    """The first rows of a list (its count links to the rest)."""
    return list(db.session.scalars(query.limit(LIST_SIZE)))


def _visible_interviews(user: Any, *where, action: str = "list"):
    return policy.visible(user, select(Interview.id), action).where(*where)


def _load(user: Any, ids: list[int], action: str = "list") -> list[Interview]:
    """The interviews of ``ids`` the user may see, in the order of ``ids``."""
    if not ids:
        return []
    query = policy.visible(user, select(Interview), action).where(Interview.id.in_(ids))
    found = {i.id: i for i in db.session.scalars(query)}
    return [found[i] for i in ids if i in found]


@dataclass
class InterviewRow:
    """One interview of a work list, with what is left to do on it."""

    interview: Interview
    jobs: dict[str, int] = field(default_factory=dict)
    unnamed_speakers: int = 0
    doubted: int = 0

    @property
    def missing_agreement(self) -> bool:
        return self.interview.agreement_version == 0

    @property
    def transcription(self) -> str:
        """The interview's transcription in one word: failed, running, waiting, done, none."""
        if self.jobs.get("failed"):
            return "failed"
        if self.jobs.get("processing"):
            return "processing"
        if self.jobs.get("queued"):
            return "queued"
        if self.jobs.get("done"):
            return "done"
        return "none"


def _rows(interviews: list[Interview], doubted: bool = False) -> list[InterviewRow]:
    """The figures of a short list in three grouped queries, whatever its length."""
    ids = [i.id for i in interviews]
    if not ids:
        return []
    jobs: dict[int, dict[str, int]] = defaultdict(dict)
    for interview_id, status, count in db.session.execute(
        select(Recording.interview_id, Recording.status, func.count())
        .where(Recording.interview_id.in_(ids))
        .group_by(Recording.interview_id, Recording.status)
    ):
        jobs[interview_id][status] = int(count)
    unnamed = dict(
        db.session.execute(
            select(Speaker.interview_id, func.count())
            .where(
                Speaker.interview_id.in_(ids),
                Speaker.merged_into_id.is_(None),
                Speaker.pseudonym == "",
            )
            .group_by(Speaker.interview_id)
        ).all()
    )
    counts = review_queue.doubted_counts(ids) if doubted else {}
    return [
        InterviewRow(i, jobs.get(i.id, {}), int(unnamed.get(i.id, 0)), counts.get(i.id, 0))
        for i in interviews
    ]


# -- interviewers ------------------------------------------------------------------


def interviewer_work(user: Any) -> dict[str, Any]:
    own = Interview.interviewer_id == user.id
    failed = Recording.status == "failed"
    running = Recording.status.in_(("queued", "processing"))

    def has_job(clause):
        return select(Recording.id).where(Recording.interview_id == Interview.id, clause).exists()

    recent = _first(
        policy.visible(user, select(Interview)).where(own).order_by(Interview.id.desc())
    )
    return {
        "total": _count(_visible_interviews(user, own)),
        "no_agreement": _count(_visible_interviews(user, own, Interview.agreement_version == 0)),
        "unnamed": _count(_visible_interviews(user, own, unnamed_speaker_exists())),
        "failed": _count(_visible_interviews(user, own, has_job(failed))),
        "running": _count(_visible_interviews(user, own, has_job(running))),
        "rows": _rows(list(recent)),
    }


# -- archivists (and the staff above them) --------------------------------------------


def review_work(user: Any) -> dict[str, Any]:
    awaiting = Interview.workflow_status.in_(AWAITING_REVIEW)
    oldest = _first(
        policy.visible(user, select(Interview))
        .where(awaiting, Interview.withdrawn_at.is_(None))
        .order_by(func.coalesce(Interview.status_changed_at, Interview.created_at), Interview.id)
    )
    by_status = dict(
        db.session.execute(
            policy.visible(user, select(Interview.workflow_status, func.count()))
            .where(awaiting, Interview.withdrawn_at.is_(None))
            .group_by(Interview.workflow_status)
        ).all()
    )
    return {
        "awaiting": sum(by_status.values()),
        "by_status": by_status,
        "rows": _rows(list(oldest), doubted=True),
    }


# -- custodians ----------------------------------------------------------------------


def custody_work(user: Any) -> dict[str, Any]:
    today = date.today()
    soon = today + timedelta(days=SOON_DAYS)
    pending = select(AccessRequest).where(AccessRequest.status == "pending")
    requests = _first(pending.order_by(AccessRequest.created_at, AccessRequest.id))
    expiring = select(Grant).where(
        Grant.ended_at.is_(None), Grant.expires_on >= today, Grant.expires_on <= soon
    )
    grants = _first(expiring.order_by(Grant.expires_on, Grant.id))
    lifting = and_(
        Interview.embargo_until > today,
        Interview.embargo_until <= soon,
        Interview.withdrawn_at.is_(None),
    )
    embargoes = _first(
        policy.visible(user, select(Interview))
        .where(lifting)
        .order_by(Interview.embargo_until, Interview.id)
    )
    unsigned = and_(Interview.agreement_version == 0, Interview.withdrawn_at.is_(None))
    mentioned = [r.interview_id for r in requests] + [g.interview_id for g in grants]
    return {
        "pending": _count(pending),
        "requests": list(requests),
        "expiring": _count(expiring),
        "grants": list(grants),
        "lifting": _count(_visible_interviews(user, lifting)),
        "embargoes": list(embargoes),
        "no_agreement": _count(_visible_interviews(user, unsigned)),
        "interviews": {i.id: i for i in _load(user, [i for i in mentioned if i])},
        "collections": _collections_of([*requests, *grants]),
        "researchers": _names(
            [r.researcher_id for r in requests] + [g.researcher_id for g in grants]
        ),
    }


def _collections_of(rows: list[Any]) -> dict[int, Collection]:
    ids = {r.collection_id for r in rows if r.collection_id}
    if not ids:
        return {}
    query = select(Collection).where(Collection.id.in_(ids))
    return {c.id: c for c in db.session.scalars(query)}


def _names(user_ids: list[int]) -> dict[int, str]:
    """Account names (researchers' own, not narrators'), one query."""
    ids = set(user_ids)
    if not ids:
        return {}
    rows = db.session.execute(
        select(User.id, User.display_name, User.email).where(User.id.in_(ids))
    )
    return {uid: name or email for uid, name, email in rows}


# -- researchers ---------------------------------------------------------------------


def research_work(user: Any) -> dict[str, Any]:
    today = date.today()
    mine = AccessRequest.researcher_id == user.id
    requests = _first(select(AccessRequest).where(mine).order_by(AccessRequest.created_at.desc()))
    in_force = and_(
        Grant.researcher_id == user.id,
        Grant.ended_at.is_(None),
        or_(Grant.expires_on.is_(None), Grant.expires_on >= today),
    )
    grants = _first(select(Grant).where(in_force).order_by(Grant.expires_on, Grant.id))
    # What the researcher read lately: reads of content that is not open are audited
    # (``audit.record_read``), newest first, one line per interview.
    read = (
        select(AuditEvent.interview_id, func.max(AuditEvent.created_at).label("last"))
        .where(
            AuditEvent.actor_id == user.id,
            AuditEvent.action.like("read_%"),
            AuditEvent.interview_id.is_not(None),
        )
        .group_by(AuditEvent.interview_id)
        .order_by(func.max(AuditEvent.created_at).desc())
        .limit(LIST_SIZE)
    )
    reading = db.session.execute(read).all()
    mentioned = [r.interview_id for r in requests] + [g.interview_id for g in grants]
    return {
        "pending": _count(select(AccessRequest).where(mine, AccessRequest.status == "pending")),
        "requests": list(requests),
        "grants_count": _count(select(Grant).where(in_force)),
        "grants": list(grants),
        "soon": today + timedelta(days=SOON_DAYS),
        # Only what the researcher may still read (a grant ended, the entry is gone).
        "reading": _load(user, [row.interview_id for row in reading], "read_transcript"),
        "interviews": {i.id: i for i in _load(user, [i for i in mentioned if i])},
        "collections": _collections_of([*requests, *grants]),
    }


# -- admins --------------------------------------------------------------------------


def admin_work() -> dict[str, Any]:
    roles = dict(
        db.session.execute(
            select(User.role, func.count()).where(User.active.is_(True)).group_by(User.role)
        ).all()
    )
    inactive = _count(select(User).where(User.active.is_(False)))
    config = current_app.config
    checks = health.check(
        config["RECORDINGS_DIR"], int(config.get("HEALTH_MIN_FREE_MB", 1024)) * 1024 * 1024
    )
    return {
        "roles": roles,
        "accounts": sum(roles.values()),
        "inactive": inactive,
        "checks": checks,
        "jobs": health.job_counts(),
    }


# -- everyone, visitors first --------------------------------------------------------


def collections_shown(user: Any) -> list[tuple[Collection, int]]:
    """The collections holding an interview the user may see in the catalogue, with
    how many (one grouped query; titles are encrypted, so sorted here)."""
    counts = dict(
        db.session.execute(
            policy.visible(user, select(Interview.collection_id, func.count()))
            .where(Interview.collection_id.is_not(None))
            .group_by(Interview.collection_id)
        ).all()
    )
    if not counts:
        return []
    found = db.session.scalars(select(Collection).where(Collection.id.in_(counts)))
    return [(c, int(counts[c.id])) for c in sorted(found, key=lambda c: c.title.casefold())]


def recently_opened(user: Any) -> list[Interview]:
    """The interviews the user may read whose agreement in force was recorded last:
    those most recently opened to readers."""
    query = (
        policy.visible(user, select(Interview), "read_transcript")
        .join(
            Agreement,
            and_(
                Agreement.interview_id == Interview.id,
                Agreement.version == Interview.agreement_version,
            ),
        )
        .order_by(Agreement.created_at.desc(), Interview.id.desc())
    )
    return _first(query)


def work_for(user: Any) -> dict[str, Any]:
    """Every section of the home page ``user`` has, by the policy's global rules."""
    sections: dict[str, Any] = {}
    if policy.role_of(user) is None:
        sections["collections"] = collections_shown(user)
        sections["opened"] = recently_opened(user)
        return sections
    if policy.can(user, "see_interviewer_work"):
        sections["interviewer"] = interviewer_work(user)
    if policy.can(user, "see_review_work"):
        sections["review"] = review_work(user)
    if policy.can(user, "decide_access"):
        sections["custody"] = custody_work(user)
    if policy.can(user, "request_access"):
        sections["research"] = research_work(user)
    if policy.can(user, "manage_users"):
        sections["admin"] = admin_work()
    return sections
