"""Citations a scholar can paste: for an interview, and for a moment in it.

A citation names the narrator only as the reader may see them (pseudonym unless the
narrator chose to be named) and links to a stable address that opens the interview
at that time.
"""

from __future__ import annotations

import json
import math
from datetime import date
from typing import Any

from flask import url_for

from archive.errors import N_, ValidationError
from archive.interviews import identity
from archive.models import Interview
from archive.timecodes import clock
from archive.transcripts import rendering

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


def cite(user: Any, interview: Interview, at: float | None = None) -> str:
    """'Svetlana (narrator), interviewed ... "Title." Testimony Archive, interview 7, at
    0:12:05. URL (accessed 2026-11-26).'"""
    narrators = [identity.display_name(user, s) for s in interview.speakers if s.role == "narrator"]
    who = f"{', '.join(narrators)} (narrator)" if narrators else "Unnamed narrator"
    shown = rendering.metadata_for(user, interview)
    when = f", {interview.recorded_on.isoformat()}" if interview.recorded_on else ""
    where = f", {shown.place}" if shown.place else ""
    moment = f", at {clock(at, hours=True)}" if at is not None else ""
    return (
        f'{who}, oral history interview{when}{where}. "{shown.title}." '
        f"Testimony Archive, interview {interview.id}{moment}. "
        f"{interview_url(interview, at)} (accessed {date.today().isoformat()})."
    )


# -- Citation styles ------------------------------------------------------------------
# Every style names people as ``cite`` does: by the name the reader may see (a
# pseudonym unless the narrator chose to be named), and titles and places as the
# reader may read them.

STYLES = ("chicago", "apa", "bibtex", "csl-json")
ARCHIVE = "Testimony Archive"


def _people(user: Any, interview: Interview, role: str) -> list[str]:
    return [identity.display_name(user, s) for s in interview.speakers if s.role == role]


def _and(names: list[str]) -> str:
    if len(names) <= 2:
        return " and ".join(names)
    return f"{', '.join(names[:-1])}, and {names[-1]}"


def _long_date(day: date) -> str:
    return f"{day.strftime('%B')} {day.day}, {day.year}"


def chicago(user: Any, interview: Interview, at: float | None = None) -> str:
    """Chicago (17th ed.), bibliography form of an unpublished oral history interview."""
    narrators = _people(user, interview, "narrator")
    interviewers = _people(user, interview, "interviewer")
    shown = rendering.metadata_for(user, interview)
    parts = [f"{_and(narrators) or 'Unnamed narrator'}.", f"“{shown.title}.”"]
    how = "Oral history interview"
    if interviewers:
        how += f" by {_and(interviewers)}"
    details = [how]
    if shown.place:
        details.append(shown.place)
    if interview.recorded_on:
        details.append(_long_date(interview.recorded_on))
    parts.append(", ".join(details) + ".")
    moment = f", at {clock(at, hours=True)}" if at is not None else ""
    parts.append(f"{ARCHIVE}, interview {interview.id}{moment}.")
    parts.append(f"{interview_url(interview, at)}.")
    return " ".join(parts)


def apa(user: Any, interview: Interview, at: float | None = None) -> str:
    """APA (7th ed.): an interview held in an archive."""
    narrators = _people(user, interview, "narrator")
    interviewers = _people(user, interview, "interviewer")
    shown = rendering.metadata_for(user, interview)
    when = interview.recorded_on
    year = f"{when.year}, {when.strftime('%B')} {when.day}" if when else "n.d."
    by = f" by {_and(interviewers).replace(', and ', ', & ').replace(' and ', ' & ')}"
    kind = f"[Oral history interview{by if interviewers else ''}]"
    moment = f" (at {clock(at, hours=True)})" if at is not None else ""
    who = _and(narrators).replace(", and ", ", & ").replace(" and ", " & ")
    return (
        f"{who or 'Unnamed narrator'}. ({year}). {shown.title} {kind}{moment}. "
        f"{ARCHIVE}. {interview_url(interview, at)}"
    )


_BIBTEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "{": r"\{",
    "}": r"\}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}


def _bib(text: str) -> str:
    return "".join(_BIBTEX_SPECIAL.get(c, c) for c in " ".join(text.split()))


def bibtex(user: Any, interview: Interview, at: float | None = None) -> str:
    narrators = _people(user, interview, "narrator")
    interviewers = _people(user, interview, "interviewer")
    shown = rendering.metadata_for(user, interview)
    # Each name braced: a pseudonym is one name, never "Last, First".
    fields = [
        ("author", " and ".join(f"{{{_bib(n)}}}" for n in narrators) or "{Unnamed narrator}"),
        ("title", f"{{{_bib(shown.title)}}}"),
        ("howpublished", "Oral history interview"),
        ("year", str(interview.recorded_on.year) if interview.recorded_on else ""),
        ("month", interview.recorded_on.strftime("%b").lower() if interview.recorded_on else ""),
        ("address", _bib(shown.place)),
        ("organization", ARCHIVE),
        (
            "note",
            "; ".join(
                n
                for n in (
                    f"Interviewed by {_bib(_and(interviewers))}" if interviewers else "",
                    f"Interview {interview.id}",
                    f"at {clock(at, hours=True)}" if at is not None else "",
                    f"accessed {date.today().isoformat()}",
                )
                if n
            ),
        ),
        ("url", interview_url(interview, at)),
    ]
    body = ",\n".join(
        f"  {name} = {value if name == 'month' else '{' + value + '}'}"
        for name, value in fields
        if value
    )
    return f"@misc{{testimony-archive-{interview.id},\n{body}\n}}"


def csl(user: Any, interview: Interview, at: float | None = None) -> dict[str, Any]:
    """CSL-JSON (the citation processors' input, Zotero's export): type "interview"."""
    shown = rendering.metadata_for(user, interview)
    today = date.today()
    item: dict[str, Any] = {
        "id": f"testimony-archive-{interview.id}",
        "type": "interview",
        "title": shown.title,
        "author": [{"literal": n} for n in _people(user, interview, "narrator")],
        "interviewer": [{"literal": n} for n in _people(user, interview, "interviewer")],
        "medium": "Oral history interview",
        "archive": ARCHIVE,
        "number": str(interview.id),
        "URL": interview_url(interview, at),
        "accessed": {"date-parts": [[today.year, today.month, today.day]]},
    }
    if interview.recorded_on:
        day = interview.recorded_on
        item["issued"] = {"date-parts": [[day.year, day.month, day.day]]}
    if shown.place:
        item["event-place"] = shown.place
    if interview.language:
        item["language"] = interview.language
    if at is not None:
        item["locator"] = clock(at, hours=True)
    return {key: value for key, value in item.items() if value not in ([], "")}


def styles(user: Any, interview: Interview, at: float | None = None) -> dict[str, str]:
    """The interview cited in each style, as text (CSL-JSON as its JSON text)."""
    return {
        "chicago": chicago(user, interview, at),
        "apa": apa(user, interview, at),
        "bibtex": bibtex(user, interview, at),
        "csl-json": json.dumps([csl(user, interview, at)], ensure_ascii=False, indent=2),
    }
