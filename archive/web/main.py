"""The home page, and the sample interview an admin may load into an empty archive."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user

from archive import home as work
from archive import interviews, policy, samples
from archive.errors import ArchiveError
from archive.web.access import public

bp = Blueprint("main", __name__)


@bp.get("/")
@public
def home():
    offer_sample = policy.can(current_user, "load_sample") and samples.archive_is_empty()
    return render_template(
        "main/home.html",
        offer_sample=offer_sample,
        work=work.work_for(current_user),
        access_status=interviews.access_status,
        soon_days=work.SOON_DAYS,
    )


@bp.post("/sample-interview")
def load_sample():
    policy.require(current_user, "load_sample")
    try:
        interview = samples.load_sample_interview(current_user)
    except ArchiveError as exc:
        flash(exc.message, "error")
        return redirect(url_for("main.home"))
    flash(
        "The sample interview is loaded. The worker is transcribing it now: the progress "
        "bar below shows how far it has come.",
        "info",
    )
    return redirect(url_for("interviews.detail", interview_id=interview.id))
