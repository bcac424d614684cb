"""Seconds into the time stamps the archive writes: one formatter for each style.

Pages, citations, exports and linked data each have their own convention; writing
each one once keeps, say, every citation and every page saying the same "1:02:05".
(The editor's script formats its own, in ``static/js``.)
"""

from __future__ import annotations

import math


def clock(seconds: float | None, hours: bool = False) -> str:
    """How transcribers write times: 12.5 -> "0:12", 3725 -> "1:02:05"; with
    ``hours`` the hour is always there ("0:00:12", as citations write it); "—" for
    an unknown time."""
    if seconds is None:
        return "—"
    whole = int(seconds)
    hour, rest = divmod(whole, 3600)
    minute, second = divmod(rest, 60)
    if hour or hours:
        return f"{hour}:{minute:02d}:{second:02d}"
    return f"{minute}:{second:02d}"


def hms(seconds: float) -> str:
    """``HH:MM:SS``, rounded down to the second (the words start in that second): the
    transcript files' time stamps."""
    if not math.isfinite(seconds) or seconds < 0:
        seconds = 0.0
    whole = int(seconds)
    return f"{whole // 3600:02d}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def cue(seconds: float, separator: str) -> str:
    """``HH:MM:SS<separator>mmm`` rounded to the millisecond: a subtitle cue's time
    (SRT ``,``, WebVTT ``.``)."""
    ms = max(0, round(seconds * 1000)) if math.isfinite(seconds) else 0
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    return f"{hours:02d}:{minutes:02d}:{rest // 1000:02d}{separator}{rest % 1000:03d}"


def iso_duration(seconds: float | None) -> str:
    """ISO 8601 duration (``PT1H2M5S``) for linked data; empty when unknown."""
    if not seconds or not math.isfinite(seconds) or seconds <= 0:
        return ""
    whole = int(seconds)
    return f"PT{whole // 3600}H{whole % 3600 // 60}M{whole % 60}S"
