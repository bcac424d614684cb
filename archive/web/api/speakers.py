"""Speakers, segment edits, redactions and audio in the API."""

from __future__ import annotations

from flask import request, send_file
from flask_login import current_user

from archive import accounts, audit, interviews, policy
from archive.errors import N_, ArchiveError, NotFoundError, ValidationError
from archive.interviews import identity, speakers
from archive.recordings import listening_copies
from archive.transcripts import editor, redaction, rendering
from archive.transcripts import transcript_edits as edits
from archive.web.access import public
from archive.web.api import bp, json_body


def speaker_json(speaker) -> dict:
    return {
        "id": speaker.id,
        "label": speaker.label,
        "name": identity.display_name(current_user, speaker),
        "pseudonym": speaker.pseudonym,
        "role": speaker.role,
        "has_real_name": speakers.has_real_name(speaker),
    }


@bp.patch("/interviews/<int:interview_id>/speakers/<int:speaker_id>")
def update_speaker(interview_id: int, speaker_id: int):
    data = json_body()
    # Renaming (the pseudonym alone) is part of correcting a transcript; names and
    # roles are the custodian's and the interviewer's.
    action = "rename_speaker" if set(data) == {"pseudonym"} else "manage_speakers"
    interview = interviews.get_visible(current_user, interview_id, action)
    speaker = speakers.get_speaker(interview, speaker_id)
    speakers.update_speaker(current_user, speaker, data)
    return {**speaker_json(speaker), "names_hidden_in": rendering.fields_hiding_names(interview)}


@bp.post("/interviews/<int:interview_id>/speakers/<int:speaker_id>/reveal")
def reveal_speaker(interview_id: int, speaker_id: int):
    interview = interviews.get_visible(current_user, interview_id, "reveal_identity")
    speaker = speakers.get_speaker(interview, speaker_id)
    return speakers.reveal(current_user, speaker, json_body().get("reason"))


@bp.post("/interviews/<int:interview_id>/speakers/<int:speaker_id>/merge")
def merge_speaker(interview_id: int, speaker_id: int):
    interview = interviews.get_visible(current_user, interview_id, "manage_speakers")
    merged = speakers.get_speaker(interview, speaker_id)
    keep = speakers.get_speaker(interview, _int(json_body().get("into"), "into"))
    speakers.merge_speakers(current_user, keep, merged)
    return speaker_json(keep)


def _int(value, field: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValidationError(N_("%(field)s must be a speaker id."), field=field) from None


def _segment_for(action: str, segment_id: int):
    segment = edits.get_segment(segment_id)
    policy.require(current_user, action, segment.recording.interview)
    return segment


def _view(segment) -> dict:
    return editor.segment_view(
        segment, redaction.redactor_for(current_user, segment.recording.interview)
    )


@bp.get("/interviews/<int:interview_id>/editor")
def editor_data(interview_id: int):
    interview = interviews.get_visible(current_user, interview_id, "edit_transcript")
    return editor.editor_data(current_user, interview)


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
    following = edits.next_segment(segment)
    gone = following.id if following else None
    edits.merge_with_next(current_user, segment, json_body().get("version"))
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
    if data.get("rendered") is True:
        row = editor.redact(current_user, segment, data)
        return {"id": row.id, "replacement": row.replacement, "segment": _view(segment)}, 201
    row = edits.add_redaction(
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
    row = edits.get_redaction(redaction_id)
    policy.require(current_user, "edit_transcript", row.segment.recording.interview)
    edits.remove_redaction(current_user, row)
    return {"id": row.id, "removed": True}


@bp.get("/interviews/<int:interview_id>/audio")
@public
def interview_audio(interview_id: int):
    interview = interviews.get_visible(current_user, interview_id, "listen")
    variant = policy.audio_variant(current_user, interview)
    recording = _recording_of(interview, request.args.get("recording", type=int))
    path = listening_copies.path_for(recording, variant) if variant else None
    if path is None:
        raise ListeningCopyNotReadyError(
            N_("The listening copy is being prepared; try again in a minute.")
        )
    if request.range is None or request.range.ranges[0][0] == 0:
        audit.record_read(current_user, interview, "audio")
    return send_file(path, mimetype=listening_copies.MIME_TYPE, conditional=True, max_age=0)


class ListeningCopyNotReadyError(ArchiveError):
    status = 503


def _recording_of(interview, recording_id: int | None):
    for recording in interview.recordings:
        if recording_id is None or recording.id == recording_id:
            return recording
    raise NotFoundError()


@bp.get("/segments/<int:segment_id>/revisions")
def segment_revisions(segment_id: int):
    segment = _segment_for("edit_transcript", segment_id)
    redactor = redaction.redactor_for(current_user, segment.recording.interview)
    history = edits.revisions(segment)
    authors = accounts.names_of({r.author_id for r in history if r.author_id})
    return {
        "revisions": [
            {
                "version": r.version,
                "kind": r.kind,
                "text": redactor.earlier(segment, r.text) if redactor else r.text,
                "speaker_id": r.speaker_id,
                "start": r.start,
                "end": r.end,
                "author_id": r.author_id,
                "author": authors.get(r.author_id, "the transcription"),
                "at": r.created_at.isoformat() + "Z",
            }
            for r in history
        ]
    }


@bp.post("/segments/<int:segment_id>/restore")
def restore_segment(segment_id: int):
    segment = _segment_for("edit_transcript", segment_id)
    edits.restore(current_user, segment, json_body().get("version"))
    return {"id": segment.id, "version": segment.version, "segment": _view(segment)}


@bp.post("/interviews/<int:interview_id>/workflow")
def set_workflow(interview_id: int):
    interview = interviews.get_visible(current_user, interview_id, "set_workflow")
    edits.set_workflow(current_user, interview, json_body().get("status"))
    return {"id": interview.id, "workflow_status": interview.workflow_status}
