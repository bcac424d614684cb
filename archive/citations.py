"""Citations a scholar can paste: for an interview, and for a moment in it.

A citation names the narrator only as the reader may see them (pseudonym unless the
narrator chose to be named) and links to a stable address that opens the interview
at that time.
"""

from __future__ import annotations

import math
from datetime import date
from typing import Any

from flask import url_for

from archive import identity, rendering
from archive.errors import N_, ValidationError
from archive.models import Interview

# A moment further in than this (115 days) is no moment of an interview.
MAX_SECONDS = 10_000_000


def moment(value: str | None) -> float | None:
    """The ``t`` of a citation link: seconds from the start, a finite number."""
    if value is None or value.strip() == "":
        return None
    try:
        at = float(value)
    except ValueError:
        at = math.nan
    if not math.isfinite(at) or not 0 <= at <= MAX_SECONDS:
        raise ValidationError(
            N_("t must be a time in seconds, from 0 to %(max_seconds)s."), max_seconds=MAX_SECONDS
        )
    return at


def interview_url(interview: Interview, at: float | None = None) -> str:
    url = url_for("interviews.detail", interview_id=interview.id, _external=True)
    return f"{url}?t={int(at)}" if at is not None else url


def _clock(seconds: float) -> str:
    whole = int(seconds)
    return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def cite(user: Any, interview: Interview, at: float | None = None) -> str:
    """'Svetlana (narrator), interviewed ... "Title." Testimony Archive, interview 7, at
    0:12:05. URL (accessed 2026-11-26).'"""
    narrators = [identity.display_name(user, s) for s in interview.speakers if s.role == "narrator"]
    who = f"{', '.join(narrators)} (narrator)" if narrators else "Unnamed narrator"
    shown = rendering.metadata_for(user, interview)
    when = f", {interview.recorded_on.isoformat()}" if interview.recorded_on else ""
    where = f", {shown.place}" if shown.place else ""
    moment = f", at {_clock(at)}" if at is not None else ""
    return (
        f'{who}, oral history interview{when}{where}. "{shown.title}." '
        f"Testimony Archive, interview {interview.id}{moment}. "
        f"{interview_url(interview, at)} (accessed {date.today().isoformat()})."
    )
