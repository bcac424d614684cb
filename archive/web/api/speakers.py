"""Speakers in the API: naming, revealing, merging."""

from __future__ import annotations

from flask_login import current_user

from archive import interviews
from archive.interviews import speakers
from archive.interviews.outputs import SpeakerEditorView
from archive.interviews.schemas import MergeInto
from archive.transcripts import rendering
from archive.web.api.base import bp, json_body


@bp.patch("/interviews/<int:interview_id>/speakers/<int:speaker_id>")
def update_speaker(interview_id: int, speaker_id: int):
    data = json_body()
    # Renaming (the pseudonym alone) is part of correcting a transcript; names and
    # roles are the custodian's and the interviewer's.
    action = "rename_speaker" if set(data) == {"pseudonym"} else "manage_speakers"
    interview = interviews.get_visible(current_user, interview_id, action)
    speaker = speakers.get_speaker(interview, speaker_id)
    speakers.update_speaker(current_user, speaker, data)
    return {
        **SpeakerEditorView.of(current_user, speaker).as_json(),
        "names_hidden_in": rendering.fields_hiding_names(interview),
    }


@bp.post("/interviews/<int:interview_id>/speakers/<int:speaker_id>/reveal")
def reveal_speaker(interview_id: int, speaker_id: int):
    interview = interviews.get_visible(current_user, interview_id, "reveal_identity")
    speaker = speakers.get_speaker(interview, speaker_id)
    return speakers.reveal(current_user, speaker, json_body().get("reason"))


@bp.post("/interviews/<int:interview_id>/speakers/<int:speaker_id>/merge")
def merge_speaker(interview_id: int, speaker_id: int):
    interview = interviews.get_visible(current_user, interview_id, "manage_speakers")
    merged = speakers.get_speaker(interview, speaker_id)
    keep = speakers.get_speaker(interview, MergeInto.parse(json_body()).into)
    speakers.merge_speakers(current_user, keep, merged)
    return SpeakerEditorView.of(current_user, keep).as_json()
