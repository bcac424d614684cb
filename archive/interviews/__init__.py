"""Interviews and their speakers: creating, loading, listing what a user may see."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import exists, select

from archive import audit, policy
from archive.errors import N_, NotFoundError, ValidationError, parse_date
from archive.extensions import db
from archive.interviews import identity
from archive.interviews.sequences import lock, next_number
from archive.models import SPEAKER_ROLES, Collection, Interview, Recording, Speaker, User
from archive.transcripts import redaction

log = logging.getLogger(__name__)

MAX_SPEAKERS = 20
# The languages Whisper knows.
LANGUAGE_CODES = frozenset(
    (
        "af am ar as az ba be bg bn bo br bs ca cs cy da de el en es et eu fa fi fo fr gl gu "
        "ha haw he hi hr ht hu hy id is it ja jw ka kk km kn ko la lb ln lo lt lv mg mi mk ml "
        "mn mr ms mt my ne nl nn no oc pa pl ps pt ro ru sa sd si sk sl sn so sq sr su sv sw "
        "ta te tg th tk tl tr tt uk ur uz vi yi yo yue zh"
    ).split()
)


def get_interview(interview_id: int) -> Interview:
    interview = db.session.get(Interview, interview_id)
    if interview is None:
        raise NotFoundError()
    return interview


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
    from flask_babel import gettext, ngettext

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
    status: str | None = None,
    filters: CatalogueFilter | None = None,
):
    """A page of the interviews ``user`` may see in the catalogue, newest first."""
    filters = filters or CatalogueFilter(status=status)
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


def check_language(language: str | None) -> str | None:
    if language in (None, ""):
        return None
    code = str(language).strip().lower()
    if code not in LANGUAGE_CODES:
        raise ValidationError(
            N_(
                "Unknown language code %(language)r: use a code such as en, ru, kk or de, "
                "or leave it empty to detect the language."
            ),
            language=language,
        )
    return code


#: More languages than anyone speaks in one interview is a typing mistake.
MAX_LANGUAGES = 8


def check_languages(value: Any) -> list[str]:
    """The interview's languages from "ru, kk", ["ru", "kk"] or None, checked against
    the languages Whisper (faster-whisper) knows; [] means not known."""
    if value in (None, ""):
        return []
    if isinstance(value, str):
        items = value.replace(";", ",").replace(" ", ",").split(",")
    elif isinstance(value, list) and all(isinstance(item, str) for item in value):
        items = value
    else:
        raise ValidationError(
            N_('languages must be codes separated by commas ("ru, kk") or a list of codes.')
        )
    codes: list[str] = []
    for item in items:
        code = item.strip().lower()
        if not code or code in codes:
            continue
        if code not in LANGUAGE_CODES:
            raise ValidationError(
                N_(
                    "Unknown language code %(code)s: use the two-letter codes of the "
                    "languages spoken, such as ru, kk or en (the transcription knows %(count)d)."
                ),
                code=repr(item.strip()),
                count=len(LANGUAGE_CODES),
            )
        codes.append(code)
    if len(codes) > MAX_LANGUAGES:
        raise ValidationError(N_("List at most %(count)d languages."), count=MAX_LANGUAGES)
    return codes


def _languages_of(data: dict) -> list[str]:
    """``languages`` when given, else the single ``language`` of older clients."""
    if data.get("languages") not in (None, "", []):
        return check_languages(data.get("languages"))
    single = check_language(data.get("language"))
    return [single] if single else []


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
    db.session.commit()
    return interview


def _text(data: dict, key: str, limit: int, required: bool = False) -> str:
    value = data.get(key)
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ValidationError(N_("%(key)s must be text."), key=key)
    value = value.strip()
    if required and not value:
        raise ValidationError(N_("%(key)s is required."), key=key)
    if len(value) > limit:
        raise ValidationError(
            N_("%(key)s is longer than %(limit)s characters."), key=key, limit=limit
        )
    return value


def _speakers(data: dict) -> list[dict]:
    speakers = data.get("speakers") or []
    if not isinstance(speakers, list) or len(speakers) > MAX_SPEAKERS:
        raise ValidationError(
            N_("speakers must be a list of at most %(max_speakers)s speakers."),
            max_speakers=MAX_SPEAKERS,
        )
    cleaned = []
    for number, item in enumerate(speakers, start=1):
        if not isinstance(item, dict):
            raise ValidationError(N_("speaker %(number)s must be an object."), number=number)
        role = item.get("role") or "other"
        if role not in SPEAKER_ROLES:
            raise ValidationError(
                N_("speaker %(number)s: role must be one of %(choices)s."),
                number=number,
                choices=", ".join(SPEAKER_ROLES),
            )
        aliases = item.get("aliases") or []
        if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
            raise ValidationError(
                N_("speaker %(number)s: aliases must be a list of names."), number=number
            )
        cleaned.append(
            {
                "pseudonym": _text(item, "pseudonym", 120),
                "role": role,
                "real_name": _text(item, "real_name", 300),
                "aliases": aliases,
            }
        )
    return cleaned


def _expected_speakers(data: dict) -> int | None:
    value = data.get("expected_speakers")
    if value in (None, ""):
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ValidationError(N_("expected_speakers must be a whole number.")) from None
    if not 1 <= number <= MAX_SPEAKERS:
        raise ValidationError(
            N_("expected_speakers must be between 1 and %(max_speakers)s."),
            max_speakers=MAX_SPEAKERS,
        )
    return number


def _collection_id(data: dict) -> int | None:
    value = data.get("collection")
    if value in (None, ""):
        return None
    try:
        collection = db.session.get(Collection, int(value))
    except (TypeError, ValueError):
        collection = None
    if collection is None:
        raise ValidationError(N_("There is no such collection."))
    return collection.id


def _recorded_on(data: dict) -> date | None:
    value = data.get("recorded_on") or data.get("date")
    return parse_date(value, N_("The date must look like 2022-01-05."))


def create_interview(actor: User, data: dict) -> Interview:
    """Create an interview from validated fields; the interviewer of record is the
    creator when an interviewer creates it."""
    policy.require(actor, "create_interview")
    interview = Interview(
        title=_text(data, "title", 300, required=True),
        summary=_text(data, "summary", 20_000),
        place=_text(data, "place", 300),
        vocabulary=_text(data, "vocabulary", 5_000),
        expected_speakers=_expected_speakers(data),
        collection_id=_collection_id(data),
        recorded_on=_recorded_on(data),
        interviewer_id=actor.id if policy.becomes_interviewer_of_record(actor) else None,
    )
    set_languages(interview, _languages_of(data))
    speakers = _speakers(data)
    db.session.add(interview)
    db.session.flush()
    for item in speakers:
        add_speaker(interview, **item)
    from archive.interviews import speakers as speaker_service

    named = any(item.get("real_name") or item.get("aliases") for item in speakers)
    touched = speaker_service.hide_everywhere(interview) if named else []
    audit.record(
        db.session,
        "interview_created",
        actor,
        interview_id=interview.id,
        object_type="interview",
        object_id=interview.id,
    )
    db.session.commit()
    for other in touched:
        speaker_service.rebuild_access_copies(other)
    log.info("interview %s created", interview.id)
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
    redaction.check_pseudonym(speaker)
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
