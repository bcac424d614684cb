"""Agreements, access requests, grants and withdrawal in the API."""

from __future__ import annotations

from flask import request
from flask_login import current_user

from archive import consent, interviews, policy
from archive.consent.schemas import AgreementKeys
from archive.lookup import get_or_404
from archive.models import AccessRequest, Grant
from archive.transcripts import rendering
from archive.web.api.base import bp, json_body


def agreement_json(agreement) -> dict:
    return {
        "version": agreement.version,
        "access_level": agreement.access_level,
        "audio": agreement.audio_permission,
        "identity": agreement.identity,
        "named_speakers": agreement.named_speakers or [],
        "embargo_until": agreement.embargo_until.isoformat() if agreement.embargo_until else None,
        "notes": agreement.notes,
        "withdrawn": agreement.withdrawn,
        "document": bool(agreement.document_key),
        "recorded_at": agreement.created_at.isoformat() + "Z",
        "recorded_by": agreement.recorded_by_id,
    }


@bp.post("/interviews/<int:interview_id>/agreements")
def record_agreement(interview_id: int):
    interview = interviews.get_visible(current_user, interview_id, "record_agreement")
    data = json_body()
    AgreementKeys.parse(data)
    agreement = consent.record_agreement(current_user, interview, data)
    return agreement_json(agreement), 201


@bp.get("/interviews/<int:interview_id>/agreements")
def agreements(interview_id: int):
    interview = interviews.get_visible(current_user, interview_id, "see_agreements")
    return {"agreements": [agreement_json(a) for a in consent.history(interview)]}


@bp.post("/interviews/<int:interview_id>/withdraw")
def withdraw(interview_id: int):
    interview = interviews.get_visible(current_user, interview_id, "withdraw")
    data = json_body()
    purged = consent.withdraw(
        current_user,
        interview,
        data.get("reason", ""),
        purge_master=data.get("purge_master", False),
        confirm_title=data.get("confirm_title"),
    )
    return {"id": interview.id, "withdrawn": True, "masters_purged": purged}


def request_json(row) -> dict:
    purpose, message = rendering.request_texts(current_user, row)
    return {
        "id": row.id,
        "interview_id": row.interview_id,
        "collection_id": row.collection_id,
        "status": row.status,
        "purpose": purpose,
        "message": message,
        "created_at": row.created_at.isoformat() + "Z",
    }


@bp.post("/access-requests")
def request_access():
    row = consent.request_access(current_user, json_body())
    return {"id": row.id, "status": row.status}, 201


@bp.get("/access-requests")
def access_requests():
    if policy.can(current_user, "decide_access"):
        rows = consent.pending_requests()
    else:
        policy.require(current_user, "request_access")
        rows = consent.requests_of(current_user)
    return {"access_requests": [request_json(r) for r in rows]}


@bp.post("/access-requests/<int:request_id>/decision")
def decide(request_id: int):
    policy.require(current_user, "decide_access")
    data = json_body()
    grant = consent.decide(
        current_user,
        get_or_404(AccessRequest, request_id),
        data.get("approve"),
        data.get("expires_on"),
        data.get("message"),
    )
    body = {"id": request_id, "status": "approved" if grant else "refused"}
    if grant:
        body.update(grant_id=grant.id, expires_on=grant.expires_on.isoformat())
    return body


@bp.delete("/grants/<int:grant_id>")
def revoke_grant(grant_id: int):
    policy.require(current_user, "decide_access")
    grant = consent.revoke_grant(
        current_user, get_or_404(Grant, grant_id), request.args.get("reason", "revoked")
    )
    return {"id": grant.id, "ended": True}
