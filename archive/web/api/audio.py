"""Audio in the API: the listening copy the policy lets the caller hear.

No route serves a master recording: listeners get the listening copy variant
the policy chooses (``policy.audio_variant``); masters are only purged on
withdrawal (api/consent.py)."""

from __future__ import annotations

from flask import request, send_file
from flask_login import current_user

from archive import audit, interviews, policy
from archive.errors import N_, ArchiveError, NotFoundError
from archive.recordings import listening_copies
from archive.web.access import public
from archive.web.api.base import bp


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
