"""Exports of a transcript already rendered for its reader (pseudonyms, redactions).

Nothing here reads the database, identities or the policy: every export is made from
the :class:`ExportDocument` the caller passes in, and adds no words of its own beyond
fixed labels ("Date", "Place", ...) and time stamps.

    from archive.exports import FORMATS, MIME_TYPES, ExportDocument
    body = FORMATS["srt"](doc)                 # bytes
    body = FORMATS["docx"](doc, timestamps=False)
    doc2 = load_json(FORMATS["json"](doc))     # == doc
    bag = write_bag(doc, Path(".../bag-7"), [access_copy_path])
    archive_zip = zip_bag(bag)
"""

from __future__ import annotations

from collections.abc import Callable

from archive.exports import to_docx, to_json, to_ohms, to_srt, to_txt, to_vtt
from archive.exports.bag import BagBusyError, bag_file, write_bag, zip_bag
from archive.exports.model import ExportDocument, ExportSegment, IndexPoint
from archive.exports.parts import one_part
from archive.exports.to_json import load_json

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


def render(fmt: str, doc: ExportDocument, timestamps: bool = True) -> bytes:
    """``FORMATS[fmt](doc, timestamps)``; ``KeyError`` for an unknown format."""
    return FORMATS[fmt](doc, timestamps=timestamps)


def filename(doc: ExportDocument, fmt: str) -> str:
    """A download name made of the interview's number only: ``interview-7.srt``."""
    return f"interview-{doc.interview_id}.{fmt}"


__all__ = [
    "FORMATS",
    "MIME_TYPES",
    "BagBusyError",
    "ExportDocument",
    "ExportSegment",
    "IndexPoint",
    "bag_file",
    "filename",
    "load_json",
    "one_part",
    "render",
    "write_bag",
    "zip_bag",
]
