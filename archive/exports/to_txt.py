"""Plain text: a header, then one paragraph per speaker turn.

Title
Date: 2022-01-10
...

[00:01:23] Svetlana: text of the turn
"""

from __future__ import annotations

from archive.exports.common import metadata_lines, one_line, stamp, turns
from archive.exports.model import ExportDocument
from archive.timecodes import hms


def render(doc: ExportDocument, timestamps: bool = True) -> bytes:
    out: list[str] = [one_line(doc.title) or f"Interview {doc.interview_id}"]
    out += [f"{label}: {value}" for label, value in metadata_lines(doc)]
    if doc.summary.strip():
        out += ["", "Summary:", doc.summary.strip()]
    if doc.index_points:
        out += ["", "Contents:"]
        for point in doc.index_points:
            when = f"[{hms(point.time)}] " if timestamps else ""
            out.append(f"{when}{one_line(point.title)}")
    out += ["", "Transcript:"]
    for turn in turns(doc):
        prefix = f"{stamp(turn.start)} " if timestamps else ""
        out += ["", f"{prefix}{one_line(turn.speaker)}: {turn.text}"]
    return ("\n".join(out) + "\n").encode("utf-8")
