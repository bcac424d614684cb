"""OHMS XML: the file the OHMS viewer (Oral History Metadata Synchronizer, Louie B.
Nunn Center, University of Kentucky) reads, one ``<record>`` per interview.

Layout: OHMS export schema version 6.0, namespace
``https://www.weareavp.com/nunncenter/ohms``; the children of ``<record>`` come in
the order the schema's sequence gives (``RECORD_ELEMENTS``)::

    <ROOT xmlns="https://www.weareavp.com/nunncenter/ohms" ...>
      <record id="7" dt="2024-05-01">
        <version>6.0</version> <date value="2022-01-10" format="yyyy-mm-dd"/> ...
        <title/> <accession/> <duration>01:02:03</duration> <collection_name/> ...
        <sync>1:|3(14)|5(2)</sync>
        <index><point><time>SECONDS</time><title/><partial_transcript/>...<synopsis/>
          <keywords>a;b</keywords>...<subjects/>
          <gpspoints><gps>LAT, LON</gps><gps_zoom/><gps_text/>...</gpspoints>
          <hyperlinks><hyperlink>URL</hyperlink><hyperlink_text/>...</hyperlinks>
        </point></index>
        <transcript>Svetlana: ...</transcript>
        <vtt_transcript>WEBVTT ...</vtt_transcript> ...
      </record>
    </ROOT>

``<transcript>`` is the legacy, line-based transcript: one line per speaker turn
(``[00:01:23] Svetlana: text``; the stamp only with ``timestamps``), turns separated
by an empty line. ``<sync>`` ties it to the audio the way OHMS does:
``1:|13(3)|19(14)`` means one-minute steps, the word heard at 1:00 is word 3 of
line 13, at 2:00 word 14 of line 19 (lines and words counted from 1, words split at
white space). The word heard at a minute is estimated from the segment's start and
end, sharing its time evenly among its words; a minute in a pause points at the
first word after it. Newer OHMS viewers read ``<vtt_transcript>`` (WebVTT, one cue
per segment, ``<v Speaker>`` voices) instead, with exact times; an import
finds each segment again by them (archive/transcripts/transcript_import.py).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re

from lxml import etree as ET

from archive.exports import to_vtt
from archive.exports.common import ORGANIZATION, one_line, stamp, turns, xml_safe
from archive.exports.model import TRANSLATION_LABEL, ExportDocument
from archive.timecodes import hms

NS = "https://www.weareavp.com/nunncenter/ohms"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
VERSION = "6.0"
SYNC_MINUTES = 1

# The sequence of <record>'s children in the OHMS 6.0 schema (all we write).
RECORD_ELEMENTS = (
    "version", "date", "date_nonpreferred_format", "cms_record_id", "title", "accession",
    "duration", "collection_id", "collection_name", "series_id", "series_name", "repository",
    "funding", "repository_url", "interviewee", "interviewer", "format", "file_name", "sync",
    "sync_alt", "transcript_alt_lang", "translate", "media_id", "media_url", "mediafile",
    "kembed", "language", "user_notes", "index", "type", "description", "rel", "transcript",
    "transcript_alt", "vtt_transcript", "vtt_transcript_alt", "rights", "fmt", "usage",
    "userestrict", "xmllocation", "xmlfilename", "collection_link", "series_link",
)  # fmt: skip
POINT_ELEMENTS = (
    "time", "title", "title_alt", "partial_transcript", "partial_transcript_alt", "synopsis",
    "synopsis_alt", "keywords", "keywords_alt", "subjects", "subjects_alt", "gpspoints",
    "hyperlinks",
)  # fmt: skip
GPS_ELEMENTS = ("gps", "gps_zoom", "gps_text", "gps_text_alt")
LINK_ELEMENTS = ("hyperlink", "hyperlink_text", "hyperlink_text_alt")

# The elements that hold the machine translation, marked type="Machine translation".
ALT_ELEMENTS = ("transcript_alt_lang", "transcript_alt", "vtt_transcript_alt")

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _q(tag: str) -> str:
    return f"{{{NS}}}{tag}"


def legacy_transcript(doc: ExportDocument, timestamps: bool = True) -> tuple[list[str], str]:
    """The ``<transcript>`` lines and the ``<sync>`` value for them."""
    lines: list[str] = []
    # per segment with words: (interview start, end, line number, number of its first word, words)
    placed: list[tuple[float, float, int, int, int]] = []
    for turn in turns(doc):
        if lines:
            lines.append("")
        prefix = [stamp(turn.start)] if timestamps else []
        prefix += f"{one_line(turn.speaker)}:".split()
        line_number = len(lines) + 1
        position = len(prefix) + 1
        for segment in turn.segments:
            count = len(segment.text.split())
            placed.append((segment.abs_start, segment.abs_end, line_number, position, count))
            position += count
        lines.append(" ".join([*prefix, turn.text]))
    return lines, _sync(placed)


def _sync(placed: list[tuple[float, float, int, int, int]]) -> str:
    if not placed:
        return ""
    last_end = max(p[1] for p in placed)
    entries = []
    minute = 1
    while minute * 60 * SYNC_MINUTES < last_end:
        t = minute * 60 * SYNC_MINUTES
        heard = [p for p in placed if p[0] <= t < p[1]]
        if heard:  # the latest segment to start of those heard at t
            start, end, line, first, count = max(heard, key=lambda p: p[0])
            word = (line, first + min(count - 1, int((t - start) / (end - start) * count)))
        else:  # a pause: the first word heard after it
            after = [p for p in placed if p[0] > t]
            if not after:
                break
            _, _, line, first, _ = min(after, key=lambda p: p[0])
            word = (line, first)
        entries.append(f"{word[0]}({word[1]})")
        minute += 1
    return f"{SYNC_MINUTES}:|" + "|".join(entries) if entries else ""


def render(
    doc: ExportDocument, timestamps: bool = True, exported_on: dt.date | None = None
) -> bytes:
    root = ET.Element(_q("ROOT"), nsmap={None: NS, "xsi": XSI})
    root.set(f"{{{XSI}}}schemaLocation", f"{NS} {NS}/ohms.xsd")
    day = (exported_on or dt.datetime.now(dt.UTC).date()).isoformat()
    record = ET.SubElement(root, _q("record"), {"id": str(doc.interview_id), "dt": day})
    values: dict[str, str | None] = {name: None for name in RECORD_ELEMENTS}

    recorded = (doc.recorded_on or "").strip()
    iso = bool(_ISO_DATE.fullmatch(recorded))
    lines, sync = legacy_transcript(doc, timestamps)

    def names(role: str) -> str:
        return "; ".join(one_line(name) for name, r in doc.speakers if r == role)

    alternate = _alternate(doc)
    alt_lines, alt_sync = legacy_transcript(alternate, timestamps) if alternate else ([], "")
    values.update(
        version=VERSION,
        date_nonpreferred_format="" if iso else recorded,
        title=one_line(doc.title),
        accession=str(doc.interview_id),
        duration=hms(doc.duration),
        collection_name=doc.collection or "",
        repository=ORGANIZATION,
        interviewee=names("narrator"),
        interviewer=names("interviewer"),
        sync=sync,
        # The alternate-language transcript: the machine translation into English.
        translate="1" if alternate else "0",
        transcript_alt_lang=alternate.language if alternate else "",
        sync_alt=alt_sync,
        transcript_alt="\n".join(alt_lines),
        vtt_transcript_alt=(
            to_vtt.render_segments(alternate, ohms_notes=True) if alternate else ""
        ),
        # Every language listed for the interview, main one first ("ru;kk").
        language=";".join(doc.languages) if doc.languages else (doc.language or ""),
        description=doc.summary,
        transcript="\n".join(lines),
        vtt_transcript=to_vtt.render_segments(doc, ohms_notes=True),
        fmt="audio",
        usage=doc.citation,
        userestrict="0",
        collection_link="",
    )
    for name in RECORD_ELEMENTS:
        element = ET.SubElement(record, _q(name))
        if name == "date":
            element.set("value", recorded if iso else "")
            element.set("format", "yyyy-mm-dd")
        elif name == "mediafile":
            ET.SubElement(element, _q("host")).text = "Other"
            ET.SubElement(element, _q("clip_format")).text = "audio"
        elif name == "index":
            _index(element, doc)
        elif values[name]:
            element.text = xml_safe(values[name])
            if alternate and name in ALT_ELEMENTS:
                element.set("type", TRANSLATION_LABEL)
    # pretty printing only adds white space between elements, never inside a text
    return ET.tostring(root, encoding="UTF-8", xml_declaration=True, pretty_print=True)


def _alternate(doc: ExportDocument) -> ExportDocument | None:
    """The machine translation as a document of its own (None when there is none)."""
    if not doc.translation or doc.machine_translation:
        return None
    return dataclasses.replace(
        doc, segments=doc.translation, translation=(), track="translation", language="en"
    )


def _index(index: ET.Element, doc: ExportDocument) -> None:
    for point in doc.index_points:
        element = ET.SubElement(index, _q("point"))
        values = {
            "time": str(max(0, round(point.time))),
            "title": one_line(point.title),
            "partial_transcript": _heard_at(doc, point.time),
            "synopsis": point.synopsis,
            # OHMS separates keywords (and subjects) with ";"
            "keywords": ";".join(one_line(k) for k in point.keywords),
            "subjects": ";".join(one_line(k) for k in point.subjects),
        }
        for name in POINT_ELEMENTS:
            child = ET.SubElement(element, _q(name))
            if name == "gpspoints":
                gps = {"gps": point.gps, "gps_zoom": point.gps_zoom, "gps_text": point.gps_text}
                _fill(child, GPS_ELEMENTS, gps if point.gps else {})
            elif name == "hyperlinks":  # one <hyperlinks> per link, as OHMS writes them
                links = point.hyperlinks or (("", ""),)
                _fill(
                    child, LINK_ELEMENTS, {"hyperlink": links[0][0], "hyperlink_text": links[0][1]}
                )
                for url, text in links[1:]:
                    more = ET.SubElement(element, _q("hyperlinks"))
                    _fill(more, LINK_ELEMENTS, {"hyperlink": url, "hyperlink_text": text})
            elif values.get(name):
                child.text = xml_safe(values[name])


def _fill(parent: ET.Element, names: tuple[str, ...], values: dict[str, str]) -> None:
    for name in names:
        child = ET.SubElement(parent, _q(name))
        if values.get(name):
            child.text = xml_safe(one_line(values[name]))


def _heard_at(doc: ExportDocument, time: float) -> str:
    """OHMS's partial transcript: the words of the first segment heard from ``time``."""
    for segment in doc.segments:
        if segment.abs_end > time and segment.text.split():
            speaker = one_line(segment.speaker)
            return f"{speaker}: {one_line(segment.text)}" if speaker else one_line(segment.text)
    return ""
