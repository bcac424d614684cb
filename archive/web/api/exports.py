"""Transcript exports and BagIt bags, always rendered for the caller."""

from __future__ import annotations

from flask import Response, request, send_file
from flask_login import current_user

from archive import audit, exports, interviews, policy
from archive.errors import N_, ArchiveError, NotFoundError
from archive.recordings import listening_copies, storage
from archive.transcripts import documents
from archive.web.access import public
from archive.web.api.base import bp


@bp.get("/interviews/<int:interview_id>/transcript.<path:fmt>")
@public
def export(interview_id: int, fmt: str):
    if fmt not in exports.FORMATS:
        raise NotFoundError()
    track = request.args.get("track", "original")
    if track not in ("original", "translation"):
        raise NotFoundError()
    interview = interviews.get_visible(current_user, interview_id, "export")
    document = documents.export_document(current_user, interview, track=track)
    if request.args.get("recording") is not None:
        document = _one_part(interview, document, request.args.get("recording", type=int))
    timestamps = request.args.get("timestamps", "1") != "0"
    body = exports.render(fmt, document, timestamps=timestamps)
    action = f"export_{fmt.replace('.', '_')}" + ("_translation" if track == "translation" else "")
    audit.record_read(current_user, interview, action)
    name = exports.filename(document, fmt)
    if track == "translation":
        name = name.replace(f".{fmt}", f"-machine-translation-en.{fmt}")
    return Response(
        body,
        mimetype=exports.MIME_TYPES[fmt],
        headers={
            "Content-Disposition": f"attachment; filename={name}",
            "Cache-Control": "no-store",
        },
    )


def _one_part(interview, document, recording_id: int | None):
    """``?recording=``: one part, timed from its own start (a IIIF canvas's WebVTT)."""
    start = 0.0
    for recording in interview.recordings:
        if recording.id == recording_id:
            return exports.one_part(document, recording.id, start, recording.duration or 0.0)
        start += recording.duration or 0.0
    raise NotFoundError()


@bp.get("/interviews/<int:interview_id>/bag.zip")
@public
def bag(interview_id: int):
    """The BagIt bag, built while the caller waits: the API promises ``GET bag.zip``
    answers with the bag itself (README, Exports; docs/api.md), so it is not a task.
    One build per interview at a time (429), in a folder removed before the answer."""
    interview = interviews.get_visible(current_user, interview_id, "export")
    document = documents.export_document(current_user, interview)
    variant = policy.audio_variant(current_user, interview)
    audio = [
        path
        for recording in interview.recordings
        if variant and (path := listening_copies.path_for(recording, variant))
    ]
    try:
        archive_zip = exports.bag_file(document, audio, storage.exports_dir(interview.id))
    except exports.BagBusyError:
        raise BagBusyError(
            N_("A bag of this interview is being made; try again in a minute.")
        ) from None
    audit.record_read(current_user, interview, "export_bag")
    return send_file(
        archive_zip,
        mimetype="application/zip",
        as_attachment=True,
        download_name=f"interview-{interview.id}-bag.zip",
    )


class BagBusyError(ArchiveError):
    status = 429
