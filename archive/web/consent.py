"""Consent pages: agreements, withdrawal, access requests and the custodians' queue."""

from __future__ import annotations

from datetime import date, timedelta

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext, ngettext
from flask_login import current_user

from archive import consent, interviews, policy
from archive.lookup import get_or_404
from archive.models import (
    ACCESS_LEVELS,
    AUDIO_PERMISSIONS,
    IDENTITY_CHOICES,
    AccessRequest,
    Grant,
)
from archive.recordings import storage
from archive.transcripts import rendering
from archive.web.errors import on_error
from archive.web.forms import EmptyForm

bp = Blueprint("consent", __name__)


@bp.get("/interviews/<int:interview_id>/agreement")
def agreement(interview_id: int):
    interview = interviews.get_visible(current_user, interview_id, "record_agreement")
    return _agreement_page(interview)


def _agreement_page(interview) -> str:
    history = (
        consent.history(interview) if policy.can(current_user, "see_agreements", interview) else []
    )
    return render_template(
        "consent/agreement.html",
        interview=interview,
        history=history,
        form=EmptyForm(),
        levels=ACCESS_LEVELS,
        audio=AUDIO_PERMISSIONS,
        identities=IDENTITY_CHOICES,
    )


@bp.post("/interviews/<int:interview_id>/agreement")
def record(interview_id: int):
    interview = interviews.get_visible(current_user, interview_id, "record_agreement")
    document = request.files.get("document")
    data = request.form.to_dict()
    data["named_speakers"] = request.form.getlist("named_speakers")
    on_error(lambda: _agreement_page(interview))
    consent.record_agreement(
        current_user,
        interview,
        data,
        document.stream if document and document.filename else None,
        document.mimetype if document and document.filename else None,
    )
    flash(gettext("The agreement is recorded and in force."), "info")
    return redirect(url_for("interviews.detail", interview_id=interview.id))


@bp.get("/interviews/<int:interview_id>/agreements/<int:version>/document")
def document(interview_id: int, version: int):
    interview = interviews.get_visible(current_user, interview_id, "see_agreements")
    row = consent.get_agreement(interview, version)
    if not row.document_key:
        abort(404)
    return send_file(
        storage.recordings_path(row.document_key),
        as_attachment=True,
        download_name=f"agreement-{interview.id}-v{version}",
    )


@bp.post("/interviews/<int:interview_id>/withdraw")
def withdraw(interview_id: int):
    interview = interviews.get_visible(current_user, interview_id, "withdraw")
    on_error(lambda: _agreement_page(interview))
    consent.withdraw(current_user, interview, request.form.get("reason", ""))
    flash(
        gettext("The interview is withdrawn: sealed, its copies removed, its grants ended."),
        "info",
    )
    return redirect(url_for("consent.agreement", interview_id=interview.id))


@bp.post("/interviews/<int:interview_id>/purge")
def purge(interview_id: int):
    interview = interviews.get_visible(current_user, interview_id, "withdraw")
    on_error(lambda: _agreement_page(interview))
    count = consent.purge_masters(current_user, interview, request.form.get("confirm_title"))
    flash(
        ngettext("%(num)d master recording deleted.", "%(num)d master recordings deleted.", count),
        "info",
    )
    return redirect(url_for("consent.agreement", interview_id=interview.id))


@bp.route("/access/request", methods=["GET", "POST"])
def ask():
    policy.require(current_user, "request_access")
    interview = interviews.get_visible(
        current_user, request.values.get("interview", type=int) or 0, "see_metadata"
    )
    if request.method == "POST":
        data = {
            "interview_id": interview.id,
            "purpose": request.form.get("purpose", ""),
            "accept_terms": request.form.get("accept_terms"),
        }
        on_error(
            lambda: render_template(
                "consent/ask.html", interview=interview, form=EmptyForm(), purpose=data["purpose"]
            )
        )
        consent.request_access(current_user, data)
        flash(
            gettext("Your request is sent. A custodian will decide; you see its status here."),
            "info",
        )
        return redirect(url_for("consent.mine"))
    return render_template("consent/ask.html", interview=interview, form=EmptyForm(), purpose="")


@bp.get("/access/mine")
def mine():
    policy.require(current_user, "request_access")
    requests = consent.requests_of(current_user)
    return render_template(
        "consent/mine.html",
        requests=requests,
        messages={r.id: rendering.request_texts(current_user, r)[1] for r in requests},
        grants=consent.grants_of(current_user),
        today=date.today(),
    )


@bp.get("/access/queue")
def queue():
    policy.require(current_user, "decide_access")
    expiring = request.args.get("expiring", type=int)
    expiring = expiring if expiring is not None and 0 <= expiring <= 3660 else None
    return render_template(
        "consent/queue.html",
        requests=consent.pending_requests(),
        grants=consent.active_grants(expiring_within=expiring),
        expiring=expiring,
        form=EmptyForm(),
        default_expiry=date.today() + timedelta(days=consent.GRANT_DAYS),
    )


@bp.post("/access/requests/<int:request_id>/decide")
def decide(request_id: int):
    policy.require(current_user, "decide_access")
    approve = request.form.get("decision") == "approve"
    on_error(url_for("consent.queue"))
    consent.decide(
        current_user,
        get_or_404(AccessRequest, request_id),
        approve,
        request.form.get("expires_on"),
        request.form.get("message"),
    )
    flash(gettext("Access granted.") if approve else gettext("Request refused."), "info")
    return redirect(url_for("consent.queue"))


@bp.post("/access/grants/<int:grant_id>/revoke")
def revoke(grant_id: int):
    policy.require(current_user, "decide_access")
    consent.revoke_grant(current_user, get_or_404(Grant, grant_id))
    flash(gettext("The grant is revoked."), "info")
    return redirect(url_for("consent.queue"))
