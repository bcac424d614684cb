"""The home page, and the sample interview an admin may load into an empty archive."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user

from archive import accounts, i18n, policy, samples
from archive import home as work
from archive.web.access import public, safe_next
from archive.web.errors import on_error
from archive.web.interviews import access_status_text

bp = Blueprint("main", __name__)


@bp.get("/")
@public
def home():
    offer_sample = policy.can(current_user, "load_sample") and samples.archive_is_empty()
    return render_template(
        "main/home.html",
        offer_sample=offer_sample,
        work=work.work_for(current_user),
        access_status=access_status_text,
        soon_days=work.SOON_DAYS,
    )


@bp.post("/sample-interview")
def load_sample():
    policy.require(current_user, "load_sample")
    on_error(url_for("main.home"))
    interview = samples.load_sample_interview(current_user)
    flash(
        gettext(
            "The sample interview is loaded. The worker is transcribing it now: the "
            "progress bar below shows how far it has come."
        ),
        "info",
    )
    return redirect(url_for("interviews.detail", interview_id=interview.id))


@bp.post("/language")
@public
def choose_language():
    """The header's language picker: kept in the account of a signed-in person and,
    for anyone, in a cookie for a year; then back to the page it was chosen on."""
    back = safe_next(request.form.get("next"), url_for("main.home"))
    # The page's query (a search, a filter) comes back from the browser's Referer
    # when it names the same page of this site; the form itself never echoes it.
    referrer = urlsplit(request.referrer or "")
    if referrer.netloc == request.host and referrer.path == back and referrer.query:
        back = safe_next(f"{referrer.path}?{referrer.query}", back)
    chosen = request.form.get("language")
    if chosen not in i18n.LANGUAGES:
        return redirect(back)
    if current_user.is_authenticated:
        accounts.set_locale(current_user, chosen)
    response = redirect(back)
    response.set_cookie(
        i18n.LANGUAGE_COOKIE,
        chosen,
        max_age=i18n.LANGUAGE_COOKIE_MAX_AGE,
        samesite="Lax",
        secure=current_app.config["SESSION_COOKIE_SECURE"],
        httponly=True,
    )
    return response
