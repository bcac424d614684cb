"""The hash-chained audit log: recording events and verifying the chain.

Each event's hash is an HMAC-SHA256 under the audit key (``ARCHIVE_AUDIT_KEY``, or
``instance/audit_key`` generated on first start), kept outside the database like the
identity key: rewriting events and rebuilding the chain needs that key.

Events are added to the caller's transaction (never committed here) so that a
change and its audit event are stored together or not at all. Appends are
serialised through the single ``audit_head`` row: updating it first takes the
write lock on SQLite and a row lock on PostgreSQL, held until commit, so two
writers can never claim the same sequence number. (On PostgreSQL the waiting
writer's UPDATE then adds one to the head as committed, and its next statement
reads that head: READ COMMITTED, the default, which this relies on.)
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Self

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from archive import policy
from archive.extensions import db
from archive.models import AuditEvent, AuditHead, User, utcnow
from archive.schemas import View

GENESIS_HASH = "0" * 64


_HEAD = update(AuditHead).where(AuditHead.id == 1).execution_options(synchronize_session=False)


def _read_head(session: Session) -> tuple[int, str]:
    return session.execute(select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == 1)).one()


_key: bytes | None = None


class AuditKeyError(RuntimeError):
    """No audit key is configured (``ARCHIVE_AUDIT_KEY``)."""


def configure_key(key: str | bytes) -> None:
    """The key of the chain's HMAC, from configuration (never the database): whoever
    can write the database but lacks the key cannot rebuild a chain that verifies."""
    global _key
    _key = key.encode() if isinstance(key, str) else key


def chain_digest(canonical: bytes) -> str:
    if _key is None:
        raise AuditKeyError("No audit key is configured (ARCHIVE_AUDIT_KEY).")
    return hmac.new(_key, canonical, hashlib.sha256).hexdigest()


def _digest(event: AuditEvent) -> str:
    payload = {
        "seq": event.seq,
        "created_at": event.created_at.isoformat(timespec="microseconds"),
        "actor_id": event.actor_id,
        "actor_email": event.actor_email,
        "action": event.action,
        "interview_id": event.interview_id,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "details": event.details,
        "prev_hash": event.prev_hash,
    }
    canonical = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return chain_digest(canonical.encode())


def record(
    session: Session,
    action: str,
    actor: User | None = None,
    *,
    interview_id: int | None = None,
    object_type: str = "",
    object_id: int | None = None,
    **details: object,
) -> AuditEvent:
    """Append an event to the chain inside the caller's transaction.

    ``details`` must never carry real names, transcript text, passwords or tokens.
    """
    session.execute(_HEAD.values(seq=AuditHead.seq + 1))
    seq, prev_hash = _read_head(session)
    event = AuditEvent(
        seq=seq,
        created_at=utcnow(),
        actor_id=getattr(actor, "id", None),
        actor_email=getattr(actor, "email", "") or "",
        action=action,
        interview_id=interview_id,
        object_type=object_type,
        object_id=object_id,
        details=json.dumps(details, sort_keys=True, default=str, ensure_ascii=False),
        prev_hash=prev_hash,
    )
    event.hash = _digest(event)
    session.add(event)
    session.execute(_HEAD.values(hash=event.hash))
    return event


def event_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(AuditEvent)) or 0


def recent_events(page: int = 1, per_page: int = 50, filters: EventFilter | None = None):
    """A page of events, newest first, for the audit page and API."""
    query = filtered_events(db.session, filters or EventFilter())
    return db.paginate(query, page=page, per_page=per_page, error_out=False)


class AuditEventView(View):
    """An event as the audit API shows it to those who read the log (``view_audit``).

    Its details carry reasons staff typed (a reveal's reason may name the narrator),
    so they arrive through ``hide``, the reader's hider
    (``transcripts.redaction.hider(reader, None)``): the audit module sits below
    the transcripts package and does not hide names itself."""

    seq: int
    at: str
    actor_id: int | None
    actor: str
    action: str
    interview_id: int | None
    object_type: str
    object_id: int | None
    details: dict[str, Any]

    @classmethod
    def of(cls, event: AuditEvent, hide: Callable[[str], str]) -> Self:
        return cls(
            seq=event.seq,
            at=event.created_at.isoformat() + "Z",
            actor_id=event.actor_id,
            actor=event.actor_email,
            action=event.action,
            interview_id=event.interview_id,
            object_type=event.object_type,
            object_id=event.object_id,
            details=json.loads(hide(event.details)),
        )


@dataclass(frozen=True)
class ChainProblem:
    seq: int
    problem: str


def verify(session: Session) -> list[ChainProblem]:
    """Walk the chain; every altered, removed or inserted event shows as a problem."""
    problems: list[ChainProblem] = []
    expected_seq, expected_prev = 1, GENESIS_HASH
    for event in session.scalars(select(AuditEvent).order_by(AuditEvent.seq)).yield_per(1000):
        if event.seq != expected_seq:
            problems.append(
                ChainProblem(expected_seq, f"events {expected_seq}..{event.seq - 1} are missing")
            )
        if event.prev_hash != expected_prev:
            problems.append(ChainProblem(event.seq, "does not follow the event before it"))
        if _digest(event) != event.hash:
            problems.append(ChainProblem(event.seq, "was altered after it was written"))
        expected_seq, expected_prev = event.seq + 1, event.hash
    head_seq, head_hash = _read_head(session)
    if head_seq != expected_seq - 1 or head_hash != expected_prev:
        problems.append(
            ChainProblem(expected_seq, f"the newest events up to {head_seq} are missing")
        )
    return problems


def record_read(user: User | None, interview, what: str) -> AuditEvent | None:
    """The read service: a read of content that is not open to everyone is an audit
    event, added to the request's unit of work like any other event (committed with
    the answer, rolled back if the answer fails; see ``archive/unit_of_work.py``)."""
    if policy.effective_level(interview) == "open" and interview.withdrawn_at is None:
        return None
    return record(
        db.session,
        f"read_{what}",
        user if getattr(user, "is_authenticated", False) else None,
        interview_id=interview.id,
        object_type="interview",
        object_id=interview.id,
    )


@dataclass(frozen=True)
class EventFilter:
    action: str = ""
    actor: str = ""
    interview_id: int | None = None
    since: str = ""
    until: str = ""


def filtered_events(session: Session, filters: EventFilter):
    """The audit events matching the filters, newest first (a query to page or stream)."""
    query = select(AuditEvent).order_by(AuditEvent.seq.desc())
    if filters.action:
        query = query.where(AuditEvent.action == filters.action)
    if filters.actor:
        query = query.where(AuditEvent.actor_email == filters.actor.strip().lower())
    if filters.interview_id:
        query = query.where(AuditEvent.interview_id == filters.interview_id)
    for value, later in ((filters.since, False), (filters.until, True)):
        if not value:
            continue
        try:
            day = date.fromisoformat(value)
        except ValueError:
            continue
        if later:
            query = query.where(AuditEvent.created_at < day + timedelta(days=1))
        else:
            query = query.where(AuditEvent.created_at >= day)
    return query


def actions(session: Session) -> list[str]:
    return list(session.scalars(select(AuditEvent.action).distinct().order_by(AuditEvent.action)))


CSV_COLUMNS = (
    "seq",
    "created_at",
    "actor_email",
    "action",
    "interview_id",
    "object_type",
    "object_id",
    "details",
    "hash",
)


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: object) -> object:
    """A cell a spreadsheet will show as text: one starting like a formula (an
    e-mail address such as ``=cmd|' /c calc'!A1``) gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_rows(session: Session, filters: EventFilter, hide=None):
    """The filtered events as CSV lines, streamed (the log can be long); ``hide``
    renders the details as the reader may see them (reasons are typed by staff)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    yield buffer.getvalue()
    for event in session.scalars(filtered_events(session, filters)).yield_per(500):
        buffer.seek(0)
        buffer.truncate()
        row = [getattr(event, column) for column in CSV_COLUMNS]
        if hide is not None:
            row[CSV_COLUMNS.index("details")] = hide(event.details)
        writer.writerow([spreadsheet_safe(value) for value in row])
        yield buffer.getvalue()
