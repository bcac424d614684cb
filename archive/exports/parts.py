"""One part (recording) of an interview's export, timed from that part's start.

A IIIF canvas stands for one recording (archive/publishing/iiif.py): its WebVTT must count
time from that recording's start, not from the interview's."""

from __future__ import annotations

from dataclasses import replace

from archive.exports.model import ExportDocument


def one_part(doc: ExportDocument, recording: int, start: float, duration: float) -> ExportDocument:
    """``doc`` cut to the segments of ``recording``, which begins ``start`` seconds
    into the interview and lasts ``duration``; its index points moved to match."""
    end = start + duration
    return replace(
        doc,
        duration=duration,
        segments=tuple(replace(s, offset=0.0) for s in doc.segments if s.recording == recording),
        index_points=tuple(
            replace(p, time=p.time - start) for p in doc.index_points if start <= p.time < end
        ),
    )
