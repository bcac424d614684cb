"""Transcript exports and BagIt bags, always rendered for the caller."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from flask import Response, request, send_file
from flask_login import current_user

from archive import access_copies, audit, exports, interviews, policy, rendering, storage
from archive.errors import NotFoundError
from archive.extensions import db
from archive.web.access import public
from archive.web.api import bp


@bp.get("/interviews/<int:interview_id>/transcript.<path:fmt>")
@public
def export(interview_id: int, fmt: str):
    if fmt not in exports.FORMATS:
        raise NotFoundError()
    interview = interviews.get_visible(current_user, interview_id, "export")
    document = rendering.export_document(current_user, interview)
    timestamps = request.args.get("timestamps", "1") != "0"
    body = exports.render(fmt, document, timestamps=timestamps)
    audit.record_read(db.session, current_user, interview, f"export_{fmt.replace('.', '_')}")
    return Response(
        body,
        mimetype=exports.MIME_TYPES[fmt],
        headers={
            "Content-Disposition": f"attachment; filename={exports.filename(document, fmt)}",
            "Cache-Control": "no-store",
        },
    )


@bp.get("/interviews/<int:interview_id>/bag.zip")
@public
def bag(interview_id: int):
    interview = interviews.get_visible(current_user, interview_id, "export")
    document = rendering.export_document(current_user, interview)
    variant = policy.audio_variant(current_user, interview)
    audio = [
        path
        for recording in interview.recordings
        if variant and (path := access_copies.path_for(recording, variant))
    ]
    root = storage.exports_dir(interview.id)
    root.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(dir=root, prefix="bag-"))
    bag_dir = exports.write_bag(document, work / f"interview-{interview.id}", audio)
    archive_zip = exports.zip_bag(bag_dir)
    audit.record_read(db.session, current_user, interview, "export_bag")
    response = send_file(
        archive_zip,
        mimetype="application/zip",
        as_attachment=True,
        download_name=f"interview-{interview.id}-bag.zip",
    )
    response.call_on_close(lambda: shutil.rmtree(work, ignore_errors=True))
    return response
