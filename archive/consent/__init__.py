"""Agreements, access requests, grants and withdrawal: the custodians' services.

An agreement is append-only: each change is a new version and the newest is in
force (its terms are copied onto the interview so lists and search filter in SQL).
Every service writes its audit event in the same transaction as the change and
leaves the commit to the unit of work (``archive/unit_of_work.py``): what must follow
the commit (a listening-copy rebuild, a notification, deleting files) waits for it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import date, timedelta
from pathlib import Path
from typing import IO, Any

from sqlalchemy import or_, select, update

from archive import audit, notifications, policy, unit_of_work
from archive.consent.schemas import (
    GRANT_DAYS,  # noqa: F401  (the form's default expiry: web/consent.py)
    AccessRequestBody,
    AgreementTerms,
    Decision,
    Withdrawal,
)
from archive.errors import N_, ConflictError, NotFoundError, ValidationError
from archive.extensions import db
from archive.interviews.sequences import lock, next_number
from archive.models import (
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

DOCUMENT_TYPES = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}
MAX_DOCUMENT_BYTES = 50 * 1024 * 1024


# -- agreements ---------------------------------------------------------------


def agreement_terms(data: Mapping[str, Any] | AgreementTerms) -> dict[str, Any]:
    """Validated terms of an agreement, from a form or a JSON body."""
    return AgreementTerms.parse(data).terms()


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
    data: Mapping[str, Any] | AgreementTerms,
    document: IO[bytes] | None = None,
    document_type: str | None = None,
) -> Agreement:
    """Record a new version of the interview's agreement; it is in force at once."""
    policy.require(actor, "record_agreement", interview)
    return _record(actor, interview, data, document, document_type)


def record_sample_agreement(
    actor: User, interview: Interview, data: Mapping[str, Any] | AgreementTerms
) -> Agreement:
    """The sample interview's first agreement (``archive/samples``), recorded by the
    admin who loads the sample: loading it is what the policy is asked. Never over
    an agreement already in force: anything else is the same 404."""
    policy.require(actor, "load_sample")
    if interview.agreement_version != 0:
        raise NotFoundError()
    return _record(actor, interview, data)


def _record(
    actor: User,
    interview: Interview,
    data: Mapping[str, Any] | AgreementTerms,
    document: IO[bytes] | None = None,
    document_type: str | None = None,
) -> Agreement:
    if interview.withdrawn_at is not None:
        raise ConflictError(N_("This interview has been withdrawn; its agreement cannot change."))
    terms = agreement_terms(data)
    _check_named(actor, interview, terms["named_speakers"])
    document_key = document_sha = None
    if document is not None:
        document_key, document_sha = _store_document(document, document_type)
    try:
        agreement = _append(actor, interview, terms, document_key, document_sha)
    except BaseException:
        db.session.rollback()
        storage.discard(document_key)
        raise
    # A commit refused later leaves the document a file too many, never a row without it.
    listening_copies.rebuild_after_commit(interview)
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
        listening_copies.outdate(interview)
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


def request_access(researcher: User, data: Mapping[str, Any] | AccessRequestBody) -> AccessRequest:
    """A researcher asks for an interview or a collection, with a purpose."""
    policy.require(researcher, "request_access")
    body = AccessRequestBody.parse(data)
    if body.interview_id:
        interview = db.session.get(Interview, body.interview_id)
        policy.require(researcher, "see_metadata", interview)
    elif db.session.get(Collection, body.collection_id) is None:
        raise NotFoundError()
    request = AccessRequest(
        researcher_id=researcher.id,
        interview_id=body.interview_id,
        collection_id=body.collection_id,
        purpose=body.purpose,
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
    unit_of_work.after_commit(lambda: notifications.announce("access_requested", request.id))
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
    # Every check before any change.
    decision = Decision.parse({"approve": approve, "expires_on": expires_on, "message": message})
    approve, expiry, message = decision.approve, decision.expires_on, decision.message
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
    unit_of_work.after_commit(lambda: notifications.announce("access_decided", request.id))
    return grant


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
        db.session.flush()
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
    change is committed (``unit_of_work.after_commit``). Returns how many masters were purged.
    """
    policy.require(custodian, "withdraw", interview)
    checked = Withdrawal.parse({"reason": reason, "purge_master": purge_master})
    reason, purge_master = checked.reason, checked.purge_master
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
        db.session.flush()
    except BaseException:
        db.session.rollback()
        raise

    def delete_files() -> None:
        _delete_files(interview.id, copies + masters)
        for recording in interview.recordings:  # superseded copies too, and half-written ones
            listening_copies.discard_all(recording)

    unit_of_work.after_commit(delete_files)
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
    listening_copies.outdate(interview)
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
        db.session.flush()
    except BaseException:
        db.session.rollback()
        raise
    unit_of_work.after_commit(lambda: _delete_files(interview.id, keys))
    return len(keys)
