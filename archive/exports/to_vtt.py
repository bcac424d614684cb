"""WebVTT with ``<v Speaker>`` voice spans.

``render`` gives subtitles (long segments split into short cues). ``render_turns``
gives one cue per speaker turn, the shape of OHMS's ``<vtt_transcript>``.
"""

from __future__ import annotations

from archive.exports.common import TRANSLATION_NOTE, clock, one_line, turns
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
    if doc.machine_translation:
        blocks.append(translation_note())
    blocks += [_cue(c.start, c.end, c.speaker, c.lines) for c in cues(doc)]
    return ("\n\n".join(blocks) + "\n").encode("utf-8")


def render_turns(doc: ExportDocument, ohms_notes: bool = False) -> str:
    """One cue per speaker turn. ``ohms_notes`` frames the cues with the
    ``NOTE TRANSCRIPTION BEGIN`` / ``END`` comments OHMS writes around them."""
    blocks = ["WEBVTT"]
    if doc.machine_translation:
        blocks.append(translation_note())
    if ohms_notes:
        blocks.append("NOTE\nTRANSCRIPTION BEGIN")
    blocks += [_cue(t.start, t.end, t.speaker, [t.text]) for t in turns(doc)]
    if ohms_notes:
        blocks.append("NOTE\nTRANSCRIPTION END")
    return "\n\n".join(blocks) + "\n"


def translation_note() -> str:
    """The NOTE block that opens a machine translation's cues."""
    return "NOTE\n" + escape(TRANSLATION_NOTE)
