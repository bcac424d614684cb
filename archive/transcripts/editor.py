"""What the transcript editor works on: one payload for the whole interview.

The editor page gets every segment at once (no request per segment), each as the
reader may see it: the rendered text, its hidden spans as fixed labels with the
time they cover, and its timed words in the rendered text's positions. Words
inside a hidden span never leave the server, not even their spelling's length.
Saving goes the other way: ``positions.splice`` puts the stored hidden words back
around what the person typed.
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext

from archive import policy
from archive.errors import N_, ValidationError
from archive.extensions import db
from archive.interviews import identity
from archive.models import Interview, Segment, User
from archive.transcripts import (
    positions,
    redaction,
    redaction_edits,
    rendering,
    review_queue,
    revisions,
    segment_splits,
)
from archive.transcripts import transcript_edits as edits
from archive.transcripts.schemas import SegmentEdit, Selection, SplitAt


def editor_data(user: User, interview: Interview) -> dict[str, Any]:
    """Everything the editor page needs, in compact arrays (a 3-hour interview is
    about 2,500 segments and 30,000 words)."""
    redactor = redaction.redactor_for(user, interview)
    rows = rendering.segments_of(
        interview, Segment.version, *review_queue.COLUMNS, doubted=True, translation=True
    )
    track = rendering.translation_track(interview)
    return {
        "interview": interview.id,
        "unsure": review_queue.UNSURE_BELOW,
        "recordings": [
            {"id": r.id, "position": r.position, "duration": r.duration, "status": r.status}
            for r in interview.recordings
        ],
        "speakers": speakers_data(user, interview),
        "segments": [segment_view(s, redactor) for s in rows],
        "contents": [vars(p) for p in rendering.contents_for(user, interview)],
        "workflow": workflow_data(interview),
        # Riskiest first: [segment id, score, [reasons]] (review_queue.REASONS).
        "risks": [
            [risk.segment_id, round(risk.score, 2), list(risk.reasons)]
            for risk in review_queue.rank(rows)
        ],
        "can_rename": policy.can(user, "rename_speaker", interview),
        # Each segment's "tr": its machine translation, read-only, hidden as the text.
        "translation": (
            {
                "label": gettext("Machine translation"),
                "language": track.language,
                "status": track.status,
            }
            if track.status
            else None
        ),
        # The interview's languages: a segment in another one is tagged in the editor.
        "languages": interview.language_codes,
    }


def speakers_data(user: User, interview: Interview) -> list[dict[str, Any]]:
    return [
        {
            "id": s.id,
            "label": s.label,
            "name": identity.display_name(user, s),
            "pseudonym": s.pseudonym,
            "role": s.role,
        }
        for s in interview.speakers
    ]


def workflow_data(interview: Interview) -> dict[str, Any]:
    by = db.session.get(User, interview.status_changed_by_id or 0)
    at = interview.status_changed_at
    return {
        "status": interview.workflow_status,
        "steps": list(revisions.WORKFLOW_STEPS),
        "by": by.name if by else None,
        "at": at.isoformat() + "Z" if at else None,
    }


def segment_view(segment: Any, redactor: redaction.Redactor | None) -> dict[str, Any]:
    """One segment for the editor: ``t`` text, ``h`` hidden labels
    ``[start, end, t0, t1, source]`` and ``w`` words ``[start, end, t0, t1, p]``."""
    hidden = redactor.hidden(segment) if redactor else []
    chips = positions.chips(hidden)
    labels = [[c.start, c.end, None, None, c.source] for c in chips]
    words = []
    timed = segment.words or []
    for word, where in zip(timed, redaction.word_offsets(segment.text, timed), strict=True):
        if where is None:
            continue
        inside = _chip_at(chips, where)
        if inside is not None:
            label = labels[inside]
            label[2] = word["start"] if label[2] is None else label[2]
            label[3] = word["end"]
            continue
        start = positions.rendered_offset(chips, where[0])
        end = start + where[1] - where[0]
        words.append([start, end, word["start"], word["end"], word.get("probability", 1.0)])
    return {
        "id": segment.id,
        "r": segment.recording_id,
        "s": segment.start,
        "e": segment.end,
        "sp": segment.speaker_id,
        "v": segment.version,
        "t": redaction.apply(segment.text, hidden) if hidden else segment.text,
        "h": labels,
        "w": words,
        "x": getattr(segment, "suspect", None),
        "l": getattr(segment, "language", None),
    } | _translation_view(segment, redactor)


def _translation_view(segment: Any, redactor: redaction.Redactor | None) -> dict[str, Any]:
    """``tr``: the segment's machine translation as the editor's user may read it."""
    english = getattr(segment, "translation", None)
    if english is None:
        return {}
    return {"tr": redactor.translation(segment, english) if redactor else english}


def _chip_at(chips: list[positions.Chip], where: tuple[int, int]) -> int | None:
    for index, chip in enumerate(chips):
        if chip.source_start < where[1] and where[0] < chip.source_end:
            return index
    return None


def save(user: User, segment: Segment, data: dict[str, Any]) -> Segment:
    """An edit, as ``PATCH /segments/ID`` takes it: ``text`` (readers of the text as
    spoken) or ``parts`` of the rendering (see ``positions.splice``), and any of
    speaker, start and end; with ``version``, only if nobody changed it since."""
    _require_editor(user, segment)
    body = SegmentEdit.parse(data)
    changes = {k: v for k, v in data.items() if k not in ("parts", "version")}
    # Claimed first, so the hidden words are read from the segment as it now is.
    edits.claim(segment, body.version)
    hidden = _hidden(user, segment)
    try:
        if "text" in changes and hidden:
            raise ValidationError(
                N_(
                    "This segment has hidden words you do not see; send parts, with "
                    '{"hidden": n} where each of them stands, so they are kept.'
                )
            )
        if "parts" in data:
            changes["text"] = positions.splice(segment.text, hidden, data["parts"])
    except BaseException:
        db.session.rollback()
        raise
    return edits.edit_segment(user, segment, changes, claimed=True)


def split(user: User, segment: Segment, data: dict[str, Any]) -> Segment:
    """Split at ``at``, a position in the rendered text the editor shows."""
    _require_editor(user, segment)
    body = SplitAt.parse(data)
    edits.claim(segment, body.version)
    try:
        position = positions.source_offset(_hidden(user, segment), body.at)
    except BaseException:
        db.session.rollback()
        raise
    return segment_splits.split_segment(user, segment, position, claimed=True)


def redact(user: User, segment: Segment, data: dict[str, Any]):
    """Redact a selection of the rendered text (positions as the editor shows them)."""
    _require_editor(user, segment)
    selection = Selection.parse(data)
    start, end = selection.start, selection.end
    edits.check_version(segment, data.get("version"))
    return redaction_edits.add_redaction(
        user, segment, start, end, data.get("reason"), data.get("replacement")
    )


def _require_editor(user: User, segment: Segment) -> None:
    """Asked before the claim: someone who may not edit never takes the segment's
    row, so they cannot make a real editor's save fail as a conflict."""
    policy.require(user, "edit_transcript", segment.recording.interview)


def _hidden(user: User, segment: Segment) -> list[redaction.Hidden]:
    redactor = redaction.redactor_for(user, segment.recording.interview)
    return redactor.hidden(segment) if redactor else []
