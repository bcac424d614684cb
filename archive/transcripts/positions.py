"""Positions in the rendered text (hidden spans as labels) and in the stored text.

The editor and the transcript import work on the rendering a reader sees; these
map its positions to the segment's own text and back, and put the stored hidden
words back around an edit of the rendering (``splice``), so nobody who may not
read a hidden word ever has to send it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from archive.errors import N_, ValidationError
from archive.transcripts.redaction import Hidden


@dataclass(frozen=True)
class Chip:
    """A hidden span as the editor shows it: a fixed label in the rendered text."""

    start: int  # in the rendered text
    end: int
    source_start: int  # in the segment's own text
    source_end: int
    label: str
    source: str
    redaction_id: int | None


def chips(spans: list[Hidden]) -> list[Chip]:
    """Where each hidden span sits in the rendered text (``apply``'s output)."""
    out, shift = [], 0
    for span in spans:
        start = span.start + shift
        out.append(
            Chip(
                start,
                start + len(span.replacement),
                span.start,
                span.end,
                span.replacement,
                span.source,
                span.redaction_id,
            )
        )
        shift += len(span.replacement) - (span.end - span.start)
    return out


def rendered_offset(chips_: list[Chip], source: int) -> int:
    """The position in the rendered text of a position of the segment's text that
    lies outside every hidden span."""
    shift = 0
    for chip in chips_:
        if chip.source_end > source:
            break
        shift = chip.end - chip.source_end
    return source + shift


def source_offset(spans: list[Hidden], rendered: int, is_end: bool = False) -> int:
    """The position in the segment's text of a position in the rendered text.

    A position inside a label snaps outward (to the hidden span's start, or its end
    for the end of a selection), so a split or a redaction never cuts a hidden word.
    """
    last = None
    for chip in chips(spans):
        if rendered <= chip.start:
            return chip.source_start - (chip.start - rendered)
        if rendered < chip.end:
            return chip.source_end if is_end else chip.source_start
        last = chip
    return rendered if last is None else last.source_end + (rendered - last.end)


def splice(text: str, spans: list[Hidden], parts: list[Any]) -> str:
    """The segment's new text from an edit of its rendering.

    ``parts`` are the edited visible strings and ``{"hidden": i}`` for each hidden
    span the editor kept, in order. The hidden words themselves come from the
    stored text, so a reader of the redacted rendering can correct the words around
    a name without ever holding it, and never saves a pseudonym in its place.
    """
    if not isinstance(parts, list) or len(parts) > 10_000:
        raise ValidationError(N_('parts must be a list of text and {"hidden": n} items.'))
    out: list[str] = []
    last, after_hidden, tail = -1, False, ""
    for part in parts:
        if isinstance(part, str):
            # Text typed right after a hidden word keeps a space from it: glued on,
            # it would make one new word the matcher might no longer know.
            if after_hidden and part[:1].isalnum():
                out.append(" ")
            out.append(part)
            after_hidden, tail = after_hidden and not part, part[-1:] or tail
            continue
        index = part.get("hidden") if isinstance(part, dict) else None
        if not isinstance(index, int) or isinstance(index, bool) or not last < index < len(spans):
            raise ValidationError(
                N_("Each hidden part must name a hidden span of this version once, in order.")
            )
        if tail.isalnum():
            out.append(" ")
        out.append(text[spans[index].start : spans[index].end])
        last, after_hidden, tail = index, True, text[spans[index].end - 1]
    return "".join(out)
