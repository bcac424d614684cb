"""The search page: hits open the interview at their moment."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from archive.web.access import public
from archive.web.api.research import run_search

bp = Blueprint("research", __name__)


@bp.get("/search")
@public
def search_page():
    query = request.args.get("q", "")
    result = run_search() if query.strip() else None
    return render_template("research/search.html", query=query, result=result)
