"""The one place that decides who may do what with which interview.

Every view, API route, export, audio stream and search query asks ``can``,
``require`` or ``visible``; nothing else compares roles. A refusal raises
``NotFoundError`` so that nobody learns from the answer that a record exists.

The rules, in words (the README has them as a table, and the tests are generated
from ``RULES`` below):

- ``sealed``: staff (admin, custodian, archivist) and the interviewer of record.
- ``catalogue``: metadata for everyone, content for staff and the interviewer.
- ``on_request``: metadata for everyone, content also for researchers holding an
  approved, unexpired grant on the interview or its collection.
- ``open``: everyone.
- An embargo in the future makes the interview behave as ``sealed`` for everyone
  outside staff and the interviewer until that day; its catalogue entry stays
  listed as "sealed until ..." when the level underneath would show it.
- A withdrawn interview is seen by custodians and admins only.
- Audio follows the agreement's audio permission on top of reading: ``none``
  nothing, ``redacted`` the access copy, ``full`` the unredacted copy; staff and
  the interviewer always hear the unredacted copy. Masters: staff only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar

from sqlalchemy import Select, and_, exists, false, or_, select, true

from archive.errors import NotFoundError
from archive.extensions import db
from archive.models import ROLES, Grant, Interview

T = TypeVar("T")

CUSTODY = frozenset({"admin", "custodian"})

# Actions that concern the archive as a whole rather than one interview.
GLOBAL_RULES: dict[str, frozenset[str]] = {
    "manage_users": frozenset({"admin"}),
    # The sample interview of an empty archive (archive/samples): setting up is an admin's.
    "load_sample": frozenset({"admin"}),
    "view_audit": CUSTODY,
    "create_interview": frozenset({"admin", "custodian", "archivist", "interviewer"}),
    "manage_own_tokens": frozenset(ROLES),
    # A person's own password (archive/accounts: set_password); an admin's for anyone.
    "change_own_password": frozenset(ROLES),
    "review_queue": frozenset({"admin", "custodian", "archivist"}),
    "decide_access": frozenset({"custodian"}),
    "request_access": frozenset({"researcher"}),
    "view_metrics": frozenset({"admin"}),
    # The home page's work lists (archive/home.py): what each account has to do.
    "see_interviewer_work": frozenset({"interviewer"}),
    "see_review_work": frozenset({"custodian", "archivist"}),
}

# Reader classes, from the most to the least trusted (see ``reader_class``).
READERS = ("custody", "archivist", "interviewer_of_record", "granted", "signed_in", "visitor")

# What each reader class may do with the content of an interview, by access level.
CONTENT_READERS: dict[str, frozenset[str]] = {
    "sealed": frozenset({"custody", "archivist", "interviewer_of_record"}),
    "catalogue": frozenset({"custody", "archivist", "interviewer_of_record"}),
    "on_request": frozenset({"custody", "archivist", "interviewer_of_record", "granted"}),
    "open": frozenset(READERS),
}
# Levels whose catalogue entry (title, summary, speakers by pseudonym) all may see.
LISTED_LEVELS = frozenset({"catalogue", "on_request", "open"})
INSIDERS = frozenset({"custody", "archivist", "interviewer_of_record"})


@dataclass(frozen=True)
class Rule:
    """Who may do one piece of work on an interview: the reader classes ``readers``
    (see ``reader_class``), and the accounts of ``roles`` among its insiders (an
    admin is of the "custody" class, but only a custodian *role* edits a transcript)."""

    roles: frozenset[str] = frozenset()
    readers: frozenset[str] = frozenset()

    def allows(self, reader: str, role: str | None) -> bool:
        return reader in self.readers or (role in self.roles and reader in INSIDERS)


def _rule(roles: tuple[str, ...] = (), readers: tuple[str, ...] = ()) -> Rule:
    return Rule(roles=frozenset(roles), readers=frozenset(readers))


# Actions on one interview that are not about reading it: who may do them.
WORK_RULES: dict[str, Rule] = {
    "upload": _rule(readers=("custody", "archivist", "interviewer_of_record")),
    "retry_job": _rule(readers=("custody", "archivist", "interviewer_of_record")),
    "edit_metadata": _rule(readers=("custody", "archivist", "interviewer_of_record")),
    "edit_transcript": _rule(roles=("custodian", "archivist")),
    "set_workflow": _rule(roles=("custodian", "archivist")),
    "manage_speakers": _rule(roles=("custodian",), readers=("interviewer_of_record",)),
    # A speaker's pseudonym only, as a transcript is corrected (not names or roles).
    "rename_speaker": _rule(roles=("custodian", "archivist"), readers=("interviewer_of_record",)),
    "reveal_identity": _rule(roles=("custodian",)),
    "manage_agreements": _rule(roles=("custodian",)),
    "see_agreements": _rule(roles=("custodian",)),
    "withdraw": _rule(roles=("custodian",)),
    "download_master": _rule(readers=("custody", "archivist")),
    "see_restricted_metadata": _rule(readers=("custody", "archivist", "interviewer_of_record")),
}
WITHDRAWN_FROZEN = frozenset(
    {"upload", "retry_job", "edit_transcript", "set_workflow", "rename_speaker"}
)
READ_ACTIONS = frozenset({"read_transcript", "export", "listen"})
LIST_ACTIONS = frozenset({"list", "see_metadata"})


def roles_for(action: str) -> frozenset[str]:
    """The roles an archive-wide action belongs to, for queries over accounts (who
    is told of a new request, which admin is the last one)."""
    return GLOBAL_RULES[action]


def becomes_interviewer_of_record(user: Any) -> bool:
    """An interview created by an interviewer is theirs; staff create it for nobody."""
    return role_of(user) == "interviewer"


def role_of(user: Any) -> str | None:
    """The role of a signed-in, active user; None for visitors and deactivated accounts."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    if not getattr(user, "is_active", False):
        return None
    return getattr(user, "role", None)


def is_interviewer_of_record(user: Any, interview: Interview) -> bool:
    return role_of(user) is not None and interview.interviewer_id == user.id


def has_grant(user: Any, interview: Interview, today: date | None = None) -> bool:
    """An approved, unexpired, unrevoked grant on the interview or its collection."""
    if role_of(user) != "researcher":
        return False
    query = select(
        exists().where(_grant_clause(user.id, interview.id, interview.collection_id, today))
    )
    return bool(db.session.scalar(query))


def _grant_clause(user_id: int, interview_id, collection_id, today: date | None):
    today = today or date.today()
    target = Grant.interview_id == interview_id
    if collection_id is not None:
        target = or_(target, Grant.collection_id == collection_id)
    return and_(
        Grant.researcher_id == user_id,
        Grant.ended_at.is_(None),
        or_(Grant.expires_on.is_(None), Grant.expires_on >= today),
        target,
    )


def reader_class(user: Any, interview: Interview) -> str:
    role = role_of(user)
    if role in CUSTODY:
        return "custody"
    if role == "archivist":
        return "archivist"
    if is_interviewer_of_record(user, interview):
        return "interviewer_of_record"
    if has_grant(user, interview):
        return "granted"
    return "signed_in" if role else "visitor"


def is_embargoed(interview: Interview, today: date | None = None) -> bool:
    return interview.embargo_until is not None and interview.embargo_until > (today or date.today())


def effective_level(interview: Interview, today: date | None = None) -> str:
    """The access level in force today: an embargo seals, a withdrawal seals harder."""
    if interview.withdrawn_at is not None:
        return "withdrawn"
    if is_embargoed(interview, today):
        return "sealed"
    return interview.access_level


def decide(reader: str, role: str | None, action: str, interview: Interview) -> bool:
    """The rule itself, for a reader class: pure, so the tests can walk its table."""
    # A withdrawn interview: custodians and admins keep what they had, nothing new,
    # and no audio (its listening copies are gone and none is made again).
    withdrawn = interview.withdrawn_at is not None
    if withdrawn and (reader != "custody" or action in WITHDRAWN_FROZEN or action == "listen"):
        return False
    level = "sealed" if interview.withdrawn_at is not None else effective_level(interview)
    if action in LIST_ACTIONS:
        listed = interview.access_level in LISTED_LEVELS
        return reader in INSIDERS or listed or reader in CONTENT_READERS[level]
    if action in READ_ACTIONS:
        if reader not in CONTENT_READERS[level]:
            return False
        if action == "listen" and reader not in INSIDERS:
            return interview.audio_permission != "none"
        return True
    if action in WORK_RULES:
        return WORK_RULES[action].allows(reader, role)
    raise ValueError(f"unknown policy action {action!r}")


def can(user: Any, action: str, target: Any = None) -> bool:
    """Whether ``user`` may perform ``action`` (on the interview ``target``)."""
    if action in GLOBAL_RULES:
        return role_of(user) in GLOBAL_RULES[action]
    if target is None:
        return False
    if action == "record_agreement":
        # Custodians always; the interviewer of record only the first agreement,
        # which the narrator signed with them.
        first = target.agreement_version == 0 and target.withdrawn_at is None
        return can(user, "manage_agreements", target) or (
            first and is_interviewer_of_record(user, target)
        )
    return decide(reader_class(user, target), role_of(user), action, target)


def require(user: Any, action: str, target: T = None) -> T:
    """Return ``target`` when allowed; raise the same 404 as a missing record otherwise."""
    if action not in GLOBAL_RULES and target is None:
        raise NotFoundError()
    if not can(user, action, target):
        raise NotFoundError()
    return target


def require_own_account(actor: Any, holder: Any, action: str) -> None:
    """What a person does with their own account's things (API tokens): the holder
    alone, when their role allows ``action``; anyone else, an admin included, gets
    the same 404 as a missing record."""
    if holder is None or getattr(actor, "id", None) != holder.id or not can(actor, action):
        raise NotFoundError()


def require_account_change(actor: Any, holder: Any) -> None:
    """A new password for ``holder``: set by its holder, or by someone who manages
    accounts; anyone else gets the same 404."""
    if can(actor, "manage_users"):
        return
    require_own_account(actor, holder, "change_own_password")


def require_operator(user: Any, from_this_machine: bool) -> None:
    """The operators' figures (``/metrics``): a scraper on the machine itself, or an
    admin; everyone else the same 404 as a missing page."""
    if not (from_this_machine or can(user, "view_metrics")):
        raise NotFoundError()


def audio_variant(user: Any, interview: Interview) -> str | None:
    """Which audio the user may hear: "full", "redacted" or None."""
    if not can(user, "listen", interview):
        return None
    if reader_class(user, interview) in INSIDERS:
        return "full"
    return interview.audio_permission


def sees_real_names(user: Any, interview: Interview) -> bool:
    """Readers of a narrator who chose to be named. Custodians see a real name
    otherwise only through the audited reveal (``reveal_identity``)."""
    return interview.identity == "named" and can(user, "read_transcript", interview)


def sees_unredacted(user: Any, interview: Interview) -> bool:
    """Custodians read transcripts as spoken; everyone else the redacted rendering."""
    return role_of(user) == "custodian" and can(user, "read_transcript", interview)


def sees_unredacted_anywhere(user: Any) -> bool:
    """Custodians read what was typed about the archive as a whole (collections)."""
    return role_of(user) == "custodian"


def sees_account(user: Any, account: Any) -> bool:
    """An account's details (its e-mail): the account holder, and those who manage
    accounts; nobody else learns who holds an account."""
    return can(user, "manage_users") or (role_of(user) is not None and user.id == account.id)


def sees_access_request(user: Any, request: Any) -> bool:
    """An access request (its purpose, the custodian's message): the researcher who
    asked, and those who decide requests; never another researcher."""
    if can(user, "decide_access"):
        return True
    return can(user, "request_access") and request.researcher_id == user.id


def sees_file_names(user: Any, interview: Interview) -> bool:
    """The names recordings were uploaded under (they may hold a real name, hidden
    for whoever may not read it): those who name the speakers, as they do."""
    return can(user, "manage_speakers", interview)


def visible(user: Any, query: Select, action: str = "list", today: date | None = None) -> Select:
    """Add the rule for ``action`` ("list" or "read_transcript") as a WHERE clause.

    The same rules as ``decide``, written for SQL, so that lists, search and detail
    pages can never disagree (a test compares the two on every state).
    """
    return query.where(visible_clause(user, action, today))


def visible_clause(user: Any, action: str = "list", today: date | None = None):
    today = today or date.today()
    role = role_of(user)
    not_withdrawn = Interview.withdrawn_at.is_(None)
    if role in CUSTODY:
        return true()
    if role == "archivist":
        return not_withdrawn
    own = Interview.interviewer_id == user.id if role else false()
    embargoed = and_(Interview.embargo_until.is_not(None), Interview.embargo_until > today)
    open_now = and_(Interview.access_level == "open", ~embargoed)
    if role == "researcher":
        granted = exists().where(
            _grant_clause(user.id, Interview.id, Interview.collection_id, today)
        )
        readable = or_(open_now, and_(Interview.access_level == "on_request", ~embargoed, granted))
    else:
        readable = open_now
    if action == "list":
        readable = or_(readable, Interview.access_level.in_(LISTED_LEVELS))
    elif action != "read_transcript":
        raise ValueError(f"visible() filters list or read_transcript, not {action!r}")
    return and_(not_withdrawn, or_(own, readable))
