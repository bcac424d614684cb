"""The review workspace in the API: the editor's data and the workflow status."""

from __future__ import annotations

from flask_login import current_user

from archive import interviews
from archive.transcripts import editor, revisions
from archive.web.api.base import bp, json_body


@bp.get("/interviews/<int:interview_id>/editor")
def editor_data(interview_id: int):
    interview = interviews.get_visible(current_user, interview_id, "edit_transcript")
    return editor.editor_data(current_user, interview)


@bp.post("/interviews/<int:interview_id>/workflow")
def set_workflow(interview_id: int):
    interview = interviews.get_visible(current_user, interview_id, "set_workflow")
    revisions.set_workflow(current_user, interview, json_body().get("status"))
    return {"id": interview.id, "workflow_status": interview.workflow_status}
