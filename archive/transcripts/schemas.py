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

from pydantic import Field, StrictInt, ValidationInfo, field_validator

from archive.errors import N_
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


class SplitAt(Schema):
    """Where to split a segment: a position in the rendered text the editor shows."""

    at: Position


class Selection(Schema):
    """A selection of the rendered text to redact (positions as the editor shows them)."""

    start: Bound
    end: Bound
