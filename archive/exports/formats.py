"""The table of transcript formats: a name, how to render it, its media type.

The download route, the API and the BagIt bag all read this one table, so a format
added here is offered, served and packed everywhere at once.
"""

from __future__ import annotations

from collections.abc import Callable

from archive.exports import to_docx, to_json, to_ohms, to_srt, to_txt, to_vtt

Renderer = Callable[..., bytes]

FORMATS: dict[str, Renderer] = {
    "txt": to_txt.render,
    "srt": to_srt.render,
    "vtt": to_vtt.render,
    "json": to_json.render,
    "docx": to_docx.render,
    "ohms.xml": to_ohms.render,
}

MIME_TYPES: dict[str, str] = {
    "txt": "text/plain; charset=utf-8",
    "srt": "application/x-subrip; charset=utf-8",
    "vtt": "text/vtt; charset=utf-8",
    "json": "application/json",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "ohms.xml": "application/xml; charset=utf-8",
    "zip": "application/zip",
}
