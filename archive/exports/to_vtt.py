"""WebVTT with ``<v Speaker>`` voice spans.

``render`` gives subtitles (long segments split into short cues). ``render_turns``
gives one cue per speaker turn; ``render_segments`` one cue per segment, with its
exact times: OHMS's ``<vtt_transcript>`` (so an import finds each segment again).
"""

from __future__ import annotations

from archive.exports.common import clock, one_line, turns
from archive.exports.cues import cues
from archive.exports.model import ExportDocument


def vtt_time(seconds: float) -> str:
    return clock(seconds, ".")


def escape(text: str) -> str:
    """Cue text escapes: ``&``, ``<`` and ``>`` (which also keeps ``-->`` out)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def voice(speaker: str) -> str:
    name = escape(one_line(speaker))
    return f"<v {name}>" if name else ""


def _cue(start: float, end: float, speaker: str, lines) -> str:
    body = "\n".join(escape(line) for line in lines)
    return f"{vtt_time(start)} --> {vtt_time(end)}\n{voice(speaker)}{body}"


def render(doc: ExportDocument, timestamps: bool = True) -> bytes:
    """``timestamps`` is ignored: subtitles are nothing without their times."""
    blocks = ["WEBVTT"]
    blocks += [_cue(c.start, c.end, c.speaker, c.lines) for c in cues(doc)]
    return ("\n\n".join(blocks) + "\n").encode("utf-8")


def render_turns(doc: ExportDocument, ohms_notes: bool = False) -> str:
    """One cue per speaker turn. ``ohms_notes`` frames the cues with the
    ``NOTE TRANSCRIPTION BEGIN`` / ``END`` comments OHMS writes around them."""
    blocks = ["WEBVTT"]
    if ohms_notes:
        blocks.append("NOTE\nTRANSCRIPTION BEGIN")
    blocks += [_cue(t.start, t.end, t.speaker, [t.text]) for t in turns(doc)]
    if ohms_notes:
        blocks.append("NOTE\nTRANSCRIPTION END")
    return "\n\n".join(blocks) + "\n"


def render_segments(doc: ExportDocument, ohms_notes: bool = False) -> str:
    """One cue per segment (segments with no words left out), each with its voice."""
    blocks = ["WEBVTT"]
    if ohms_notes:
        blocks.append("NOTE\nTRANSCRIPTION BEGIN")
    blocks += [
        _cue(s.abs_start, s.abs_end, s.speaker, [one_line(s.text)])
        for s in doc.segments
        if s.text.split()
    ]
    if ohms_notes:
        blocks.append("NOTE\nTRANSCRIPTION END")
    return "\n\n".join(blocks) + "\n"
