"""Search across every transcript the caller may read."""

from __future__ import annotations

from flask import request
from flask_login import current_user

from archive import search
from archive.extensions import db
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
    result = run_search()
    return {
        "hits": [
            {
                "interview_id": hit.interview_id,
                "segment_id": hit.segment_id,
                "recording_id": hit.recording_id,
                "start": hit.start,
                "speaker": hit.speaker,
                "speaker_role": hit.speaker_role,
                "text": hit.text,
                "snippet": str(hit.snippet_html),
                # "translation": the words matched the machine translation.
                "track": hit.track,
            }
            for hit in result.hits
        ],
        "total": result.total,
        "page": result.page,
        "facets": result.facets,
    }
