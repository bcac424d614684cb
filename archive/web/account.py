"""A person's own account: API tokens and password."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext
from flask_login import current_user, login_user

from archive import accounts, policy
from archive.accounts import tokens
from archive.errors import ArchiveError
from archive.web.errors import translated
from archive.web.forms import EmptyForm, PasswordForm, TokenForm

bp = Blueprint("account", __name__, url_prefix="/account")


@bp.get("/tokens")
def token_list():
    policy.require(current_user, "manage_own_tokens")
    return _tokens_page()


@bp.post("/tokens")
def create_token():
    policy.require(current_user, "manage_own_tokens")
    form = TokenForm()
    new_token = None
    if form.validate_on_submit():
        _token, new_token = tokens.issue_token(current_user, current_user, form.label.data or "")
    return _tokens_page(new_token)


def _tokens_page(new_token: str | None = None) -> str:
    """The person's tokens, and the one just made, shown once in plain text."""
    return render_template(
        "account/tokens.html",
        tokens=tokens.list_tokens(current_user),
        form=TokenForm(),
        revoke_form=EmptyForm(),
        new_token=new_token,
    )


@bp.post("/tokens/<int:token_id>/revoke")
def revoke_token(token_id: int):
    policy.require(current_user, "manage_own_tokens")
    tokens.revoke_token(current_user, current_user, token_id)
    flash(gettext("The token is revoked; it no longer works."), "info")
    return redirect(url_for("account.token_list"))


@bp.route("/password", methods=["GET", "POST"])
def password():
    form = PasswordForm()
    if form.validate_on_submit():
        try:
            revoked = accounts.change_own_password(
                current_user, form.current.data, form.password.data
            )
        except ArchiveError as exc:
            form.current.errors.append(translated(exc))
        else:
            user = current_user._get_current_object()
            accounts.start_session(user)  # this browser stays signed in, on a new session
            login_user(user)
            flash(
                gettext(
                    "Your password is changed; your other sessions are signed out and your "
                    "API tokens are revoked (%(count)s): make new ones where you need them.",
                    count=revoked,
                ),
                "info",
            )
            return redirect(url_for("main.home"))
    return render_template("account/password.html", form=form)
