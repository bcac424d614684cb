"""SubRip subtitles. SRT has no voice tags: the first cue of each new speaker starts
with ``Name: ``. Times are the interview's (offset + start)."""

from __future__ import annotations

from archive import timecodes
from archive.exports.common import one_line
from archive.exports.cues import cues
from archive.exports.model import ExportDocument


def srt_time(seconds: float) -> str:
    return timecodes.cue(seconds, ",")


def _label(speaker: str) -> str:
    return f"{one_line(speaker)}: "


def render(doc: ExportDocument, timestamps: bool = True) -> bytes:
    """``timestamps`` is ignored: subtitles are nothing without their times."""
    blocks = []
    for number, cue in enumerate(cues(doc, label_width=lambda s: len(_label(s))), start=1):
        lines = list(cue.lines)
        if cue.speaker_changed:
            lines[0] = _label(cue.speaker) + lines[0]
        blocks.append(
            f"{number}\n{srt_time(cue.start)} --> {srt_time(cue.end)}\n" + "\n".join(lines)
        )
    return ("\n\n".join(blocks) + "\n").encode("utf-8") if blocks else b""
