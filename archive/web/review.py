"""The archivist's review workspace: the transcript editor synced to the audio."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_babel import gettext
from flask_login import current_user

from archive import audit, interviews, policy
from archive.errors import ArchiveError
from archive.transcripts import editor, transcript_import
from archive.web.errors import translated
from archive.web.forms import EmptyForm

bp = Blueprint("review", __name__)


@bp.get("/interviews/<int:interview_id>/edit")
def edit(interview_id: int):
    """One page load carries the whole transcript; the script saves each change."""
    interview = interviews.get_visible(current_user, interview_id, "edit_transcript")
    data = editor.editor_data(current_user, interview)
    audit.record_read(current_user, interview, "editor")
    return render_template(
        "review/editor.html",
        interview=interview,
        data=data,
        audio_variant=policy.audio_variant(current_user, interview),
    )


@bp.route("/interviews/<int:interview_id>/import", methods=["GET", "POST"])
def import_transcript(interview_id: int):
    """Load an OHMS XML or WebVTT file made in another tool: preview, or import."""
    interview = interviews.get_visible(current_user, interview_id, "edit_transcript")
    form, summary, error, status = EmptyForm(), None, None, 200
    if request.method == "POST":
        upload = request.files.get("file")
        data = upload.stream.read(transcript_import.MAX_BYTES + 1) if upload else b""
        try:
            summary = transcript_import.import_file(
                current_user,
                interview,
                data,
                dry_run=request.form.get("action") != "import",
                translate=gettext,
            )
        except ArchiveError as exc:
            error, status = translated(exc), exc.status
        if error is None and not summary["applied"]:
            summary["note"] = gettext(
                "Nothing is changed yet. Choose the file again and press Import to apply it."
            )
    return (
        render_template(
            "review/import.html", interview=interview, form=form, summary=summary, error=error
        ),
        status,
    )
