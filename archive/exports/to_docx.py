"""Word document (python-docx): title, metadata block, summary, contents, then one
paragraph per speaker turn with the speaker's name in bold and, if asked, the time
stamp of the turn in front."""

from __future__ import annotations

import io

from docx import Document
from docx.shared import RGBColor

from archive.exports.common import (
    ORGANIZATION,
    metadata_lines,
    one_line,
    stamp,
    turns,
    xml_safe,
)
from archive.exports.model import TRANSLATION_LABEL, ExportDocument
from archive.timecodes import hms

_GREY = RGBColor(0x59, 0x59, 0x59)


def render(doc: ExportDocument, timestamps: bool = True) -> bytes:
    document = Document()
    props = document.core_properties
    # The template's own values ("python-docx", its description) are replaced or cleared.
    props.title = xml_safe(one_line(doc.title))
    props.author = ORGANIZATION
    props.last_modified_by = ORGANIZATION
    props.comments = ""
    props.subject = ""
    props.keywords = ""
    props.category = ""
    props.identifier = str(doc.interview_id)
    if doc.language:
        props.language = xml_safe(doc.language)

    document.add_heading(xml_safe(one_line(doc.title)) or f"Interview {doc.interview_id}", level=0)
    for label, value in metadata_lines(doc):
        paragraph = document.add_paragraph()
        paragraph.add_run(f"{label}: ").bold = True
        paragraph.add_run(xml_safe(value))
    if doc.summary.strip():
        document.add_heading("Summary", level=1)
        for part in doc.summary.strip().split("\n\n"):
            document.add_paragraph(xml_safe(part.strip()))
    if doc.index_points:
        document.add_heading("Contents", level=1)
        for point in doc.index_points:
            paragraph = document.add_paragraph()
            if timestamps:
                paragraph.add_run(f"[{hms(point.time)}] ").font.color.rgb = _GREY
            paragraph.add_run(xml_safe(one_line(point.title))).bold = True
            if point.synopsis.strip():
                paragraph.add_run(" " + xml_safe(one_line(point.synopsis)))
            if point.keywords:
                paragraph.add_run(" (" + xml_safe("; ".join(point.keywords)) + ")").italic = True

    document.add_heading(TRANSLATION_LABEL if doc.machine_translation else "Transcript", level=1)
    for turn in turns(doc):
        paragraph = document.add_paragraph()
        if timestamps:
            paragraph.add_run(f"{stamp(turn.start)} ").font.color.rgb = _GREY
        paragraph.add_run(xml_safe(one_line(turn.speaker)) + ":").bold = True
        paragraph.add_run(" " + xml_safe(turn.text))

    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()
