"""Agreements, access requests, grants and withdrawal: the custodians' services.

An agreement is append-only: each change is a new version and the newest is in
force (its terms are copied onto the interview so lists and search filter in SQL).
Every service writes its audit event in the same transaction as the change.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta
from pathlib import Path
from typing import IO, Any

from sqlalchemy import or_, select, update

from archive import audit, notifications, policy
from archive.errors import N_, ConflictError, NotFoundError, ValidationError, parse_date
from archive.extensions import db
from archive.interviews import speakers
from archive.interviews.sequences import lock, next_number
from archive.models import (
    ACCESS_LEVELS,
    AUDIO_PERMISSIONS,
    IDENTITY_CHOICES,
    AccessRequest,
    Agreement,
    Collection,
    Grant,
    Interview,
    User,
    utcnow,
)
from archive.recordings import listening_copies, storage
from archive.search import indexing

log = logging.getLogger(__name__)

GRANT_DAYS = 365
DOCUMENT_TYPES = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}
MAX_DOCUMENT_BYTES = 50 * 1024 * 1024


# -- agreements ---------------------------------------------------------------


def _choice(data: dict, key: str, choices: tuple[str, ...], default: str) -> str:
    value = data.get(key, default)
    if value not in choices:
        raise ValidationError(
            N_("%(key)s must be one of %(choices)s."), key=key, choices=", ".join(choices)
        )
    return value


def _embargo(data: dict) -> date | None:
    return parse_date(
        data.get("embargo_until"), N_("embargo_until must be a date such as 2051-01-01.")
    )


def agreement_terms(data: dict) -> dict[str, Any]:
    """Validated terms of an agreement, from a form or a JSON body."""
    notes = data.get("notes") or ""
    if not isinstance(notes, str) or len(notes) > 20_000:
        raise ValidationError(N_("notes must be text of at most 20,000 characters."))
    identity = _choice(data, "identity", IDENTITY_CHOICES, "pseudonym")
    return {
        "access_level": _choice(data, "access_level", ACCESS_LEVELS, "sealed"),
        "audio_permission": _choice(data, "audio", AUDIO_PERMISSIONS, "none"),
        "identity": identity,
        "named_speakers": _named_speakers(data) if identity == "named" else None,
        "embargo_until": _embargo(data),
        "notes": notes.strip(),
    }


def _named_speakers(data: dict) -> list[int]:
    value = data.get("named_speakers")
    if isinstance(value, str):
        value = [part for part in value.replace(",", " ").split()]
    if not isinstance(value, list) or not value:
        raise ValidationError(
            N_(
                'With identity "named", say which speakers chose to be named: named_speakers, '
                "a list of speaker ids. Nobody else is shown by name."
            )
        )
    try:
        return sorted({int(item) for item in value if not isinstance(item, bool)})
    except (TypeError, ValueError):
        raise ValidationError(N_("named_speakers must be a list of speaker ids.")) from None


def _check_named(actor: User, interview: Interview, named: list[int] | None) -> None:
    """Showing a name is a custodian's decision, about this interview's speakers."""
    if not named:
        return
    if not policy.can(actor, "manage_agreements", interview):
        raise ValidationError(
            N_(
                "Only a custodian can record that a speaker chose to be named; record the "
                "agreement with identity pseudonym and ask a custodian."
            )
        )
    ids = {s.id for s in interview.speakers}
    if not set(named) <= ids:
        raise ValidationError(N_("named_speakers must be speakers of this interview."))


def record_agreement(
    actor: User,
    interview: Interview,
    data: dict,
    document: IO[bytes] | None = None,
    document_type: str | None = None,
) -> Agreement:
    """Record a new version of the interview's agreement; it is in force at once."""
    if interview.withdrawn_at is not None:
        raise ConflictError(N_("This interview has been withdrawn; its agreement cannot change."))
    terms = agreement_terms(data)
    _check_named(actor, interview, terms["named_speakers"])
    document_key = document_sha = None
    if document is not None:
        document_key, document_sha = _store_document(document, document_type)
    try:
        agreement = _append(actor, interview, terms, document_key, document_sha)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        storage.discard(document_key)
        raise
    speakers.rebuild_access_copies(interview)
    return agreement


def _append(actor, interview, terms, document_key=None, document_sha=None, withdrawn=False):
    lock(Interview, interview.id)
    version = next_number(Agreement.version, Agreement.interview_id == interview.id)
    agreement = Agreement(
        interview_id=interview.id,
        version=version,
        recorded_by_id=actor.id,
        document_key=document_key,
        document_sha256=document_sha,
        withdrawn=withdrawn,
        **terms,
    )
    db.session.add(agreement)
    named = set(terms["named_speakers"] or [])
    identity_changed = interview.identity != terms["identity"] or any(
        bool(s.named) != (s.id in named) for s in interview.all_speakers
    )
    for speaker in interview.all_speakers:
        speaker.named = speaker.id in named
    interview.agreement_version = version
    interview.access_level = terms["access_level"]
    interview.audio_permission = terms["audio_permission"]
    interview.identity = terms["identity"]
    interview.embargo_until = terms["embargo_until"]
    if identity_changed:
        speakers.redactions_changed(interview)
        indexing.reindex(db.session, interview)
    db.session.flush()
    audit.record(
        db.session,
        "agreement_recorded",
        actor,
        interview_id=interview.id,
        object_type="agreement",
        object_id=agreement.id,
        version=version,
        access_level=terms["access_level"],
        audio=terms["audio_permission"],
        identity=terms["identity"],
        named_speakers=terms["named_speakers"],
        embargo_until=terms["embargo_until"].isoformat() if terms["embargo_until"] else None,
        document=bool(document_key),
    )
    return agreement


def _store_document(document: IO[bytes], content_type: str | None) -> tuple[str, str]:
    """The signed agreement, kept like a master: once, read-only, with its checksum."""
    extension = DOCUMENT_TYPES.get((content_type or "").split(";")[0].strip())
    path = Path(document.name)
    head = path.read_bytes()[:8] if path.exists() else b""
    if extension is None or not _looks_like(extension, head):
        raise ValidationError(N_("The signed agreement must be a PDF, JPEG or PNG file."))
    if path.stat().st_size > MAX_DOCUMENT_BYTES:
        raise ValidationError(N_("The signed agreement is larger than 50 MB."))
    sha = storage.sha256_file(path)
    key = storage.store_file(path, "agreements", extension)
    return key, sha


def _looks_like(extension: str, head: bytes) -> bool:
    magic = {"pdf": b"%PDF", "jpg": b"\xff\xd8\xff", "png": b"\x89PNG"}
    return head.startswith(magic[extension])


def history(interview: Interview) -> list[Agreement]:
    query = (
        select(Agreement)
        .where(Agreement.interview_id == interview.id)
        .order_by(Agreement.version.desc())
    )
    return list(db.session.scalars(query))


def get_agreement(interview: Interview, version: int) -> Agreement:
    agreement = db.session.scalar(
        select(Agreement).where(
            Agreement.interview_id == interview.id, Agreement.version == version
        )
    )
    if agreement is None:
        raise NotFoundError()
    return agreement


# -- access requests and grants ------------------------------------------------


def request_access(researcher: User, data: dict) -> AccessRequest:
    """A researcher asks for an interview or a collection, with a purpose."""
    policy.require(researcher, "request_access")
    purpose = data.get("purpose")
    if not isinstance(purpose, str) or len(purpose.strip()) < 20:
        raise ValidationError(N_("Describe your purpose in at least 20 characters."))
    if data.get("accept_terms") not in (True, "true", "y", "yes", "on", "1"):
        raise ValidationError(N_("You must accept the terms of use to ask for access."))
    interview_id, collection_id = data.get("interview_id"), data.get("collection_id")
    if bool(interview_id) == bool(collection_id):
        raise ValidationError(N_("Ask for one interview_id or one collection_id."))
    if interview_id:
        interview = db.session.get(Interview, _id(interview_id))
        policy.require(researcher, "see_metadata", interview)
    elif db.session.get(Collection, _id(collection_id)) is None:
        raise NotFoundError()
    request = AccessRequest(
        researcher_id=researcher.id,
        interview_id=_id(interview_id) if interview_id else None,
        collection_id=_id(collection_id) if collection_id else None,
        purpose=purpose.strip()[:5000],
        accepted_terms=True,
    )
    db.session.add(request)
    db.session.flush()
    audit.record(
        db.session,
        "access_requested",
        researcher,
        interview_id=request.interview_id,
        object_type="access_request",
        object_id=request.id,
        collection=request.collection_id,
    )
    db.session.commit()
    notifications.announce("access_requested", request.id)
    return request


def _id(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValidationError(N_("Ids are whole numbers.")) from None


def get_request(request_id: int) -> AccessRequest:
    request = db.session.get(AccessRequest, request_id)
    if request is None:
        raise NotFoundError()
    return request


def decide(
    custodian: User,
    request: AccessRequest,
    approve: Any,
    expires_on: Any = None,
    message: str | None = None,
) -> Grant | None:
    """Approve (a grant until ``expires_on``, one year by default) or refuse."""
    policy.require(custodian, "decide_access")
    if not isinstance(approve, bool):
        raise ValidationError(N_("approve must be true or false."))
    if message is not None and not isinstance(message, str):
        raise ValidationError(N_("message must be text."))
    expiry = _expiry(expires_on) if approve else None  # every check before any change
    lock(AccessRequest, request.id)  # two custodians at once: one decides, one gets 409
    db.session.refresh(request)
    if request.status != "pending":
        db.session.rollback()
        raise ConflictError(N_("This request has already been decided."))
    request.status = "approved" if approve else "refused"
    request.message = (message or "").strip()[:5000]
    request.decided_by_id, request.decided_at = custodian.id, utcnow()
    grant = None
    if approve:
        grant = Grant(
            researcher_id=request.researcher_id,
            interview_id=request.interview_id,
            collection_id=request.collection_id,
            request_id=request.id,
            granted_by_id=custodian.id,
            expires_on=expiry,
        )
        db.session.add(grant)
        db.session.flush()
    audit.record(
        db.session,
        "access_granted" if approve else "access_refused",
        custodian,
        interview_id=request.interview_id,
        object_type="access_request",
        object_id=request.id,
        grant=grant.id if grant else None,
        expires_on=grant.expires_on.isoformat() if grant else None,
    )
    db.session.commit()
    notifications.announce("access_decided", request.id)
    return grant


def _expiry(value: Any) -> date:
    expiry = parse_date(value, N_("expires_on must be a date such as 2027-06-30."))
    if expiry is None:
        return date.today() + timedelta(days=GRANT_DAYS)
    if expiry <= date.today():
        raise ValidationError(N_("expires_on must be in the future."))
    return expiry


def revoke_grant(custodian: User, grant: Grant, reason: str = "revoked") -> Grant:
    policy.require(custodian, "decide_access")
    if grant.ended_at is None:
        grant.ended_at, grant.ended_reason = utcnow(), (reason or "revoked")[:200]
        audit.record(
            db.session,
            "grant_revoked",
            custodian,
            interview_id=grant.interview_id,
            object_type="grant",
            object_id=grant.id,
        )
        db.session.commit()
    return grant


def get_grant(grant_id: int) -> Grant:
    grant = db.session.get(Grant, grant_id)
    if grant is None:
        raise NotFoundError()
    return grant


def pending_requests() -> list[AccessRequest]:
    query = (
        select(AccessRequest)
        .where(AccessRequest.status == "pending")
        .order_by(AccessRequest.created_at)
    )
    return list(db.session.scalars(query))


def active_grants(expiring_within: int | None = None) -> list[Grant]:
    """Grants in force; with ``expiring_within`` days, only those ending by then."""
    today = date.today()
    query = (
        select(Grant)
        .where(Grant.ended_at.is_(None), or_(Grant.expires_on.is_(None), Grant.expires_on >= today))
        .order_by(Grant.expires_on)
    )
    if expiring_within is not None:
        query = query.where(Grant.expires_on <= today + timedelta(days=expiring_within))
    return list(db.session.scalars(query))


def requests_of(researcher: User) -> list[AccessRequest]:
    query = (
        select(AccessRequest)
        .where(AccessRequest.researcher_id == researcher.id)
        .order_by(AccessRequest.created_at.desc())
    )
    return list(db.session.scalars(query))


def grants_of(researcher: User) -> list[Grant]:
    query = (
        select(Grant).where(Grant.researcher_id == researcher.id).order_by(Grant.created_at.desc())
    )
    return list(db.session.scalars(query))


# -- withdrawal ------------------------------------------------------------------


def withdraw(
    custodian: User,
    interview: Interview,
    reason: str,
    purge_master: bool = False,
    confirm_title: str | None = None,
) -> int:
    """Seal at once for everyone but custodians and admins, remove derived copies and
    index entries, end the grants; with ``purge_master``, delete the masters too.

    One transaction that happens whole or not at all: every check comes first (a
    wrong title refuses the withdrawal as well as the purge, writing nothing), a
    second withdrawal is a ``ConflictError``, and files are deleted only once the
    change is committed. Returns how many masters were purged.
    """
    policy.require(custodian, "withdraw", interview)
    reason = reason.strip() if isinstance(reason, str) else ""
    if len(reason) < 5:
        raise ValidationError(N_("Give the reason for the withdrawal."))
    if not isinstance(purge_master, bool):
        raise ValidationError(N_("purge_master must be true or false."))
    if purge_master:
        _check_title(interview, confirm_title)
    lock(Interview, interview.id)  # two custodians at once: the second waits, then sees it
    db.session.refresh(interview)
    if interview.withdrawn_at is not None:
        db.session.rollback()
        raise ConflictError(N_("This interview is already withdrawn."))
    try:
        interview.withdrawn_at = utcnow()
        terms = {
            "access_level": "sealed",
            "audio_permission": "none",
            "identity": "pseudonym",
            "named_speakers": None,
            "embargo_until": None,
            "notes": f"Withdrawn: {reason}"[:20_000],
        }
        _append(custodian, interview, terms, withdrawn=True)
        ended = db.session.execute(
            update(Grant)
            .where(Grant.interview_id == interview.id, Grant.ended_at.is_(None))
            .values(ended_at=utcnow(), ended_reason="the interview was withdrawn")
            .execution_options(synchronize_session=False)
        ).rowcount
        copies = _drop_derived(interview)
        audit.record(
            db.session,
            "interview_withdrawn",
            custodian,
            interview_id=interview.id,
            object_type="interview",
            object_id=interview.id,
            reason=reason[:500],
            grants_ended=ended,
            copies_removed=len(copies),
        )
        masters = _purge(custodian, interview) if purge_master else []
        indexing.reindex(db.session, interview)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    _delete_files(interview.id, copies + masters)
    for recording in interview.recordings:  # superseded copies too, and half-written ones
        listening_copies.discard_all(recording)
    return len(masters)


def _check_title(interview: Interview, confirm_title: str | None) -> None:
    if not isinstance(confirm_title, str) or confirm_title.strip() != interview.title.strip():
        raise ValidationError(N_("Type the interview's title exactly to confirm the purge."))


def _drop_derived(interview: Interview) -> list[str]:
    """Forget the listening copies (their files go after the commit); the keys."""
    keys = []
    for recording in interview.recordings:
        keys += [k for k in (recording.access_copy_key, recording.full_copy_key) if k]
        recording.access_copy_key = recording.full_copy_key = None
        recording.redaction_version = (recording.redaction_version or 0) + 1
    return keys


def _purge(custodian: User, interview: Interview) -> list[str]:
    keys = []
    for recording in interview.recordings:
        if recording.master_purged_at is None:
            keys.append(recording.master_key)
            recording.master_purged_at = utcnow()
    audit.record(
        db.session,
        "masters_purged",
        custodian,
        interview_id=interview.id,
        object_type="interview",
        object_id=interview.id,
        recordings=len(keys),
    )
    return keys


def _delete_files(interview_id: int, keys: list[str]) -> None:
    """After the commit: a crash here leaves a file too many, never a row without one."""
    for key in keys:
        try:
            storage.discard(key)
        except OSError:
            log.exception("could not delete a file of withdrawn interview %s", interview_id)
    storage.discard_exports(interview_id)


def purge_masters(custodian: User, interview: Interview, confirm_title: str) -> int:
    """Delete a withdrawn interview's masters: explicit, confirmed by the title, audited."""
    policy.require(custodian, "withdraw", interview)
    _check_title(interview, confirm_title)
    lock(Interview, interview.id)
    db.session.refresh(interview)
    if interview.withdrawn_at is None:
        db.session.rollback()
        raise ConflictError(N_("Only a withdrawn interview's recordings can be purged."))
    try:
        keys = _purge(custodian, interview)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    _delete_files(interview.id, keys)
    return len(keys)


def ended_grants_notice(researcher: User) -> list[Grant]:
    """Grants that ended because their interview was withdrawn: told on the page."""
    query = select(Grant).where(
        Grant.researcher_id == researcher.id, Grant.ended_reason == "the interview was withdrawn"
    )
    return list(db.session.scalars(query))
