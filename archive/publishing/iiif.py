"""IIIF Presentation 3 manifests: an interview as an audiovisual viewer reads it.

One canvas per recording, as long as the recording; on it the listening copy the
reader may hear (``policy.audio_variant``: none, no body) as the painting
annotation, and the transcript as WebVTT in the reader's own rendering (the
transcript export, which asks the policy again when the viewer fetches it) as a
supplementing annotation page. The table of contents (index points) becomes the
manifest's ranges, each a stretch of one canvas.

Everything typed comes through ``rendering`` (names hidden for whoever may not see
them), every speaker through ``identity.display_name``. The caller has asked the
policy for ``read_transcript``.
"""

from __future__ import annotations

import math
from typing import Any

from flask import url_for
from iiif_prezi3 import (
    Annotation,
    AnnotationBody,
    AnnotationPage,
    Canvas,
    CanvasRef,
    KeyValueString,
    Manifest,
    Range,
)

from archive import policy
from archive.interviews import identity
from archive.models import Interview, Recording
from archive.recordings import listening_copies
from archive.transcripts import citations, rendering

CONTEXT = "http://iiif.io/api/presentation/3/context.json"
MEDIA_TYPE = f'application/ld+json;profile="{CONTEXT}"'


def _lang(interview: Interview) -> str:
    # Text typed by people in the interview's language when it is known.
    return interview.language or "none"


def _text(interview: Interview, value: str) -> dict[str, list[str]]:
    return {_lang(interview): [value]}


def _pair(label: str, value: str, interview: Interview) -> KeyValueString:
    return KeyValueString(label={"en": [label]}, value=_text(interview, value))


def manifest_url(interview: Interview) -> str:
    return url_for("iiif.manifest", interview_id=interview.id, _external=True)


def _canvases(interview: Interview) -> list[Recording]:
    """The recordings a canvas can stand for: those with a known, positive length."""
    return [
        r
        for r in interview.recordings
        if r.duration is not None and math.isfinite(r.duration) and r.duration > 0
    ]


def manifest(user: Any, interview: Interview) -> Manifest:
    base = manifest_url(interview).removesuffix("/manifest.json")
    shown = rendering.metadata_for(user, interview)
    variant = policy.audio_variant(user, interview)
    pairs = [
        ("Date", interview.recorded_on.isoformat() if interview.recorded_on else ""),
        ("Place", shown.place),
        ("Language", interview.language or ""),
        ("Collection", shown.collection or ""),
    ]
    for speaker in interview.speakers:
        pairs.append((speaker.role.capitalize(), identity.display_name(user, speaker)))
    document = Manifest(
        id=manifest_url(interview),
        label=_text(interview, shown.title),
        summary=_text(interview, shown.summary) if shown.summary else None,
        metadata=[_pair(label, value, interview) for label, value in pairs if value] or None,
        requiredStatement=_pair("Cite as", citations.cite(user, interview), interview),
        homepage=[
            {
                "id": citations.interview_url(interview),
                "type": "Text",
                "label": _text(interview, shown.title),
                "format": "text/html",
            }
        ],
    )
    offsets: list[tuple[float, float, str]] = []  # (start, end, canvas id) in interview time
    position = 0.0
    for recording in interview.recordings:
        duration = recording.duration or 0.0
        if recording not in _canvases(interview):
            position += duration if math.isfinite(duration) and duration > 0 else 0.0
            continue
        canvas_id = f"{base}/canvas/{recording.id}"
        offsets.append((position, position + duration, canvas_id))
        position += duration
        document.items.append(_canvas(interview, recording, canvas_id, variant, user))
    ranges = _ranges(user, interview, base, offsets)
    if ranges:
        document.structures = [
            Range(id=f"{base}/range/contents", label={"en": ["Contents"]}, items=ranges)
        ]
    return document


def _canvas(
    interview: Interview, recording: Recording, canvas_id: str, variant: str | None, user: Any
) -> Canvas:
    canvas = Canvas(
        id=canvas_id,
        label={"en": [f"Part {recording.position}"]},
        duration=recording.duration,
        items=[],
    )
    painting = AnnotationPage(id=f"{canvas_id}/page", items=[])
    if variant is not None and recording.status == "done":
        audio = url_for(
            "api.interview_audio",
            interview_id=interview.id,
            recording=recording.id,
            _external=True,
        )
        painting.items.append(
            Annotation(
                id=f"{canvas_id}/page/audio",
                motivation="painting",
                body=AnnotationBody(
                    id=audio,
                    type="Sound",
                    format=listening_copies.MIME_TYPE,
                    duration=recording.duration,
                ),
                target=canvas_id,
            )
        )
    canvas.items.append(painting)
    if policy.can(user, "export", interview):
        vtt = url_for(
            "api.export",
            interview_id=interview.id,
            fmt="vtt",
            recording=recording.id,
            _external=True,
        )
        body = AnnotationBody(id=vtt, type="Text", format="text/vtt", label={"en": ["Transcript"]})
        if interview.language:
            body.language = [interview.language]
        canvas.annotations = [
            AnnotationPage(
                id=f"{canvas_id}/transcript",
                items=[
                    Annotation(
                        id=f"{canvas_id}/transcript/vtt",
                        motivation="supplementing",
                        body=body,
                        target=canvas_id,
                    )
                ],
            )
        ]
    return canvas


def _ranges(user: Any, interview: Interview, base: str, offsets) -> list[Range]:
    """Each index point from its time to the next one's (or its part's end), on the
    canvas of the part it falls in (index points count time across all parts)."""
    points = rendering.contents_for(user, interview)
    ranges = []
    for number, point in enumerate(points):
        for start, end, canvas_id in offsets:
            if start <= point.time < end:
                following = points[number + 1].time if number + 1 < len(points) else end
                stop = min(end, max(following, point.time))
                fragment = f"#t={_seconds(point.time - start)},{_seconds(stop - start)}"
                ranges.append(
                    Range(
                        id=f"{base}/range/{point.id}",
                        label=_text(interview, point.title),
                        items=[CanvasRef(id=canvas_id + fragment, type="Canvas")],
                    )
                )
                break
    return ranges


def _seconds(value: float) -> str:
    return f"{max(0.0, value):.3f}".rstrip("0").rstrip(".") or "0"


def as_json(document: Manifest) -> str:
    return document.json(indent=None)
