"""Uploads stream straight into recordings/incoming, never into memory whole, and
only on the upload routes (``access.UPLOAD_ENDPOINTS``), once the request was let in."""

from __future__ import annotations

from typing import IO

from flask import Request, has_app_context
from werkzeug.exceptions import UnsupportedMediaType

from archive.recordings import storage


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
        from archive.web.access import is_upload, takes_small_file

        if takes_small_file():  # the body is within MAX_FORM_BYTES: werkzeug's own spool
            return super()._get_file_stream(
                total_content_length, content_type, filename, content_length
            )
        if not is_upload():
            raise UnsupportedMediaType("Files are accepted only where recordings are uploaded.")
        return storage.incoming_file()
