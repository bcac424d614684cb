"""Sign-in, sign-out and researcher self-registration."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user, login_user, logout_user

from archive import accounts
from archive.errors import ArchiveError, AuthenticationError
from archive.extensions import limiter
from archive.web.access import public, safe_next
from archive.web.errors import translated
from archive.web.forms import LoginForm, RegisterForm

bp = Blueprint("auth", __name__)


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


@bp.route("/login", methods=["GET", "POST"])
@public
@limiter.limit(_login_limit, methods=["POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = accounts.authenticate(form.email.data, form.password.data)
        except AuthenticationError as exc:
            form.password.errors.append(translated(exc))
            return render_template("auth/login.html", form=form), 401
        accounts.start_session(user)
        login_user(user)
        return redirect(safe_next(request.args.get("next"), url_for("main.home")))
    return render_template("auth/login.html", form=form)


@bp.post("/logout")
def logout():
    accounts.record_sign_out(current_user)
    logout_user()
    flash(gettext("You are signed out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/register", methods=["GET", "POST"])
@public
@limiter.limit(_login_limit, methods=["POST"])
def register():
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = RegisterForm()
    if form.validate_on_submit():
        try:
            accounts.register_researcher(
                form.email.data, form.password.data, form.display_name.data
            )
        except ArchiveError as exc:
            form.email.errors.append(translated(exc))
            return render_template("auth/register.html", form=form), exc.status
        # The same answer whether or not the address had an account already, so the
        # form cannot be used to learn who has one; nobody is signed in by it.
        flash(
            gettext(
                "Thank you. If this address had no account, your researcher account is "
                "ready: sign in with it, then ask for access to what you need."
            ),
            "info",
        )
        return redirect(url_for("auth.login"))
    return render_template("auth/register.html", form=form)
