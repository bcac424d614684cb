"""WebVTT with ``<v Speaker>`` voice spans.

The header says the interview's main language (``Language: ru``, the line players
and YouTube read); a cue in another language wraps its text in a ``<lang kk>`` span,
so a player or screen reader reads it in its own language.

``render`` gives subtitles (long segments split into short cues). ``render_turns``
gives one cue per speaker turn; ``render_segments`` one cue per segment, with its
exact times: OHMS's ``<vtt_transcript>`` (so an import finds each segment again).
"""

from __future__ import annotations

import re

from archive import timecodes
from archive.exports.common import TRANSLATION_NOTE, one_line, turns
from archive.exports.cues import cues
from archive.exports.model import ExportDocument


def vtt_time(seconds: float) -> str:
    return timecodes.cue(seconds, ".")


def escape(text: str) -> str:
    """Cue text escapes: ``&``, ``<`` and ``>`` (which also keeps ``-->`` out)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def voice(speaker: str) -> str:
    name = escape(one_line(speaker))
    return f"<v {name}>" if name else ""


_LANGUAGE_TAG = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*")


def language_tag(code: str | None) -> str:
    """A BCP 47 tag as stored ("ru", "kk", "yue"), or "" for anything else."""
    return code if code and _LANGUAGE_TAG.fullmatch(code) else ""


def header(doc: ExportDocument) -> str:
    main = language_tag(doc.language)
    return f"WEBVTT\nLanguage: {main}" if main else "WEBVTT"


def _cue(start: float, end: float, speaker: str, lines, language: str = "") -> str:
    body = "\n".join(escape(line) for line in lines)
    if language:
        body = f"<lang {language}>{body}</lang>"
    return f"{vtt_time(start)} --> {vtt_time(end)}\n{voice(speaker)}{body}"


def render(doc: ExportDocument, timestamps: bool = True) -> bytes:
    """``timestamps`` is ignored: subtitles are nothing without their times."""
    main = language_tag(doc.language)
    blocks = [header(doc)]
    if doc.machine_translation:
        blocks.append(translation_note())
    for c in cues(doc):
        other = language_tag(c.language)
        blocks.append(_cue(c.start, c.end, c.speaker, c.lines, other if other != main else ""))
    return ("\n\n".join(blocks) + "\n").encode("utf-8")


def render_turns(doc: ExportDocument, ohms_notes: bool = False) -> str:
    """One cue per speaker turn. ``ohms_notes`` frames the cues with the
    ``NOTE TRANSCRIPTION BEGIN`` / ``END`` comments OHMS writes around them."""
    blocks = [header(doc)]
    if doc.machine_translation:
        blocks.append(translation_note())
    if ohms_notes:
        blocks.append("NOTE\nTRANSCRIPTION BEGIN")
    blocks += [_cue(t.start, t.end, t.speaker, [t.text]) for t in turns(doc)]
    if ohms_notes:
        blocks.append("NOTE\nTRANSCRIPTION END")
    return "\n\n".join(blocks) + "\n"


def render_segments(doc: ExportDocument, ohms_notes: bool = False) -> str:
    """One cue per segment (segments with no words left out), each with its voice."""
    main = language_tag(doc.language)
    blocks = [header(doc)]
    if doc.machine_translation:
        blocks.append(translation_note())
    if ohms_notes:
        blocks.append("NOTE\nTRANSCRIPTION BEGIN")
    for s in doc.segments:
        if s.text.split():
            other = language_tag(s.language)
            lines = [one_line(s.text)]
            blocks.append(
                _cue(s.abs_start, s.abs_end, s.speaker, lines, other if other != main else "")
            )
    if ohms_notes:
        blocks.append("NOTE\nTRANSCRIPTION END")
    return "\n\n".join(blocks) + "\n"


def translation_note() -> str:
    """The NOTE block that opens a machine translation's cues."""
    return "NOTE\n" + escape(TRANSLATION_NOTE)
