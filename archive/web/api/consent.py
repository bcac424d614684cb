"""Agreements, access requests, grants and withdrawal in the API."""

from __future__ import annotations

from flask import request
from flask_login import current_user

from archive import consent, interviews, policy
from archive.consent.outputs import AccessRequestView, AgreementView
from archive.consent.schemas import AgreementKeys
from archive.lookup import get_or_404
from archive.models import AccessRequest, Grant
from archive.web.api.base import bp, json_body


@bp.post("/interviews/<int:interview_id>/agreements")
def record_agreement(interview_id: int):
    interview = interviews.get_visible(current_user, interview_id, "record_agreement")
    data = json_body()
    AgreementKeys.parse(data)
    agreement = consent.record_agreement(current_user, interview, data)
    return AgreementView.of(agreement).as_json(), 201


@bp.get("/interviews/<int:interview_id>/agreements")
def agreements(interview_id: int):
    interview = interviews.get_visible(current_user, interview_id, "see_agreements")
    return {"agreements": [AgreementView.of(a).as_json() for a in consent.history(interview)]}


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
    return {"access_requests": [AccessRequestView.of(current_user, r).as_json() for r in rows]}


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
