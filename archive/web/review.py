"""The archivist's review workspace: the transcript editor synced to the audio."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user

from archive import audit, editor, interviews, policy
from archive.extensions import db

bp = Blueprint("review", __name__)


@bp.get("/interviews/<int:interview_id>/edit")
def edit(interview_id: int):
    """One page load carries the whole transcript; the script saves each change."""
    interview = interviews.get_visible(current_user, interview_id, "edit_transcript")
    data = editor.editor_data(current_user, interview)
    audit.record_read(db.session, current_user, interview, "editor")
    return render_template(
        "review/editor.html",
        interview=interview,
        data=data,
        audio_variant=policy.audio_variant(current_user, interview),
    )
