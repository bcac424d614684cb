"""Uploads stream straight into recordings/incoming, never into memory whole, and
only on the upload routes (``UPLOAD_ENDPOINTS``), once the request was let in."""

from __future__ import annotations

from typing import IO

from flask import Request, has_app_context, request
from werkzeug.exceptions import UnsupportedMediaType

from archive.recordings import storage

# The only endpoints that take files; everywhere else a body is small and has none.
UPLOAD_ENDPOINTS = frozenset({"api.upload_recording", "interviews.upload", "consent.record"})
# Endpoints that take one small file (an OHMS or WebVTT file to import): within the
# size of a form's body (``MAX_FORM_BYTES``), read like any form, never stored as such.
SMALL_FILE_ENDPOINTS = frozenset({"api.import_transcript", "review.import_transcript"})


def is_upload() -> bool:
    """The request is to an endpoint that takes a recording (a large body)."""
    return request.endpoint in UPLOAD_ENDPOINTS


def takes_small_file() -> bool:
    """The request is to an endpoint that takes one small file, read like a form."""
    return request.endpoint in SMALL_FILE_ENDPOINTS


class ArchiveRequest(Request):
    """A request whose uploaded files are written where masters will be linked from."""

    def _get_file_stream(
        self,
        total_content_length: int | None,
        content_type: str | None,
        filename: str | None = None,
        content_length: int | None = None,
    ) -> IO[bytes]:
        if filename is None or not has_app_context():
            return super()._get_file_stream(
                total_content_length, content_type, filename, content_length
            )
        if takes_small_file():  # the body is within MAX_FORM_BYTES: werkzeug's own spool
            return super()._get_file_stream(
                total_content_length, content_type, filename, content_length
            )
        if not is_upload():
            raise UnsupportedMediaType("Files are accepted only where recordings are uploaded.")
        return storage.incoming_file()
