"""Interviews and their speakers: creating, loading, listing what a user may see.

Services flush and write their audit event in the same transaction; whoever started
the work commits (``archive/unit_of_work.py``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from flask_babel import gettext, ngettext
from sqlalchemy import exists, select

from archive import audit, policy, unit_of_work
from archive.extensions import db
from archive.interviews import identity
from archive.interviews.schemas import (  # noqa: F401  (re-exported for callers and tests)
    LANGUAGE_CODES,
    MAX_LANGUAGES,
    MAX_SPEAKERS,
    NewInterview,
    check_language,
    check_languages,
)
from archive.interviews.sequences import lock, next_number
from archive.models import Collection, Interview, Recording, Speaker, User

log = logging.getLogger(__name__)


def get_visible(user: Any, interview_id: int, action: str = "see_metadata") -> Interview:
    """Load an interview the user may act on; anything else is the same 404."""
    interview = db.session.get(Interview, interview_id)
    return policy.require(user, action, interview)


@dataclass(frozen=True)
class CatalogueFilter:
    status: str | None = None
    collection: int | None = None
    language: str | None = None
    year: int | None = None
    access: str | None = None
    # The work filters the home page's counts link to (archive/home.py): only for
    # people who make interviews (staff and interviewers), see ``work_filters``.
    mine: bool = False
    missing: str | None = None
    job: str | None = None
    embargo: str | None = None

    @classmethod
    def from_args(cls, args: Any) -> CatalogueFilter:
        """From a query string (a werkzeug MultiDict): the page and the API share it."""
        return cls(
            status=args.get("status") or None,
            collection=args.get("collection", type=int),
            language=args.get("language") or None,
            year=_year(args.get("year", type=int)),
            access=args.get("access") or None,
            mine=args.get("mine") in ("1", "y", "true"),
            missing=_choice(args.get("missing"), MISSING_FILTERS),
            job=_choice(args.get("job"), JOB_FILTERS),
            embargo=_choice(args.get("embargo"), EMBARGO_FILTERS),
        )

    @property
    def is_work(self) -> bool:
        return bool(self.mine or self.missing or self.job or self.embargo)


#: What an interview may lack: an agreement, or a pseudonym for a speaker.
MISSING_FILTERS = ("agreement", "speaker_names")
#: A recording of the interview in this job state.
JOB_FILTERS = ("queued", "processing", "running", "failed", "done")
#: "lifting": an embargo that ends within ``EMBARGO_SOON_DAYS``.
EMBARGO_FILTERS = ("lifting",)
EMBARGO_SOON_DAYS = 30
#: Workflow states an archivist still has to review.
AWAITING_REVIEW = ("machine_transcript", "in_review")


WORK_ARGS = ("mine", "missing", "job", "embargo")


def work_filter_label(filters: CatalogueFilter) -> str | None:
    """The work filters in force, in words (the list says what it shows)."""
    parts = []
    if filters.mine:
        parts.append(gettext("your interviews"))
    if filters.missing == "agreement":
        parts.append(gettext("without an agreement"))
    elif filters.missing == "speaker_names":
        parts.append(gettext("with a speaker who has no pseudonym"))
    if filters.job:
        parts.append(
            {
                "queued": gettext("with a recording waiting for transcription"),
                "processing": gettext("with a recording being transcribed"),
                "running": gettext("with a recording waiting or being transcribed"),
                "failed": gettext("with a failed transcription"),
                "done": gettext("with a finished transcription"),
            }[filters.job]
        )
    if filters.embargo == "lifting":
        parts.append(
            ngettext(
                "with an embargo ending in the next %(num)d day",
                "with an embargo ending in the next %(num)d days",
                EMBARGO_SOON_DAYS,
            )
        )
    if filters.status == "awaiting_review":
        parts.append(gettext("awaiting review"))
    return ", ".join(parts) or None


def _choice(value: str | None, choices: tuple[str, ...]) -> str | None:
    return value if value in choices else None


def _year(value: int | None) -> int | None:
    """A year a date can have; anything else filters nothing."""
    return value if value is not None and 1 <= value <= 9999 else None


def list_visible(
    user: Any,
    page: int = 1,
    per_page: int = 25,
    filters: CatalogueFilter | None = None,
):
    """A page of the interviews ``user`` may see in the catalogue, newest first."""
    filters = filters or CatalogueFilter()
    query = policy.visible(user, select(Interview)).order_by(Interview.id.desc())
    if filters.status == "awaiting_review":
        query = query.where(Interview.workflow_status.in_(AWAITING_REVIEW))
    elif filters.status:
        query = query.where(Interview.workflow_status == filters.status)
    if filters.collection:
        query = query.where(Interview.collection_id == filters.collection)
    if filters.language:
        query = query.where(Interview.language == filters.language)
    if filters.year:
        query = query.where(
            Interview.recorded_on >= date(filters.year, 1, 1),
            Interview.recorded_on <= date(filters.year, 12, 31),
        )
    if filters.access:
        query = query.where(Interview.access_level == filters.access)
    if filters.is_work and policy.can(user, "create_interview"):
        query = work_filtered(query, user, filters)
    return db.paginate(query, page=page, per_page=per_page, error_out=False)


def work_filtered(query, user: Any, filters: CatalogueFilter):
    """The work filters as WHERE clauses (on a query the policy has already narrowed)."""
    if filters.mine:
        query = query.where(Interview.interviewer_id == user.id)
    if filters.missing == "agreement":
        query = query.where(Interview.agreement_version == 0)
    elif filters.missing == "speaker_names":
        query = query.where(unnamed_speaker_exists())
    if filters.job:
        wanted = ("queued", "processing") if filters.job == "running" else (filters.job,)
        query = query.where(
            exists().where(Recording.interview_id == Interview.id, Recording.status.in_(wanted))
        )
    if filters.embargo == "lifting":
        today = date.today()
        query = query.where(
            Interview.embargo_until > today,
            Interview.embargo_until <= today + timedelta(days=EMBARGO_SOON_DAYS),
        )
    return query


def unnamed_speaker_exists():
    """An interview with a speaker (not merged away) who has no pseudonym yet."""
    return exists().where(
        Speaker.interview_id == Interview.id,
        Speaker.merged_into_id.is_(None),
        Speaker.pseudonym == "",
    )


def access_status(interview: Interview) -> str:
    """What the catalogue says of access: "open", "on request", "sealed until 2051"."""
    if interview.withdrawn_at is not None:
        return "withdrawn"
    if policy.is_embargoed(interview):
        return f"sealed until {interview.embargo_until.year}"
    return {"on_request": "on request", "catalogue": "catalogue only"}.get(
        interview.access_level, interview.access_level
    )


def collections() -> list[Collection]:
    # Titles are encrypted at rest: sorted here, not in SQL.
    return sorted(db.session.scalars(select(Collection)), key=lambda c: c.title.casefold())


def set_languages(interview: Interview, codes: list[str]) -> None:
    """Store the list, and its first language as the interview's ``language``."""
    interview.languages = ",".join(codes) or None
    interview.language = codes[0] if codes else None


def update_languages(actor: User, interview: Interview, value: Any) -> Interview:
    """Change the languages an interview's recordings are transcribed in (the next
    transcription, or a retry of a failed one, uses them; a finished transcript and
    its edits are never redone)."""
    policy.require(actor, "edit_metadata", interview)
    codes = check_languages(value)
    set_languages(interview, codes)
    audit.record(
        db.session,
        "interview_languages_changed",
        actor,
        interview_id=interview.id,
        object_type="interview",
        object_id=interview.id,
        languages=",".join(codes),
    )
    return interview


def create_interview(actor: User, data: Mapping[str, Any] | NewInterview) -> Interview:
    """Create an interview from validated fields; the interviewer of record is the
    creator when an interviewer creates it."""
    policy.require(actor, "create_interview")
    body = NewInterview.parse(data)
    interview = Interview(
        title=body.title,
        summary=body.summary,
        place=body.place,
        vocabulary=body.vocabulary,
        expected_speakers=body.expected_speakers,
        collection_id=body.collection,
        recorded_on=body.recorded_on,
        interviewer_id=actor.id if policy.becomes_interviewer_of_record(actor) else None,
    )
    set_languages(interview, body.languages)
    speakers = body.speakers
    db.session.add(interview)
    db.session.flush()
    for item in speakers:
        add_speaker(interview, **item)
    named = any(item.get("real_name") or item.get("aliases") for item in speakers)
    # Imported here: this package's __init__ runs whenever any of its modules is
    # imported (``identity``, by redaction), and ``speakers`` imports the index,
    # which imports redaction; at the top that would close a loop.
    from archive.interviews import speakers as speaker_service
    from archive.recordings import listening_copies

    touched = speaker_service.hide_everywhere(interview) if named else []
    audit.record(
        db.session,
        "interview_created",
        actor,
        interview_id=interview.id,
        object_type="interview",
        object_id=interview.id,
    )
    for other in touched:
        listening_copies.rebuild_after_commit(other)
    created = interview.id
    unit_of_work.after_commit(lambda: log.info("interview %s created", created))
    return interview


def add_speaker(
    interview: Interview,
    pseudonym: str = "",
    role: str = "other",
    real_name: str = "",
    aliases: list[str] | None = None,
) -> Speaker:
    """Add a speaker row (inside the caller's transaction) labelled S1, S2, ..."""
    lock(Interview, interview.id)  # two workers on two parts never share a label
    position = next_number(Speaker.position, Speaker.interview_id == interview.id)
    speaker = Speaker(
        interview_id=interview.id,
        position=position,
        label=f"S{position}",
        role=role,
        pseudonym=pseudonym,
    )
    identity.set_identity(speaker, real_name or None, aliases)
    identity.check_pseudonym(speaker)
    db.session.add(speaker)
    db.session.flush()
    return speaker


def hotwords(interview: Interview) -> list[str]:
    """Words the model should expect: the vocabulary and the speakers' real names.

    Real names help the model spell them right, so that redaction finds them; they
    go to the model only, never to a log. Pseudonyms are never among them: nobody
    says them, and a primed word the speaker did not say is one the model may put in
    her mouth (bench/fidelity.py measures it).
    """
    words = [w.strip() for w in interview.vocabulary.replace("\n", ",").split(",") if w.strip()]
    for speaker in interview.speakers:
        words.extend(identity.protected_names(speaker))
    seen: dict[str, None] = {}
    for word in words:
        seen.setdefault(word, None)
    return list(seen)
