"""The home page."""

from __future__ import annotations

from flask import Blueprint, render_template

from archive.web.access import public

bp = Blueprint("main", __name__)


@bp.get("/")
@public
def home():
    return render_template("main/home.html")
