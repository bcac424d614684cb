"""What staff send about a transcript, checked once (``archive.schemas``).

The index points of the table of contents (``contents``), from the API, the
editor and an imported OHMS file alike; and the editor's positions (a split, a
selection to redact). What depends on the segment as it now is (its version,
its hidden words, its speakers) is checked by the services."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import Field, StrictInt, ValidationInfo, field_validator, model_validator

from archive.errors import N_
from archive.extensions import db
from archive.models import Speaker
from archive.schemas import Message, Schema, invalid

# OHMS fields of a point beyond time, title, keywords and synopsis, kept where given.
EXTRA_FIELDS = ("subjects", "gps", "gps_zoom", "gps_text", "hyperlinks")
_GPS = re.compile(r"\s*(-?\d{1,3}(?:\.\d+)?)\s*,\s*(-?\d{1,3}(?:\.\d+)?)\s*")


def keywords(value: Any) -> list[str]:
    """Words from a list, or text separated by semicolons or commas (at most 50)."""
    if value in (None, ""):
        return []
    if isinstance(value, str):
        value = value.split(";") if ";" in value else value.split(",")
    if not isinstance(value, list) or not all(isinstance(k, str) for k in value):
        raise invalid(N_("keywords must be a list of words, or text separated by commas."))
    return [k.strip() for k in value if k.strip()][:50]


def _text(name: str, limit: int) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        value = value or ""
        if not isinstance(value, str) or len(value) > limit:
            raise invalid(
                N_("%(name)s must be text of at most %(limit)s characters."),
                name=name,
                limit=f"{limit:,}",
            )
        return value.strip()

    return check


def _link(link: Any) -> dict[str, str] | None:
    """One hyperlink ``{"url", "text"}``; None for one without an address (skipped)."""
    url = link.get("url") if isinstance(link, dict) else None
    if not isinstance(url, str) or not url.strip():
        return None
    url = url.strip()
    if len(url) > 2000 or urlsplit(url).scheme not in ("http", "https") or " " in url:
        raise invalid(N_("Each hyperlink must be an http(s) address."))
    return {"url": url, "text": _text("text", 300)(link.get("text"))}


#: Checked even when absent: a missing title or time is refused with its message.
Required = Field(validate_default=True)


class IndexPointBody(Schema):
    """An index point; ``parse(data, duration=...)`` with the interview's length."""

    time: Annotated[Any, Required] = None
    title: Annotated[Any, Required] = None
    synopsis: Annotated[Any, Required] = None
    keywords: Annotated[Any, Required] = None
    subjects: Annotated[Any, Required] = None
    gps: Annotated[Any, Required] = None
    gps_zoom: Annotated[Any, Required] = None
    gps_text: Annotated[Any, Required] = None
    hyperlinks: Annotated[Any, Required] = None

    @field_validator("time", mode="before")
    @classmethod
    def _time(cls, value: Any, info: ValidationInfo) -> float:
        try:
            time = float(value)
        except (TypeError, ValueError):
            raise invalid(N_("time must be a number of seconds from the start.")) from None
        duration = (info.context or {}).get("duration", 0)
        if not 0 <= time <= max(duration, 0) + 0.5:
            raise invalid(N_("time must be between 0 and %(duration)s seconds."), duration=duration)
        return round(time, 2)

    @field_validator("title", mode="before")
    @classmethod
    def _title(cls, value: Any) -> str:
        if not isinstance(value, str) or not value.strip() or len(value) > 300:
            raise invalid(N_("Give the index point a title (at most 300 characters)."))
        return value.strip()

    @field_validator("synopsis", mode="before")
    @classmethod
    def _synopsis(cls, value: Any) -> str:
        value = value or ""
        if not isinstance(value, str) or len(value) > 5_000:
            raise invalid(N_("synopsis must be text of at most 5,000 characters."))
        return value.strip()

    @field_validator("keywords", "subjects", mode="before")
    @classmethod
    def _keywords(cls, value: Any) -> list[str]:
        return keywords(value)

    @field_validator("gps", mode="before")
    @classmethod
    def _gps(cls, value: Any) -> str:
        gps = _text("gps", 100)(value)
        if not gps:
            return ""
        match = _GPS.fullmatch(gps)
        if not match or abs(float(match[1])) > 90 or abs(float(match[2])) > 180:
            raise invalid(N_("gps must be a latitude and a longitude: 43.25, 76.95."))
        return f"{match[1]}, {match[2]}"

    @field_validator("gps_zoom", mode="before")
    @classmethod
    def _zoom(cls, value: Any, info: ValidationInfo) -> str:
        """A map zoom level; read only with a position."""
        if not info.data.get("gps"):
            return ""
        zoom = _text("gps_zoom", 3)(value)
        if zoom and not (zoom.isdigit() and int(zoom) <= 21):
            raise invalid(N_("gps_zoom must be a map zoom level from 0 to 21."))
        return zoom

    @field_validator("gps_text", mode="before")
    @classmethod
    def _gps_text(cls, value: Any, info: ValidationInfo) -> str:
        return _text("gps_text", 300)(value) if info.data.get("gps") else ""

    @field_validator("hyperlinks", mode="before")
    @classmethod
    def _hyperlinks(cls, value: Any) -> list[dict[str, str]]:
        links = value or []
        if not isinstance(links, list) or len(links) > 20:
            raise invalid(N_("hyperlinks must be a list of at most 20 links."))
        return [kept for link in links if (kept := _link(link))]

    def extra(self) -> dict[str, Any] | None:
        """The point's subjects, GPS and hyperlinks; None when there are none."""
        extra: dict[str, Any] = {}
        if self.subjects:
            extra["subjects"] = self.subjects
        if self.gps:
            extra.update(gps=self.gps, gps_zoom=self.gps_zoom, gps_text=self.gps_text)
        if self.hyperlinks:
            extra["hyperlinks"] = self.hyperlinks
        return extra or None


# -- the editor's positions ------------------------------------------------------------


Position = Annotated[
    StrictInt, Message(N_("at must be a character position in the segment's text."))
]
Bound = Annotated[
    StrictInt, Message(N_("start and end must be character positions (whole numbers)."))
]


class Selection(Schema):
    """A selection of the rendered text to redact (positions as the editor shows them)."""

    start: Bound
    end: Bound


# -- segment edits ---------------------------------------------------------------------

#: A segment's version as the editor was shown it; None: the version it has now.
Version = Annotated[
    StrictInt | None,
    Message(N_("version must be the whole number the segment was shown with.")),
]

#: The fields an edit may change, in the order they are checked.
EDITABLE = ("text", "speaker_id", "start", "end")
MAX_TEXT = 20_000


class Claim(Schema):
    """The version a change to a segment was made on (``transcript_edits.claim``)."""

    version: Version = None


class SegmentEdit(Claim):
    """``PATCH /segments/ID`` as the editor sends it: changes (checked by
    ``SegmentChanges`` once claimed), ``parts`` of the rendering, and ``version``."""

    @model_validator(mode="before")
    @classmethod
    def _something(cls, data: Any) -> Any:
        if not set(data) - {"parts", "version"} and "parts" not in data:
            raise invalid(N_("Nothing to change: send text, speaker_id, start or end."))
        return data


class SplitAt(Schema):
    """Where to split a segment: a position in the rendered text the editor shows."""

    at: Position
    version: Version = None


class _Unchanged:
    """``speaker_id`` not sent: the segment keeps its speaker, unchecked."""


class SegmentChanges(Schema):
    """An edit's new text, times and speaker, as the segment would then be.

    ``parse(changes, segment=...)`` with the segment as it now is (claimed): what is
    not sent is the segment's own, and checked like the rest."""

    text: Any
    start: Any
    end: Any
    speaker_id: Any

    @model_validator(mode="before")
    @classmethod
    def _given(cls, data: Any, info: ValidationInfo) -> Any:
        unknown = set(data) - set(EDITABLE)
        if unknown:
            raise invalid(N_("Unknown field(s): %(fields)s."), fields=", ".join(sorted(unknown)))
        if not data:
            raise invalid(N_("Nothing to change: send text, speaker_id, start or end."))
        segment = info.context["segment"]
        return {
            "text": data.get("text", segment.text),
            "start": data.get("start", segment.start),
            "end": data.get("end", segment.end),
            "speaker_id": data.get("speaker_id", _Unchanged),
        }

    @field_validator("text", mode="before")
    @classmethod
    def _text(cls, value: Any) -> str:
        if not isinstance(value, str) or len(value) > MAX_TEXT:
            raise invalid(
                N_("text must be text of at most %(max_text)s characters."), max_text=MAX_TEXT
            )
        return value

    @field_validator("start", "end", mode="before")
    @classmethod
    def _seconds(cls, value: Any) -> float:
        try:
            return float(value)
        except (TypeError, ValueError):
            raise invalid(N_("start and end must be numbers of seconds.")) from None

    @field_validator("end", mode="after")
    @classmethod
    def _times(cls, end: float, info: ValidationInfo) -> float:
        """Within the recording, the start before the end (both seconds by now)."""
        start = info.data.get("start")
        if start is None:
            return end  # the start's own error is the one reported
        duration = info.context["segment"].recording.duration or end
        if not 0 <= start < end <= duration + 0.5:
            raise invalid(
                N_("start and end must satisfy 0 <= start < end <= %(duration)s (the recording)."),
                duration=duration,
            )
        return end

    @field_validator("speaker_id", mode="before")
    @classmethod
    def _speaker_id(cls, wanted: Any, info: ValidationInfo) -> int | None:
        segment = info.context["segment"]
        if wanted is _Unchanged:
            return segment.speaker_id
        valid = isinstance(wanted, int) and not isinstance(wanted, bool) and 0 < wanted < 2**31
        speaker = db.session.get(Speaker, wanted) if valid else None
        if (
            speaker is None
            or speaker.interview_id != segment.recording.interview_id
            or speaker.merged_into_id
        ):
            raise invalid(N_("speaker_id must be a speaker of this interview."))
        return speaker.id

    def times(self) -> tuple[float, float]:
        """Start and end as stored: to the millisecond."""
        return round(self.start, 3), round(self.end, 3)


class RedactionNote(Schema):
    """Why a span is hidden (kept with it) and the label that stands for it."""

    reason: Annotated[Any, Required] = None
    replacement: Annotated[Any, Required] = None

    @field_validator("reason", mode="before")
    @classmethod
    def _reason(cls, value: Any) -> str:
        reason = value.strip() if isinstance(value, str) else ""
        if not reason:
            raise invalid(N_("Give a reason for the redaction; it is kept with it."))
        return reason[:2000]

    @field_validator("replacement", mode="before")
    @classmethod
    def _replacement(cls, value: Any) -> str:
        replacement = value.strip() if isinstance(value, str) else ""
        if len(replacement) > 120:
            raise invalid(N_("The replacement must be at most 120 characters."))
        return replacement


class RedactionRequest(Schema):
    """``POST /segments/ID/redactions``: ``rendered`` (exactly true) when the
    positions are in the rendered text the editor shows."""

    rendered: Annotated[Any, Required] = None

    @field_validator("rendered", mode="before")
    @classmethod
    def _rendered(cls, value: Any) -> bool:
        return value is True
