"""Segments in the API: edits, splits and merges, redactions, revisions."""

from __future__ import annotations

from flask_login import current_user

from archive import policy
from archive.lookup import get_or_404
from archive.models import Redaction, Segment
from archive.transcripts import editor, redaction, redaction_edits, revisions, segment_splits
from archive.transcripts import transcript_edits as edits
from archive.transcripts.outputs import RevisionHistoryView
from archive.transcripts.schemas import RedactionRequest
from archive.web.api.base import bp, json_body


def _segment_for(action: str, segment_id: int):
    segment = get_or_404(Segment, segment_id)
    policy.require(current_user, action, segment.recording.interview)
    return segment


def _view(segment) -> dict:
    return editor.segment_view(
        segment, redaction.redactor_for(current_user, segment.recording.interview)
    )


@bp.get("/segments/<int:segment_id>")
def get_segment(segment_id: int):
    """One segment as the editor shows it (after a conflict, to compare)."""
    return {"segment": _view(_segment_for("edit_transcript", segment_id))}


@bp.patch("/segments/<int:segment_id>")
def edit_segment(segment_id: int):
    segment = _segment_for("edit_transcript", segment_id)
    editor.save(current_user, segment, json_body())
    return {"id": segment.id, "version": segment.version, "segment": _view(segment)}


@bp.post("/segments/<int:segment_id>/split")
def split_segment(segment_id: int):
    segment = _segment_for("edit_transcript", segment_id)
    tail = editor.split(current_user, segment, json_body())
    return {"segments": [_view(segment), _view(tail)]}, 201


@bp.post("/segments/<int:segment_id>/merge")
def merge_segment(segment_id: int):
    segment = _segment_for("edit_transcript", segment_id)
    following = segment_splits.next_segment(segment)
    gone = following.id if following else None
    segment_splits.merge_with_next(current_user, segment, json_body().get("version"))
    return {"segment": _view(segment), "removed": gone}


@bp.post("/segments/<int:segment_id>/confirm")
def confirm_segment(segment_id: int):
    """A doubted segment (a possible hallucination) checked against the audio."""
    segment = _segment_for("edit_transcript", segment_id)
    edits.confirm_segment(current_user, segment, json_body().get("version"))
    return {"segment": _view(segment)}


@bp.post("/segments/<int:segment_id>/redactions")
def add_redaction(segment_id: int):
    segment = _segment_for("edit_transcript", segment_id)
    data = json_body()
    if RedactionRequest.parse(data).rendered:
        row = editor.redact(current_user, segment, data)
        return {"id": row.id, "replacement": row.replacement, "segment": _view(segment)}, 201
    row = redaction_edits.add_redaction(
        current_user,
        segment,
        data.get("start"),
        data.get("end"),
        data.get("reason"),
        data.get("replacement"),
        data.get("version"),
    )
    return {"id": row.id, "replacement": row.replacement}, 201


@bp.delete("/redactions/<int:redaction_id>")
def remove_redaction(redaction_id: int):
    row = get_or_404(Redaction, redaction_id)
    policy.require(current_user, "edit_transcript", row.segment.recording.interview)
    redaction_edits.remove_redaction(current_user, row)
    return {"id": row.id, "removed": True}


@bp.get("/segments/<int:segment_id>/revisions")
def segment_revisions(segment_id: int):
    segment = _segment_for("edit_transcript", segment_id)
    history = revisions.revisions(segment)
    return RevisionHistoryView.of(current_user, segment, history).as_json()


@bp.post("/segments/<int:segment_id>/restore")
def restore_segment(segment_id: int):
    segment = _segment_for("edit_transcript", segment_id)
    revisions.restore(current_user, segment, json_body().get("version"))
    return {"id": segment.id, "version": segment.version, "segment": _view(segment)}
