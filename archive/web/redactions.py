"""The redactions page: hide a phrase or a span of a segment, undo a redaction."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user

from archive import interviews, policy
from archive.lookup import get_or_404
from archive.models import Redaction, Segment
from archive.transcripts import redaction_edits, rendering, suggestions
from archive.web.errors import on_error
from archive.web.forms import EmptyForm

bp = Blueprint("redactions", __name__)


@bp.get("/interviews/<int:interview_id>/redactions")
def index(interview_id: int):
    interview = interviews.get_visible(current_user, interview_id, "edit_transcript")
    marked = suggestions.marked_spans(interview)
    return render_template(
        "redactions/index.html",
        interview=interview,
        marked=marked,
        suggestions=suggestions.suggestions(interview, user=current_user),
        segments={s.id: s for s in rendering.render(current_user, interview)},
        form=EmptyForm(),
    )


@bp.post("/segments/<int:segment_id>/redact")
def redact(segment_id: int):
    segment = get_or_404(Segment, segment_id)
    interview = policy.require(current_user, "edit_transcript", segment.recording.interview)
    back = url_for("redactions.index", interview_id=interview.id)
    on_error(back)
    if request.form.get("start"):
        redaction_edits.add_redaction(
            current_user,
            segment,
            request.form.get("start"),
            request.form.get("end"),
            request.form.get("reason"),
            request.form.get("replacement"),
        )
    else:
        redaction_edits.redact_phrase(
            current_user,
            segment,
            request.form.get("phrase", ""),
            request.form.get("reason", ""),
            request.form.get("replacement"),
        )
    flash(gettext("Redacted. The listening copy is being remade."), "info")
    return redirect(back)


@bp.post("/redactions/<int:redaction_id>/undo")
def undo(redaction_id: int):
    row = get_or_404(Redaction, redaction_id)
    interview = policy.require(current_user, "edit_transcript", row.segment.recording.interview)
    redaction_edits.remove_redaction(current_user, row)
    flash(gettext("The redaction is undone."), "info")
    return redirect(url_for("redactions.index", interview_id=interview.id))
