"""Interviews, recordings and transcripts in the API."""

from __future__ import annotations

from flask import request
from flask_babel import gettext
from flask_login import current_user

from archive import audit, interviews, policy, recordings
from archive.errors import N_, ValidationError
from archive.interviews.outputs import (
    InterviewSummaryView,
    RecordingStatusView,
    interview_view,
    status_view,
)
from archive.interviews.schemas import InterviewChanges
from archive.transcripts import citations, contents, rendering, transcript_import
from archive.web.access import public
from archive.web.api.base import bp, json_body


@bp.post("/interviews")
def create_interview():
    policy.require(current_user, "create_interview")
    interview = interviews.create_interview(current_user, json_body())
    return {"id": interview.id, "names_hidden_in": rendering.fields_hiding_names(interview)}, 201


@bp.get("/interviews")
@public
def list_interviews():
    filters = interviews.CatalogueFilter.from_args(request.args)
    page = interviews.list_visible(
        current_user,
        page=request.args.get("page", 1, type=int),
        per_page=min(request.args.get("per_page", 25, type=int), 100),
        filters=filters,
    )
    return {
        "interviews": [InterviewSummaryView.of(current_user, i).as_json() for i in page.items],
        "page": page.page,
        "pages": page.pages,
        "total": page.total,
    }


@bp.get("/interviews/<int:interview_id>")
@public
def get_interview(interview_id: int):
    interview = interviews.get_visible(current_user, interview_id, "see_metadata")
    return interview_view(current_user, interview).of(current_user, interview).as_json()


@bp.patch("/interviews/<int:interview_id>")
def update_interview(interview_id: int):
    """Change an interview's details; for now its ``languages`` ("ru, kk" or a list)."""
    interview = interviews.get_visible(current_user, interview_id, "edit_metadata")
    data = json_body()
    changes = InterviewChanges.parse(data)
    if "languages" in changes.model_fields_set:
        interviews.update_languages(current_user, interview, changes.languages)
    return interview_view(current_user, interview).of(current_user, interview).as_json()


@bp.post("/interviews/<int:interview_id>/recordings")
def upload_recording(interview_id: int):
    interview = interviews.get_visible(current_user, interview_id, "upload")
    files = [f for f in request.files.getlist("file") if f.filename]
    if len(files) != 1:
        raise ValidationError(N_("Send one recording per request, as the multipart field 'file'."))
    recording = recordings.add_recording(
        current_user, interview, files[0].stream, files[0].filename
    )
    return {"id": recording.id, "status": recording.status}, 202


@bp.get("/recordings/<int:recording_id>")
@public
def get_recording(recording_id: int):
    recording = recordings.get_visible(current_user, recording_id, "see_restricted_metadata")
    return status_view(current_user, recording).of(current_user, recording).as_json()


@bp.post("/recordings/<int:recording_id>/retry")
def retry_recording(recording_id: int):
    recording = recordings.get_visible(current_user, recording_id, "retry_job")
    recordings.retry(current_user, recording)
    return RecordingStatusView.of(current_user, recording).as_json(), 202


@bp.get("/interviews/<int:interview_id>/transcript")
@public
def transcript(interview_id: int):
    interview = interviews.get_visible(current_user, interview_id, "read_transcript")
    segments = rendering.render(current_user, interview, translation=True)
    audit.record_read(current_user, interview, "transcript")
    track = rendering.translation_track(interview)
    payload = {"segments": [s.as_json() for s in segments]}
    if track.status is not None:
        # Each segment's "translation" (when made): a machine translation, so labelled.
        payload["translation"] = {
            "label": gettext("Machine translation"),
            "language": track.language,
            "status": track.status,
        }
    return payload


@bp.post("/interviews/<int:interview_id>/transcript/import")
def import_transcript(interview_id: int):
    """An OHMS XML or WebVTT file (multipart field ``file``) onto the interview's
    segments and index; ``dry_run=1`` says what would change and changes nothing."""
    interview = interviews.get_visible(current_user, interview_id, "edit_transcript")
    files = [f for f in request.files.getlist("file") if f.filename]
    if len(files) != 1:
        raise ValidationError(
            N_("Send one OHMS XML or WebVTT file, as the multipart field 'file'.")
        )
    dry_run = (request.values.get("dry_run") or "").lower() in ("1", "true", "yes")
    data = files[0].stream.read(transcript_import.MAX_BYTES + 1)
    return transcript_import.import_file(
        current_user, interview, data, dry_run=dry_run, translate=gettext
    )


@bp.get("/interviews/<int:interview_id>/citation")
@public
def citation(interview_id: int):
    interview = interviews.get_visible(current_user, interview_id, "see_metadata")
    at = citations.moment(request.args.get("t"))
    return {
        "citation": citations.cite(current_user, interview, at),
        "url": citations.interview_url(interview, at),
        "styles": citations.styles(current_user, interview, at),
        "csl": citations.csl(current_user, interview, at),
    }


@bp.get("/interviews/<int:interview_id>/index-points")
@public
def index_points(interview_id: int):
    interview = interviews.get_visible(current_user, interview_id, "read_transcript")
    return {"index_points": [vars(p) for p in rendering.contents_for(current_user, interview)]}


@bp.post("/interviews/<int:interview_id>/index-points")
def add_index_point(interview_id: int):
    interview = interviews.get_visible(current_user, interview_id, "edit_transcript")
    point = contents.add_index_point(current_user, interview, json_body())
    return {"id": point.id}, 201


@bp.delete("/interviews/<int:interview_id>/index-points/<int:point_id>")
def remove_index_point(interview_id: int, point_id: int):
    interview = interviews.get_visible(current_user, interview_id, "edit_transcript")
    contents.remove_index_point(current_user, interview, point_id)
    return {"id": point_id, "removed": True}
