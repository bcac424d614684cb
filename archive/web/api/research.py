"""Search across every transcript the caller may read."""

from __future__ import annotations

from flask import request
from flask_login import current_user

from archive import search
from archive.extensions import db
from archive.search.outputs import SearchResultView
from archive.web.access import public
from archive.web.api.base import bp


def run_search():
    return search.search(
        db.session,
        current_user,
        request.args.get("q", ""),
        collection=request.args.get("collection", type=int),
        language=request.args.get("language") or None,
        speaker_role=request.args.get("role") or None,
        page=request.args.get("page", 1, type=int),
        per_page=request.args.get("per_page", 20, type=int),
    )


@bp.get("/search")
@public
def search_transcripts():
    return SearchResultView.of(run_search()).as_json()
