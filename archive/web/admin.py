"""Account management for admins."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user

from archive import accounts, policy
from archive.errors import ArchiveError
from archive.i18n import label
from archive.lookup import get_or_404
from archive.models import User
from archive.web.errors import on_error, translated
from archive.web.forms import EditUserForm, NewUserForm

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.before_request
def _admins_only():
    policy.require(current_user, "manage_users")


@bp.get("/users")
def users():
    shown = accounts.list_users()
    role = request.args.get("role")
    if role:
        shown = [user for user in shown if user.role == role]
    if request.args.get("active") in ("0", "1"):
        active = request.args["active"] == "1"
        shown = [user for user in shown if user.active == active]
    return render_template("admin/users.html", users=shown, form=NewUserForm())


@bp.post("/users")
def create_user():
    form = NewUserForm()
    if form.validate_on_submit():
        try:
            user = accounts.create_user(
                current_user,
                form.email.data,
                form.role.data,
                form.password.data,
                form.display_name.data,
            )
        except ArchiveError as exc:
            form.email.errors.append(translated(exc))
        else:
            flash(
                gettext(
                    "Account %(email)s created as %(role)s.",
                    email=user.email,
                    role=label("role", user.role),
                ),
                "info",
            )
            return redirect(url_for("admin.users"))
    return render_template("admin/users.html", users=accounts.list_users(), form=form), 422


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
def edit_user(user_id: int):
    user = get_or_404(User, user_id)
    form = EditUserForm(obj=user)
    if form.validate_on_submit():
        on_error(lambda: render_template("admin/edit_user.html", user=user, form=form))
        accounts.change_role(current_user, user, form.role.data)
        accounts.set_active(current_user, user, form.active.data)
        flash(gettext("Account %(email)s saved.", email=user.email), "info")
        return redirect(url_for("admin.users"))
    return render_template("admin/edit_user.html", user=user, form=form)
