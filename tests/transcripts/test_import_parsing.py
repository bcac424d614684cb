"""Reading OHMS XML and WebVTT for an import (archive/transcripts/transcript_import.py): what
other tools write, read as cues and index points; what is hostile, refused."""

from __future__ import annotations

import pytest

from archive.errors import ValidationError
from archive.exports import FORMATS
from archive.transcripts.transcript_import import parse, parse_vtt
from tests.exports.documents import INTERVIEWER, NARRATOR, make_doc

# As OHMS (Aviary) writes them: CDATA, classes on voices, <br> paragraphs, italics,
# cue settings, identifiers, and a last cue whose end is 00:00:00.000.
OHMS = """<?xml version="1.0" encoding="UTF-8"?>
<ROOT xmlns="https://www.weareavp.com/nunncenter/ohms"><record id="1" dt="2025-02-01">
<version>6.0</version><index><point><time>62</time><title>The square</title>
<partial_transcript>Q: Where?</partial_transcript><synopsis>On foot.</synopsis>
<keywords>square; crowd</keywords><subjects>Protests</subjects>
<gpspoints><gps>43.238, 76.945</gps><gps_zoom>14</gps_zoom><gps_text>Square</gps_text>
<gps_text_alt/></gpspoints><gpspoints><gps/></gpspoints>
<hyperlinks><hyperlink>https://example.org/1</hyperlink><hyperlink_text>One</hyperlink_text>
</hyperlinks><hyperlinks><hyperlink>https://example.org/2</hyperlink><hyperlink_text/>
</hyperlinks><hyperlinks><hyperlink/></hyperlinks></point></index>
<vtt_transcript><![CDATA[WEBVTT

NOTE
TRANSCRIPTION BEGIN

intro
00:01:02.500 --> 00:01:05.000 align:left
<v.q Marat Zh.>  Where were you &amp; why?

00:01:05.000 --> 00:00:00.000
<v Svetlana>At the <i>square</i>.<br><br>Then home.</v>

NOTE
TRANSCRIPTION END
]]></vtt_transcript></record></ROOT>"""


def test_an_ohms_file_as_other_tools_write_it():
    parsed = parse(OHMS.encode())
    assert parsed.kind == "ohms"
    assert [(c.start, c.end, c.voice, c.text) for c in parsed.cues] == [
        (62.5, 65.0, "Marat Zh.", "Where were you & why?"),
        (65.0, 66.0, "Svetlana", "At the square. Then home."),
    ]
    (point,) = parsed.points
    assert point == {
        "time": 62.0,
        "title": "The square",
        "synopsis": "On foot.",
        "keywords": ["square", "crowd"],
        "subjects": ["Protests"],
        "gps": "43.238, 76.945",
        "gps_zoom": "14",
        "gps_text": "Square",
        "hyperlinks": [
            {"url": "https://example.org/1", "text": "One"},
            {"url": "https://example.org/2", "text": ""},
        ],
    }


def test_our_own_exports_read_back_as_their_segments():
    doc = make_doc()
    for fmt in ("ohms.xml", "vtt"):
        parsed = parse(FORMATS[fmt](doc))
        voices = {c.voice for c in parsed.cues}
        assert voices == {INTERVIEWER, NARRATOR}
        text = " ".join(c.text for c in parsed.cues)
        assert text == " ".join(s.text for s in doc.segments)
    cues = parse(FORMATS["ohms.xml"](doc)).cues
    assert [(c.start, c.end) for c in cues] == [(s.abs_start, s.abs_end) for s in doc.segments]
    points = parse(FORMATS["ohms.xml"](doc)).points
    assert [(p["time"], p["title"], p["keywords"]) for p in points] == [
        (0.0, "Кіріспе", ["Алматы", "қала"]),
        (605.0, "Кейінгі күндер", []),
    ]


@pytest.mark.parametrize(
    "body, message",
    [
        (
            b'<?xml version="1.0"?><!DOCTYPE r SYSTEM "http://evil.example/x.dtd"><ROOT/>',
            "document type",
        ),
        (b"<!-- x --><!doctype ROOT><ROOT/>", "document type"),
        (b'<ROOT xmlns="https://www.weareavp.com/nunncenter/ohms"><record/></ROOT>', "neither"),
        (b"<ROOT><record><vtt_transcript>not vtt</vtt_transcript></record></ROOT>", "WEBVTT"),
        (b"WEBVTT\n\n00:00:01.000 -> 00:00:02.000\nhi\n", "timing"),
        ("WEBVTT\n\n" + "00:00:01.000 --> 00:00:02.000\nx\n\n" * 20_001, "cues"),
        (b"", "Choose"),
    ],
)
def test_files_that_are_refused(body, message):
    with pytest.raises(ValidationError) as refused:
        parse(body.encode() if isinstance(body, str) else body)
    assert message in refused.value.message


def test_a_vtt_cue_may_have_hours_or_not_and_crlf_lines():
    cues = parse_vtt("WEBVTT\r\n\r\n01:02.000 --> 1:01:02.250\r\nplain words\r\n")
    assert [(c.start, c.end, c.voice, c.text) for c in cues] == [(62.0, 3662.25, "", "plain words")]
