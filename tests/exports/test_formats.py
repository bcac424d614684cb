"""Exports of a rendered (pseudonymised, redacted) transcript, read back with each
format's own reader."""

from __future__ import annotations

import io
import itertools
import json
import os
import re
import xml.etree.ElementTree as ET
import zipfile
from datetime import timedelta

import bagit
import pytest
import srt
import webvtt
from docx import Document

from archive.exports import (
    FORMATS,
    MIME_TYPES,
    ExportDocument,
    ExportSegment,
    IndexPoint,
    filename,
    load_json,
    render,
    to_ohms,
    to_vtt,
    write_bag,
    zip_bag,
)
from archive.exports import cues as cue_rules
from tests.exports.documents import INTERVIEWER, LONG, NARRATOR, PART_2, make_doc, seg

NS = {"o": "https://www.weareavp.com/nunncenter/ohms"}


def squash(text: str) -> str:
    return " ".join(text.split())


def srt_subs(doc):
    return list(srt.parse(FORMATS["srt"](doc).decode("utf-8")))


def vtt_caps(doc):
    return webvtt.from_string(FORMATS["vtt"](doc).decode("utf-8")).captions


def docx_doc(doc, timestamps=True):
    return Document(io.BytesIO(FORMATS["docx"](doc, timestamps=timestamps)))


def ohms_record(doc, timestamps=True):
    body = FORMATS["ohms.xml"](doc, timestamps=timestamps)
    root = ET.fromstring(body)  # noqa: S314 (our own output)
    assert root.tag == f"{{{NS['o']}}}ROOT"
    return root.find("o:record", NS)


# ---- registry ------------------------------------------------------------------------


def test_registry_has_every_format_with_a_mime_type():
    assert set(FORMATS) == {"txt", "srt", "vtt", "json", "docx", "ohms.xml"}
    doc = make_doc()
    for fmt, renderer in FORMATS.items():
        assert MIME_TYPES[fmt]
        body = renderer(doc)
        assert isinstance(body, bytes) and body
        if fmt in ("txt", "srt", "vtt", "json"):  # DOCX and OHMS carry a creation date
            assert render(fmt, doc, timestamps=False) == renderer(doc, timestamps=False)
    assert filename(doc, "ohms.xml") == "interview-7.ohms.xml"


# ---- TXT -----------------------------------------------------------------------------


def test_txt_header_and_speaker_turns():
    doc = make_doc()
    text = FORMATS["txt"](doc).decode("utf-8")
    lines = text.splitlines()
    assert lines[0] == doc.title
    assert "Date: 2022-03-01" in lines
    assert "Place: Алматы" in lines
    assert f"Citation: {doc.citation}" in lines
    # consecutive segments of one speaker are one turn; the second part's times are offset
    assert f"[00:00:01] {INTERVIEWER}: Сіз сол күні қай жерде болдыңыз?" in lines
    assert f"[00:00:04] {NARRATOR}: Алматы, қала орталығында. {LONG}" in lines
    assert f"[00:10:05] {INTERVIEWER}: Кейін не болды?" in lines
    assert f"[00:10:08] {NARRATOR}: Қала [redacted] тыныш болды." in lines
    assert sum(1 for line in lines if line.startswith(f"[00:00:04] {NARRATOR}")) == 1


def test_txt_without_timestamps():
    text = FORMATS["txt"](make_doc(), timestamps=False).decode("utf-8")
    assert f"\n{NARRATOR}: Қала [redacted] тыныш болды.\n" in text
    assert not re.search(r"\[\d\d:\d\d:\d\d\]", text)


# ---- SRT and WebVTT ------------------------------------------------------------------


def _check_cue_shape(start: float, end: float, lines: list[str]):
    assert end >= start
    assert 1 <= len(lines) <= cue_rules.MAX_LINES
    words = " ".join(lines).split()
    if len(words) > 1:
        assert end - start <= cue_rules.MAX_SECONDS + 0.001
        assert all(len(line) <= cue_rules.MAX_LINE_CHARS for line in lines)


def test_srt_parses_times_offset_and_cues_short():
    doc = make_doc()
    subs = srt_subs(doc)
    assert [s.index for s in subs] == list(range(1, len(subs) + 1))
    assert subs[0].start == timedelta(seconds=1.5)
    assert subs[0].content.startswith(f"{INTERVIEWER}: ")
    # the second part: offset + start
    part2 = next(s for s in subs if "Кейін не болды?" in s.content)
    assert part2.start == timedelta(seconds=PART_2 + 5.25)
    assert part2.end == timedelta(seconds=PART_2 + 8.0)
    # the long segment is split into several cues that cover its time exactly
    long_cues = [s for s in subs if timedelta(seconds=9) <= s.start < timedelta(seconds=40)]
    assert len(long_cues) >= 5
    assert long_cues[0].start == timedelta(seconds=9) and long_cues[-1].end == timedelta(seconds=40)
    for a, b in itertools.pairwise(long_cues):
        assert a.end == b.start
    for s in subs:
        _check_cue_shape(s.start.total_seconds(), s.end.total_seconds(), s.content.split("\n"))
    joined = squash(" ".join(s.content for s in long_cues))
    assert joined == squash(LONG)


def test_vtt_voices_and_times():
    doc = make_doc()
    captions = vtt_caps(doc)
    assert {c.voice for c in captions} == {NARRATOR, INTERVIEWER}
    first = captions[0]
    assert first.voice == INTERVIEWER and first.text == "Сіз сол күні қай жерде болдыңыз?"
    assert first.start_time.in_milliseconds() == 1500
    part2 = [c for c in captions if c.start_time.in_milliseconds() >= PART_2 * 1000]
    assert [(c.voice, c.text) for c in part2] == [
        (INTERVIEWER, "Кейін не болды?"),
        (NARRATOR, "Қала [redacted] тыныш болды."),
    ]
    assert part2[0].start_time.in_milliseconds() == 605_250
    assert part2[1].end_time.in_milliseconds() == 614_000
    for c in captions:
        _check_cue_shape(c.start_time.in_seconds(), c.end_time.in_seconds(), c.text.split("\n"))
    # every cue of the long segment keeps its speaker
    long_text = [c for c in captions if 9000 <= c.start_time.in_milliseconds() < 40000]
    assert {c.voice for c in long_text} == {NARRATOR}
    assert squash(" ".join(c.text for c in long_text)) == squash(LONG)


def test_vtt_escapes_markup_in_text():
    doc = make_doc(segments=(seg(1, 1, 0, 2, 0, "A <b> & C", "x < y & z --> w"),))
    body = FORMATS["vtt"](doc).decode("utf-8")
    assert "x &lt; y &amp; z --&gt; w" in body
    caption = webvtt.from_string(body).captions[0]
    assert caption.voice == "A &lt;b&gt; &amp; C"
    assert len(webvtt.from_string(body).captions) == 1


def test_a_single_long_word_stays_whole():
    word = "Алматы" * 10  # 60 characters, longer than a line
    doc = make_doc(segments=(seg(1, 1, 0, 20, 0, NARRATOR, word),))
    assert [c.text for c in vtt_caps(doc)] == [word]


# ---- JSON ----------------------------------------------------------------------------


def test_json_round_trips_exactly():
    doc = make_doc()
    body = FORMATS["json"](doc)
    data = json.loads(body)
    assert data["format_version"] == 1
    assert NARRATOR in body.decode("utf-8")  # UTF-8, not \u escapes
    assert load_json(body) == doc
    assert load_json(body.decode("utf-8")) == doc
    empty = make_doc(segments=(), index_points=(), recorded_on=None, language=None, collection=None)
    assert load_json(FORMATS["json"](empty)) == empty


@pytest.mark.parametrize(
    "change",
    [
        lambda d: d.update(format_version=2),
        lambda d: d.pop("title"),
        lambda d: d["segments"][0].update(start="1.5"),
        lambda d: d["segments"][0].update(id=True),
        lambda d: d["index_points"][0].update(keywords=[1]),
        lambda d: d.update(speakers=["Гүлнара"]),
    ],
)
def test_json_load_refuses_what_it_did_not_write(change):
    data = json.loads(FORMATS["json"](make_doc()))
    change(data)
    with pytest.raises(ValueError):
        load_json(json.dumps(data))
    with pytest.raises(ValueError):
        load_json(b"\xff not json")


# ---- DOCX ----------------------------------------------------------------------------


def test_docx_bold_speakers_and_timestamps():
    doc = make_doc()
    document = docx_doc(doc)
    paragraphs = document.paragraphs
    assert paragraphs[0].text == doc.title
    texts = [p.text for p in paragraphs]
    assert "Place: Алматы" in texts
    assert f"Citation: {doc.citation}" in texts
    bold = [r.text for p in paragraphs for r in p.runs if r.bold]
    assert bold.count(f"{NARRATOR}:") == 2 and bold.count(f"{INTERVIEWER}:") == 2
    assert f"[00:10:08] {NARRATOR}: Қала [redacted] тыныш болды." in texts
    assert document.core_properties.author != "python-docx"


def test_docx_without_timestamps():
    texts = [p.text for p in docx_doc(make_doc(), timestamps=False).paragraphs]
    assert f"{NARRATOR}: Қала [redacted] тыныш болды." in texts
    assert not any(re.search(r"\[\d\d:\d\d:\d\d\]", t) for t in texts)


# ---- OHMS XML ------------------------------------------------------------------------


def test_ohms_record_elements():
    doc = make_doc()
    record = ohms_record(doc)
    assert record.get("id") == "7"
    assert re.fullmatch(r"\d{4}-\d\d-\d\d", record.get("dt"))
    tags = [child.tag.split("}")[1] for child in record]
    assert tags == list(to_ohms.RECORD_ELEMENTS)  # the schema's order

    def text(name):
        return record.findtext(f"o:{name}", default="", namespaces=NS)

    assert text("version") == "6.0"
    assert record.find("o:date", NS).get("value") == "2022-03-01"
    assert text("title") == doc.title
    assert text("accession") == "7"
    assert text("duration") == "00:15:00"
    assert text("collection_name") == "Qantar 2022"
    assert text("interviewee") == NARRATOR and text("interviewer") == INTERVIEWER
    assert text("fmt") == "audio"
    transcript = text("transcript").split("\n")
    assert transcript[0] == f"[00:00:01] {INTERVIEWER}: Сіз сол күні қай жерде болдыңыз?"
    assert transcript[1] == ""
    assert f"[00:10:08] {NARRATOR}: Қала [redacted] тыныш болды." in transcript
    # the newer viewers' WebVTT transcript: one cue per segment, exact times, voices
    captions = webvtt.from_string(text("vtt_transcript")).captions
    assert [c.voice for c in captions] == [
        INTERVIEWER, NARRATOR, NARRATOR, INTERVIEWER, NARRATOR
    ]  # fmt: skip
    assert [c.text for c in captions] == [s.text for s in doc.segments]
    assert captions[3].start_time.in_milliseconds() == 605_250
    assert captions[3].end_time.in_milliseconds() == 608_000


def test_ohms_index_points():
    points = ohms_record(make_doc()).findall("o:index/o:point", NS)
    assert len(points) == 2
    first, second = points
    assert first.findtext("o:time", namespaces=NS) == "0"
    assert first.findtext("o:title", namespaces=NS) == "Кіріспе"
    assert first.findtext("o:keywords", namespaces=NS) == "Алматы;қала"
    assert first.findtext("o:synopsis", namespaces=NS) == "Гүлнара describes the square."
    assert second.findtext("o:time", namespaces=NS) == "605"
    assert second.findtext("o:title", namespaces=NS) == "Кейінгі күндер"
    # OHMS's partial transcript: the words heard from the point on, by their speaker
    assert second.findtext("o:partial_transcript", namespaces=NS) == (
        f"{INTERVIEWER}: Кейін не болды?"
    )
    # empty GPS and hyperlink groups where the point has none, as OHMS writes them
    assert [c.tag.split("}")[1] for c in first.find("o:gpspoints", NS)] == list(
        to_ohms.GPS_ELEMENTS
    )
    assert not "".join(first.find("o:hyperlinks", NS).itertext()).strip()


def test_ohms_index_point_subjects_gps_and_hyperlinks():
    point = IndexPoint(
        65.0,
        "Алаң",
        ("алаң",),
        "",
        subjects=("Protests", "Almaty"),
        gps="43.238, 76.945",
        gps_zoom="15",
        gps_text="Republic Square",
        hyperlinks=(("https://example.org/a", "Map"), ("https://example.org/b", "Photo")),
    )
    record = ohms_record(make_doc(index_points=(point,)))
    element = record.find("o:index/o:point", NS)
    assert element.findtext("o:subjects", namespaces=NS) == "Protests;Almaty"
    assert element.findtext("o:gpspoints/o:gps", namespaces=NS) == "43.238, 76.945"
    assert element.findtext("o:gpspoints/o:gps_zoom", namespaces=NS) == "15"
    assert element.findtext("o:gpspoints/o:gps_text", namespaces=NS) == "Republic Square"
    links = [
        (h.findtext("o:hyperlink", namespaces=NS), h.findtext("o:hyperlink_text", namespaces=NS))
        for h in element.findall("o:hyperlinks", NS)
    ]
    assert links == [("https://example.org/a", "Map"), ("https://example.org/b", "Photo")]


def _word_at(transcript: str, entry: str) -> str:
    line, word = map(int, re.fullmatch(r"(\d+)\((\d+)\)", entry).groups())
    return transcript.split("\n")[line - 1].split()[word - 1]


def test_ohms_sync_points_at_the_word_heard_each_minute():
    words = [f"сөз{i}" for i in range(1, 41)]
    doc = make_doc(
        segments=(
            seg(1, 1, 0.0, 5.0, 0.0, INTERVIEWER, "Бастайық."),
            # 40 words over 40..80 s: at 60 s the 21st word is heard
            seg(2, 1, 40.0, 80.0, 0.0, NARRATOR, " ".join(words)),
            # second part starts at 100 s; 120 s is a pause, next word heard: "Алматы"
            seg(3, 2, 30.0, 70.0, 100.0, NARRATOR, "Алматы қала " * 10),
        ),
        duration=170.0,
    )
    for timestamps in (True, False):
        record = ohms_record(doc, timestamps=timestamps)
        transcript = record.findtext("o:transcript", namespaces=NS)
        sync = record.findtext("o:sync", namespaces=NS)
        chunk, entries = sync.split(":")
        assert chunk == "1"
        entries = entries.split("|")
        assert entries[0] == ""  # OHMS writes "1:|line(word)|..."
        heard = [_word_at(transcript, e) for e in entries[1:]]
        # 60 s: word 21 of segment 2; 120 s: first word of segment 3 (in a pause);
        # 180 s is past the end (170 s), so there is no third entry.
        assert heard[:2] == ["сөз21", "Алматы"]
        assert len(heard) == 2
    assert to_ohms.legacy_transcript(make_doc(segments=()))[1] == ""


# ---- nothing added, nothing lost -------------------------------------------------------

# The only words an export may add of its own: labels, format keywords, the archive.
SCAFFOLDING = {
    "Date", "Place", "Language", "Collection", "Duration", "Speakers", "Link", "Citation",
    "Summary", "Contents", "Transcript", "WEBVTT", "NOTE", "TRANSCRIPTION", "BEGIN", "END",
    "Testimony", "Archive", "Other", "audio", "yyyy", "mm", "dd", "v",
}  # fmt: skip


def _doc_words(doc: ExportDocument) -> set[str]:
    words: set[str] = set()

    def collect(value):
        if isinstance(value, str):
            words.update(re.findall(r"\w+", value))
        elif isinstance(value, (tuple, list)):
            for item in value:
                collect(item)
        elif hasattr(value, "__dataclass_fields__"):
            for name in value.__dataclass_fields__:
                collect(getattr(value, name))

    collect(doc)
    return words


def _json_strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from _json_strings(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _json_strings(item)


def _readable_text(doc: ExportDocument, fmt: str) -> str:
    """What each format's reader shows of the export."""
    body = FORMATS[fmt](doc)
    if fmt == "txt":
        return body.decode("utf-8")
    if fmt == "srt":
        return "\n".join(s.content for s in srt.parse(body.decode("utf-8")))
    if fmt == "vtt":  # the voice where it changes, as a player would label it
        lines, voice = [], None
        for c in vtt_caps(doc):
            lines.append(c.text if c.voice == voice else f"{c.voice}: {c.text}")
            voice = c.voice
        return "\n".join(lines)
    if fmt == "json":
        return "\n".join(_json_strings(json.loads(body)))
    if fmt == "docx":
        document = Document(io.BytesIO(body))
        props = document.core_properties
        return "\n".join([props.title, props.author, *(p.text for p in document.paragraphs)])
    assert fmt == "ohms.xml"
    root = ET.fromstring(body)  # noqa: S314 (our own output)
    parts = []
    for element in root.iter():
        parts.append(element.text or "")
        parts.extend(v for k, v in element.attrib.items() if "schemaLocation" not in k)
    return "\n".join(parts)


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_exports_hold_the_text_as_given_and_add_no_words(fmt):
    doc = make_doc()
    shown = _readable_text(doc, fmt)
    flat = squash(shown)
    for segment in doc.segments:
        assert squash(segment.text) in flat, (fmt, segment.text)
    for name, _role in doc.speakers:
        assert name in shown
    added = {
        w for w in re.findall(r"\w+", shown) if not w.isdigit() and w not in _doc_words(doc)
    } - SCAFFOLDING
    added -= {"testimony", "archive", "transcript"}  # JSON's "format" value
    assert added == set(), fmt


def test_renamed_speaker_is_all_the_exports_know():
    """The exports print the display name the caller chose and nothing else."""
    doc = make_doc()
    hidden = make_doc(
        speakers=((INTERVIEWER, "interviewer"), ("Narrator 1", "narrator")),
        segments=tuple(
            ExportSegment(**{**s.__dict__, "speaker": "Narrator 1"}) if s.speaker == NARRATOR else s
            for s in doc.segments
        ),
        summary="A witness.",
        citation="Narrator 1, interview 7.",
        index_points=(),
    )
    for fmt in FORMATS:
        assert NARRATOR not in _readable_text(hidden, fmt), fmt


# ---- BagIt ---------------------------------------------------------------------------


@pytest.fixture
def audio_files(tmp_path):
    sources = tmp_path / "sources"
    sources.mkdir()
    first = sources / "Aigerim Real Name part one.MP3"
    second = sources / "recording-12.mp3"
    first.write_bytes(b"ID3" + os.urandom(2048))
    second.write_bytes(b"ID3" + os.urandom(1024))
    return [first, second]


def test_bag_validates_and_holds_everything(tmp_path, audio_files):
    doc = make_doc()
    cwd = os.getcwd()
    bag_dir = write_bag(doc, tmp_path / "bag-7", audio_files)
    assert os.getcwd() == cwd
    bag = bagit.Bag(str(bag_dir))
    bag.validate()
    assert set(bag.algorithms) == {"sha256", "sha512"}
    assert bag.info["Source-Organization"] == "Testimony Archive"
    assert bag.info["External-Identifier"] == "7"
    data = bag_dir / "data"
    for fmt in FORMATS:
        assert (data / f"transcript.{fmt}").read_bytes()[:5]
    assert (data / "transcript.json").read_bytes() == FORMATS["json"](doc)
    assert load_json((data / "transcript.json").read_bytes()) == doc
    assert sorted(p.name for p in (data / "audio").iterdir()) == ["part-01.mp3", "part-02.mp3"]
    assert (data / "audio" / "part-01.mp3").read_bytes() == audio_files[0].read_bytes()
    metadata = json.loads((data / "metadata.json").read_text("utf-8"))
    assert metadata["interview_id"] == 7 and metadata["title"] == doc.title
    assert metadata["audio"] == ["audio/part-01.mp3", "audio/part-02.mp3"]
    assert "segments" not in metadata
    agreement = (data / "agreement.txt").read_text("utf-8").splitlines()
    assert len(agreement) == 2
    assert agreement[0].startswith("Access level: on_request")
    assert agreement[1].startswith("Audio permission: redacted")
    # the caller's file names do not travel into the bag
    everything = b"".join(p.read_bytes() for p in bag_dir.rglob("*.txt"))
    assert b"Real Name" not in everything and b"recording-12" not in everything


def test_tampered_bag_fails_validation(tmp_path, audio_files):
    bag_dir = write_bag(make_doc(), tmp_path / "bag", audio_files)
    transcript = bag_dir / "data" / "transcript.txt"
    body = bytearray(transcript.read_bytes())
    body[-2] = ord("X") if body[-2] != ord("X") else ord("Y")  # same size, other bytes
    transcript.write_bytes(bytes(body))
    with pytest.raises(bagit.BagValidationError):
        bagit.Bag(str(bag_dir)).validate()


def test_extra_payload_file_fails_validation(tmp_path):
    bag_dir = write_bag(make_doc(), tmp_path / "bag", [])
    (bag_dir / "data" / "extra.txt").write_text("added later")
    with pytest.raises(bagit.BagValidationError):
        bagit.Bag(str(bag_dir)).validate()


def test_bag_refuses_a_directory_in_use(tmp_path):
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "file").write_text("x")
    with pytest.raises(FileExistsError):
        write_bag(make_doc(), tmp_path / "busy", [])
    assert (tmp_path / "busy" / "file").read_text() == "x"


def test_failed_bag_leaves_nothing(tmp_path):
    with pytest.raises(FileNotFoundError):
        write_bag(make_doc(), tmp_path / "bag", [tmp_path / "missing.mp3"])
    assert not (tmp_path / "bag").exists()


def test_zip_bag_unpacks_to_a_valid_bag(tmp_path, audio_files):
    bag_dir = write_bag(make_doc(), tmp_path / "bag-7", audio_files)
    archive = zip_bag(bag_dir)
    assert archive == tmp_path / "bag-7.zip"
    with zipfile.ZipFile(archive) as z:
        names = z.namelist()
        assert "bag-7/bagit.txt" in names and "bag-7/data/audio/part-01.mp3" in names
        assert z.getinfo("bag-7/data/audio/part-01.mp3").compress_type == zipfile.ZIP_STORED
        z.extractall(tmp_path / "unpacked")
    bagit.Bag(str(tmp_path / "unpacked" / "bag-7")).validate()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".bag-7")]
    with pytest.raises(ValueError):
        zip_bag(tmp_path / "unpacked")


def test_vtt_turns_for_ohms_parse():
    body = to_vtt.render_turns(make_doc(), ohms_notes=True)
    captions = webvtt.from_string(body).captions
    assert len(captions) == 4
    assert captions[1].text == f"Алматы, қала орталығында. {LONG}"
