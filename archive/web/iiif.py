"""IIIF Presentation 3 (archive/publishing/iiif.py): a manifest per interview, and a small
player page that reads it, as any IIIF viewer would."""

from __future__ import annotations

from flask import Blueprint, Response, render_template
from flask_login import current_user

from archive import audit, interviews
from archive.publishing import iiif
from archive.web.access import public

bp = Blueprint("iiif", __name__, url_prefix="/iiif")


@bp.get("/interviews/<int:interview_id>/manifest.json")
@public
def manifest(interview_id: int):
    interview = interviews.get_visible(current_user, interview_id, "read_transcript")
    body = iiif.as_json(iiif.manifest(current_user, interview))
    audit.record_read(current_user, interview, "iiif_manifest")
    return Response(
        body,
        content_type=iiif.MEDIA_TYPE,
        headers={
            # Viewers on other sites may read it; they are sent no cookie, so they
            # read what a visitor may.
            "Access-Control-Allow-Origin": "*",
            "Cache-Control": "no-store",
            "Vary": "Cookie, Authorization",
        },
    )


@bp.get("/interviews/<int:interview_id>/player")
@public
def player(interview_id: int):
    interview = interviews.get_visible(current_user, interview_id, "read_transcript")
    return render_template("interviews/player.html", interview=interview)
