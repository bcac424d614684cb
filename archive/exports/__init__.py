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

from archive.exports.bag import write_bag, zip_bag
from archive.exports.formats import FORMATS, MIME_TYPES
from archive.exports.model import ExportDocument, ExportSegment, IndexPoint
from archive.exports.parts import one_part
from archive.exports.to_json import load_json


def render(fmt: str, doc: ExportDocument, timestamps: bool = True) -> bytes:
    """``FORMATS[fmt](doc, timestamps)``; ``KeyError`` for an unknown format."""
    return FORMATS[fmt](doc, timestamps=timestamps)


def filename(doc: ExportDocument, fmt: str) -> str:
    """A download name made of the interview's number only: ``interview-7.srt``."""
    return f"interview-{doc.interview_id}.{fmt}"


__all__ = [
    "FORMATS",
    "MIME_TYPES",
    "ExportDocument",
    "ExportSegment",
    "IndexPoint",
    "filename",
    "load_json",
    "one_part",
    "render",
    "write_bag",
    "zip_bag",
]
