"""JSON: lossless and re-importable. ``load_json(render(doc)) == doc``.

Layout (``format_version`` 1)::

    {"format": "testimony-archive/transcript", "format_version": 1,
     "interview_id": 7, "title": ..., "summary": ..., "recorded_on": ..., "place": ...,
     "language": ..., "languages": ["ru", "kk"], "collection": ..., "duration": 3600.0,
     "citation": ..., "url": ...,
     "access_level": ..., "audio_permission": ...,
     "speakers": [{"name": ..., "role": ...}],
     "index_points": [{"time": 60.0, "title": ..., "keywords": [...], "synopsis": ...}],
     "segments": [{"id": 1, "recording": 3, "start": 0.0, "end": 4.2, "offset": 0.0,
                   "speaker": ..., "speaker_role": ..., "text": ..., "language": "ru"}],
     "track": "original", "translation": [segments as above]}

``track`` "translation": the segments are a machine translation (English);
``translation``: the machine translation beside the original (both optional).
``languages`` and each segment's ``language`` were added without a new version:
older exports lack them and load with none.

Times are seconds; a segment's time in the whole interview is offset + start.
"""

from __future__ import annotations

import json
import math
from typing import Any

from archive.exports.model import ExportDocument, ExportSegment, IndexPoint

FORMAT = "testimony-archive/transcript"
FORMAT_VERSION = 1


def _segment_dict(s: ExportSegment) -> dict[str, Any]:
    return {
        "id": s.id,
        "recording": s.recording,
        "start": s.start,
        "end": s.end,
        "offset": s.offset,
        "speaker": s.speaker,
        "speaker_role": s.speaker_role,
        "text": s.text,
    }


def to_dict(doc: ExportDocument) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "interview_id": doc.interview_id,
        "title": doc.title,
        "summary": doc.summary,
        "recorded_on": doc.recorded_on,
        "place": doc.place,
        "language": doc.language,
        "languages": list(doc.languages),
        "collection": doc.collection,
        "duration": doc.duration,
        "citation": doc.citation,
        "url": doc.url,
        "access_level": doc.access_level,
        "audio_permission": doc.audio_permission,
        "speakers": [{"name": name, "role": role} for name, role in doc.speakers],
        "index_points": [
            {"time": p.time, "title": p.title, "keywords": list(p.keywords), "synopsis": p.synopsis}
            for p in doc.index_points
        ],
        "track": doc.track,
        "translation": [_segment_dict(s) for s in doc.translation],
        "segments": [_segment_dict(s) | {"language": s.language} for s in doc.segments],
    }


def render(doc: ExportDocument, timestamps: bool = True) -> bytes:
    """``timestamps`` is ignored: the JSON always carries every time."""
    return (json.dumps(to_dict(doc), ensure_ascii=False, indent=2, allow_nan=False) + "\n").encode(
        "utf-8"
    )


# ---- loading -------------------------------------------------------------------------


def _field(data: dict, key: str, kind: type, where: str, optional: bool = False) -> Any:
    if key not in data:
        raise ValueError(f"{where}: '{key}' is missing")
    value = data[key]
    if value is None and optional:
        return None
    if kind is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"{where}: '{key}' must be a number")
        value = float(value)
        if not math.isfinite(value):
            raise ValueError(f"{where}: '{key}' must be finite")
        return value
    if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise ValueError(f"{where}: '{key}' must be an integer")
    if not isinstance(value, kind):
        raise ValueError(f"{where}: '{key}' must be {kind.__name__}")
    return value


def _objects(data: dict, key: str, where: str) -> list[dict]:
    items = _field(data, key, list, where)
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise ValueError(f"{where}: {key}[{i}] must be an object")
    return items


def from_dict(data: Any) -> ExportDocument:
    if not isinstance(data, dict):
        raise ValueError("the document must be a JSON object")
    version = data.get("format_version")
    if version != FORMAT_VERSION or isinstance(version, bool):
        raise ValueError(f"unsupported format_version: {version!r} (expected {FORMAT_VERSION})")
    if "format" in data and data["format"] != FORMAT:
        raise ValueError(f"not a transcript export: format {data['format']!r}")
    w = "document"
    speakers = tuple(
        (_field(s, "name", str, f"speakers[{i}]"), _field(s, "role", str, f"speakers[{i}]"))
        for i, s in enumerate(_objects(data, "speakers", w))
    )
    points = []
    for i, p in enumerate(_objects(data, "index_points", w)):
        where = f"index_points[{i}]"
        keywords = _field(p, "keywords", list, where)
        if not all(isinstance(k, str) for k in keywords):
            raise ValueError(f"{where}: 'keywords' must be a list of strings")
        points.append(
            IndexPoint(
                time=_field(p, "time", float, where),
                title=_field(p, "title", str, where),
                keywords=tuple(keywords),
                synopsis=_field(p, "synopsis", str, where),
            )
        )
    segments = _segments(data, "segments", w)
    translation = _segments(data, "translation", w) if "translation" in data else ()
    track = data.get("track", "original")
    if track not in ("original", "translation"):
        raise ValueError(f"{w}: 'track' must be 'original' or 'translation'")
    return ExportDocument(
        interview_id=_field(data, "interview_id", int, w),
        title=_field(data, "title", str, w),
        summary=_field(data, "summary", str, w),
        recorded_on=_field(data, "recorded_on", str, w, optional=True),
        place=_field(data, "place", str, w),
        language=_field(data, "language", str, w, optional=True),
        collection=_field(data, "collection", str, w, optional=True),
        duration=_field(data, "duration", float, w),
        citation=_field(data, "citation", str, w),
        url=_field(data, "url", str, w),
        speakers=speakers,
        segments=segments,
        index_points=tuple(points),
        access_level=_field(data, "access_level", str, w),
        audio_permission=_field(data, "audio_permission", str, w),
        track=track,
        translation=translation,
        languages=_languages(data, w),
    )


def _segments(data: dict, key: str, w: str) -> tuple[ExportSegment, ...]:
    segments = []
    for i, s in enumerate(_objects(data, key, w)):
        where = f"{key}[{i}]"
        segments.append(
            ExportSegment(
                id=_field(s, "id", int, where),
                recording=_field(s, "recording", int, where),
                start=_field(s, "start", float, where),
                end=_field(s, "end", float, where),
                offset=_field(s, "offset", float, where),
                speaker=_field(s, "speaker", str, where),
                speaker_role=_field(s, "speaker_role", str, where),
                text=_field(s, "text", str, where),
                # Exports made before segments kept their language lack it.
                language=_optional(s, "language", str, where),
            )
        )
    return tuple(segments)


def _optional(data: dict, key: str, kind: type, where: str) -> Any:
    return _field(data, key, kind, where, optional=True) if key in data else None


def _languages(data: dict, where: str) -> tuple[str, ...]:
    items = _optional(data, "languages", list, where) or []
    if not all(isinstance(item, str) for item in items):
        raise ValueError(f"{where}: 'languages' must be a list of codes")
    return tuple(items)


def load_json(data: bytes | str) -> ExportDocument:
    """The document a JSON export was made from. Raises ``ValueError`` (with what is
    wrong) for anything that is not a version-1 transcript export."""
    try:
        parsed = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"not valid JSON: {error}") from error
    return from_dict(parsed)
