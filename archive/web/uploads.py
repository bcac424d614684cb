"""Uploads stream straight into recordings/incoming, never into memory whole."""

from __future__ import annotations

from typing import IO

from flask import Request, has_app_context

from archive import storage


class ArchiveRequest(Request):
    """A request whose uploaded files are written where masters will be linked from."""

    def _get_file_stream(
        self,
        total_content_length: int | None,
        content_type: str | None,
        filename: str | None = None,
        content_length: int | None = None,
    ) -> IO[bytes]:
        if filename is not None and has_app_context():
            return storage.incoming_file()
        return super()._get_file_stream(
            total_content_length, content_type, filename, content_length
        )
