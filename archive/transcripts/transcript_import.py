"""Loading an index or a corrected transcript made in another tool: OHMS XML or WebVTT.

An archivist uploads an OHMS file (its ``<vtt_transcript>`` and ``<index>``) or a
WebVTT file. Each cue is matched to the interview's segments by time (the segment
it overlaps most; a cue covering several segments must leave them as they are),
and each segment that reads differently becomes one ordinary edit through
``editor.save``: a new revision, compare-and-set on the version read here, names
held, redactions moved, the listening copy remade when what is toned out changes.

What the archivist exported is their rendering: hidden words are labels there
(a pseudonym, "[redacted]"). A cue is turned into the editor's ``parts`` around
those labels, so the stored words come back from the stored text and a label is
never saved in their place; a cue that changes or removes a label is refused with
a message, and its segment is left as it was. An index in the file replaces the
interview's index points (``contents.replace_index_points``, one transaction).

Files are read with no DTD, no entities and no network; anything that is not a
well-formed file of the two kinds is refused before anything is stored.
"""

from __future__ import annotations

import difflib
import html
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from archive import audit, policy, unit_of_work
from archive.errors import N_, ArchiveError, ValidationError
from archive.exports.common import one_line
from archive.extensions import db
from archive.interviews import identity
from archive.models import Interview, Segment, User
from archive.timecodes import hms
from archive.transcripts import contents, editor, positions, redaction, rendering

MAX_BYTES = 2 * 1024 * 1024  # the size of a request's body outside the upload routes
MAX_CUES = 20_000
TOLERANCE = 0.002  # seconds: WebVTT times are whole milliseconds

_TIME = r"(?:(\d{1,3}):)?([0-5]\d):([0-5]\d)[.,](\d{3})"
_TIMING = re.compile(rf"^{_TIME}\s+-->\s+{_TIME}(?:\s.*)?$")
_VOICE = re.compile(r"<v(?:\.[^\s>]*)?(?:\s+([^>]*))?>")
_BREAK = re.compile(r"<br\s*/?>", re.IGNORECASE)
_TAG = re.compile(r"</?[A-Za-z][^>]*>|<\d[^>]*>")
_DECLARATION = re.compile(r"<!\s*(?:DOCTYPE|ENTITY)", re.IGNORECASE)


@dataclass(frozen=True)
class Cue:
    start: float  # seconds from the start of the interview
    end: float
    voice: str
    text: str


@dataclass
class Parsed:
    kind: str  # "ohms" or "vtt"
    cues: list[Cue]
    points: list[dict] | None  # None: the file has no index (the interview's stays)


@dataclass
class Plan:
    """What an import would change, and what it refuses."""

    cues: int = 0
    changes: list[tuple[int, int, dict]] = field(default_factory=list)  # (segment, version, data)
    # (time, template, values): a refusal, the template marked N_ for the catalogues
    refused: list[tuple[str, str, dict]] = field(default_factory=list)
    unknown_voices: list[str] = field(default_factory=list)
    points: list[dict] | None = None

    def summary(self, applied: bool, translate: Callable[..., str] | None = None) -> dict[str, Any]:
        """The counts and refusals; ``translate`` (``gettext``) puts each refusal in the
        reader's language, English without it."""
        say = translate or (lambda template, **values: template % values if values else template)
        return {
            "applied": applied,
            "cues": self.cues,
            "segments_changed": len(self.changes),
            "index_points": None if self.points is None else len(self.points),
            "refused": [
                f"{at}: {say(template, **values)}" for at, template, values in self.refused
            ],
            "unknown_voices": self.unknown_voices,
        }


# ---- reading the file -------------------------------------------------------------------


def parse(data: bytes) -> Parsed:
    """An OHMS XML or WebVTT file, read; ``ValidationError`` for anything else."""
    if not isinstance(data, bytes) or not data.strip():
        raise ValidationError(N_("Choose an OHMS XML (.xml) or WebVTT (.vtt) file to import."))
    if len(data) > MAX_BYTES:
        raise ValidationError(
            N_("The file is larger than %(size)s MB."), size=MAX_BYTES // 1024 // 1024
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationError(N_("The file must be UTF-8 text.")) from None
    head = text.lstrip()
    if head.startswith("WEBVTT"):
        return Parsed("vtt", parse_vtt(text), None)
    if head.startswith("<"):
        return _parse_ohms(data, text)
    raise ValidationError(
        N_("This is neither an OHMS XML file nor a WebVTT file (which starts with WEBVTT).")
    )


def parse_vtt(text: str) -> list[Cue]:
    if not text.lstrip().startswith("WEBVTT"):
        raise ValidationError(N_("The WebVTT transcript must start with WEBVTT."))
    blocks = re.split(r"\n[ \t]*\n", text.replace("\r\n", "\n").replace("\r", "\n").strip())
    raw: list[tuple[float, float, str]] = []
    for block in blocks[1:]:
        lines = block.strip("\n").split("\n")
        if not lines or lines[0].startswith(("NOTE", "STYLE", "REGION")):
            continue
        at = 0 if "-->" in lines[0] else 1  # a cue may have an identifier line first
        if at >= len(lines):
            raise ValidationError(
                N_("A WebVTT block has no timing line: %(block)s"), block=one_line(block)[:60]
            )
        match = _TIMING.match(lines[at].strip())
        if not match:
            raise ValidationError(
                N_("Not a WebVTT timing line: %(line)s"), line=lines[at].strip()[:60]
            )
        start, end = _seconds(match.groups()[:4]), _seconds(match.groups()[4:])
        raw.append((start, end, "\n".join(lines[at + 1 :])))
        if len(raw) > MAX_CUES:
            raise ValidationError(
                N_("The file has more than %(limit)s cues."), limit=f"{MAX_CUES:,}"
            )
    cues = []
    for i, (start, end, payload) in enumerate(raw):
        if end <= start:  # OHMS writes 00:00:00.000 as the last cue's end
            end = raw[i + 1][0] if i + 1 < len(raw) and raw[i + 1][0] > start else start + 1.0
        voice = _VOICE.search(payload)
        words = html.unescape(_TAG.sub("", _BREAK.sub(" ", payload)))
        cues.append(
            Cue(
                start,
                end,
                one_line(html.unescape(voice[1] or "")) if voice else "",
                one_line(words),
            )
        )
    return cues


def _seconds(parts) -> float:
    hours, minutes, seconds, millis = parts
    return int(hours or 0) * 3600 + int(minutes) * 60 + int(seconds) + int(millis) / 1000


def _parse_ohms(data: bytes, text: str) -> Parsed:
    # No document type at all: its entities are how XXE and "billion laughs" work.
    if _DECLARATION.search(text):
        raise ValidationError(N_("The XML file declares a document type or entities; remove them."))
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_pis=True,
    )
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise ValidationError(
            N_("The XML file is not well formed: %(reason)s"), reason=exc.msg
        ) from None
    if etree.QName(root).localname != "ROOT" or _child(root, "record") is None:
        raise ValidationError(N_("This XML file is not an OHMS record (<ROOT><record>)."))
    record = _child(root, "record")
    vtt = (_text(record, "vtt_transcript") or "").strip()
    cues = parse_vtt(vtt) if vtt else []
    index = _child(record, "index")
    points = [_point(p) for p in _children(index, "point")] if index is not None else []
    if not cues and not points:
        raise ValidationError(
            N_(
                "The OHMS file has neither a WebVTT transcript (<vtt_transcript>) nor index "
                "points; an older, line-based <transcript> cannot be matched to the audio."
            )
        )
    return Parsed("ohms", cues, points or None)


def _child(element, name: str):
    return next(iter(_children(element, name)), None)


def _children(element, name: str) -> list:
    return [c for c in element if isinstance(c.tag, str) and etree.QName(c).localname == name]


def _text(element, name: str) -> str:
    child = _child(element, name)
    return "".join(child.itertext()) if child is not None else ""


def _point(element) -> dict:
    raw = _text(element, "time").strip()
    try:
        time = float(raw)
    except ValueError:
        raise ValidationError(
            N_("An index point's time is not a number of seconds: %(time)s"), time=raw[:20]
        ) from None
    point: dict[str, Any] = {
        "time": time,
        "title": one_line(_text(element, "title")),
        "synopsis": _text(element, "synopsis").strip(),
        "keywords": [k for k in (one_line(k) for k in _text(element, "keywords").split(";")) if k],
        "subjects": [k for k in (one_line(k) for k in _text(element, "subjects").split(";")) if k],
        "hyperlinks": [],
    }
    for gps in _children(element, "gpspoints"):
        if _text(gps, "gps").strip():
            point.update(
                gps=_text(gps, "gps").strip(),
                gps_zoom=_text(gps, "gps_zoom").strip(),
                gps_text=one_line(_text(gps, "gps_text")),
            )
            break
    for link in _children(element, "hyperlinks"):
        url = _text(link, "hyperlink").strip()
        if url:
            point["hyperlinks"].append(
                {"url": url, "text": one_line(_text(link, "hyperlink_text"))}
            )
    return point


# ---- matching cues to segments ---------------------------------------------------------


def plan(user: User, interview: Interview, parsed: Parsed) -> Plan:
    """The edits the file makes, as ``editor.save`` takes them; nothing is written."""
    result = Plan(cues=len(parsed.cues), points=parsed.points)
    offsets, position = {}, 0.0
    for recording in interview.recordings:
        offsets[recording.id] = position
        position += recording.duration or 0.0
    segments = [db.session.get(Segment, row.id) for row in rendering.segments_of(interview)]
    redactor = redaction.redactor_for(user, interview)
    labels = redactor or redaction.Redactor(interview)  # what a non-custodian reads
    speakers = _voices(user, interview)

    def span(segment: Segment) -> tuple[float, float]:
        base = offsets.get(segment.recording_id, 0.0)
        return base + segment.start, base + max(segment.end, segment.start)

    def shown(segment: Segment) -> str:
        return redactor.text(segment) if redactor else segment.text

    groups: dict[int, list[Cue]] = {}
    for cue in parsed.cues:
        if not cue.text:
            continue
        overlaps = []
        for segment in segments:
            start, end = span(segment)
            overlap = min(end, cue.end) - max(start, cue.start)
            if overlap > 0:
                overlaps.append((overlap, segment, end - start))
        if not overlaps:
            result.refused.append(_at(cue, N_("no segment is heard at this time.")))
            continue
        covered = [s for overlap, s, length in overlaps if overlap >= 0.5 * max(length, 0.01)]
        if len(covered) > 1:
            if one_line(" ".join(shown(s) for s in covered)) != cue.text:
                result.refused.append(
                    _at(
                        cue,
                        N_(
                            "the cue covers %(count)s segments; split it at their times, "
                            "or correct them in the editor."
                        ),
                        count=len(covered),
                    )
                )
            continue
        best = max(overlaps, key=lambda o: o[0])[1]
        groups.setdefault(best.id, []).append(cue)

    unknown: set[str] = set()
    for segment in segments:
        cues = groups.get(segment.id)
        if not cues:
            continue
        data: dict[str, Any] = {}
        new_text = one_line(" ".join(c.text for c in cues))
        old_shown = shown(segment)
        if new_text != one_line(old_shown):
            hidden = redactor.hidden(segment) if redactor else []
            if hidden:
                parts = _parts(old_shown, positions.chips(hidden), new_text)
                if parts is None:
                    result.refused.append(
                        _at(
                            cues[0],
                            N_(
                                "the cue changes or removes hidden words (a label such as a "
                                "pseudonym or [redacted]); correct this segment in the editor."
                            ),
                        )
                    )
                    continue
                data["parts"] = parts
            else:
                text = _custodian_text(labels, segment, new_text)
                if text is not None and text != segment.text:
                    data["text"] = text
        voice = cues[0].voice
        if voice:
            speaker_id = speakers.get(voice.casefold())
            if speaker_id is None:
                unknown.add(voice)
            elif speaker_id != segment.speaker_id:
                data["speaker_id"] = speaker_id
        base = offsets.get(segment.recording_id, 0.0)
        start = round(min(c.start for c in cues) - base, 3)
        end = round(max(c.end for c in cues) - base, 3)
        if abs(start - segment.start) > TOLERANCE or abs(end - segment.end) > TOLERANCE:
            duration = segment.recording.duration or end
            if 0 <= start < end <= duration + 0.5:
                data.update(start=start, end=end)
            else:
                result.refused.append(
                    _at(cues[0], N_("its times lie outside the segment's recording."))
                )
        if data:
            result.changes.append((segment.id, segment.version, data))
    result.unknown_voices = sorted(unknown)
    return result


def _custodian_text(labels: redaction.Redactor, segment: Segment, new: str) -> str | None:
    """The text a custodian's cue saves. A custodian reads the words as spoken, but the
    file may be an archivist's export, with a label where a name is: when every label
    of the segment's redacted rendering comes through the cue in place, the stored
    words go back under them (the same splice as the editor's), so a pseudonym is not
    saved over the name it hides. None: the cue is that rendering, unchanged."""
    hidden = labels.hidden(segment)
    if not hidden:
        return new
    rendered = redaction.apply(segment.text, hidden)
    if one_line(rendered) == new:
        return None
    parts = _parts(rendered, positions.chips(hidden), new)
    return new if parts is None else positions.splice(segment.text, hidden, parts)


def _at(cue: Cue, why: str, **values: object) -> tuple[str, str, dict]:
    return hms(cue.start), why, values


def _voices(user: User, interview: Interview) -> dict[str, int]:
    """A cue's voice to a speaker: the name the archivist reads, the pseudonym or label."""
    found: dict[str, int] = {}
    for speaker in interview.speakers:
        for name in (speaker.label, speaker.pseudonym, identity.display_name(user, speaker)):
            if name and name.strip():
                found.setdefault(one_line(name).casefold(), speaker.id)
    return found


def _parts(shown: str, chips: list[positions.Chip], new: str) -> list | None:
    """The editor's ``parts`` for ``new``, an edit of ``shown`` (the rendering with
    labels): each label must come through the edit untouched, in order; None if
    one does not."""
    opcodes = difflib.SequenceMatcher(a=shown, b=new, autojunk=False).get_opcodes()
    parts: list = []
    cursor = 0
    for index, chip in enumerate(chips):
        mapped = None
        for tag, a0, a1, b0, _b1 in opcodes:
            if tag == "equal" and a0 <= chip.start and chip.end <= a1:
                mapped = b0 + chip.start - a0
                break
        if mapped is None or mapped < cursor:
            return None
        if mapped > cursor:
            parts.append(new[cursor:mapped])
        parts.append({"hidden": index})
        cursor = mapped + chip.end - chip.start
    if cursor < len(new):
        parts.append(new[cursor:])
    return parts


# ---- applying ------------------------------------------------------------------------


def import_file(
    user: User,
    interview: Interview,
    data: bytes,
    dry_run: bool = False,
    translate: Callable[..., str] | None = None,
) -> dict:
    """Read ``data``, plan the edits and (unless ``dry_run``) make them; the summary,
    its refusals through ``translate`` (``gettext`` on the web)."""
    policy.require(user, "edit_transcript", interview)
    parsed = parse(data)
    if parsed.points is not None:  # checked before any segment changes
        contents.check_points(user, interview, parsed.points)
    result = plan(user, interview, parsed)
    if dry_run:
        db.session.rollback()
        return result.summary(applied=False, translate=translate)
    changed = 0
    # A batch of independent edits: each accepted one is its own unit of work, so a
    # refused one (its rollback) never undoes those applied before it.
    for segment_id, version, changes in result.changes:
        segment = db.session.get(Segment, segment_id)
        try:
            editor.save(user, segment, {**changes, "version": version})
        except ArchiveError as exc:
            result.refused.append((hms(segment.start), exc.template, exc.params))
        else:
            unit_of_work.commit()
            changed += 1
    if result.points is not None:
        contents.replace_index_points(user, interview, result.points)
    audit.record(
        db.session,
        "transcript_imported",
        user,
        interview_id=interview.id,
        object_type="interview",
        object_id=interview.id,
        kind=parsed.kind,
        segments=changed,
        index_points=None if result.points is None else len(result.points),
        refused=len(result.refused),
    )
    db.session.flush()
    summary = result.summary(applied=True, translate=translate)
    summary["segments_changed"] = changed
    return summary
