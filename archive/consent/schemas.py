"""What custodians and researchers send about consent, checked once (``archive.schemas``).

Agreements, access requests, decisions and withdrawals come from forms, the
JSON API and the CLI; each is one model here, and the services parse what they
are given with it (after asking the policy, so a refusal still comes first).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any

from pydantic import Field, ValidationInfo, field_validator, model_validator

from archive.errors import N_, ValidationError, parse_date
from archive.models import ACCESS_LEVELS, AUDIO_PERMISSIONS, IDENTITY_CHOICES
from archive.schemas import Schema, invalid

GRANT_DAYS = 365
AGREEMENT_FIELDS = ("access_level", "audio", "identity", "named_speakers", "embargo_until", "notes")
ACCEPTED = (True, "true", "y", "yes", "on", "1")


def _date(value: Any, message: str) -> date | None:
    try:
        return parse_date(value, message)
    except ValidationError as exc:
        raise invalid(exc.template, **exc.params) from None


def _choice(value: Any, key: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise invalid(
            N_("%(key)s must be one of %(choices)s."), key=key, choices=", ".join(choices)
        )
    return value


class AgreementTerms(Schema):
    """The terms of an agreement, from a form or a JSON body (checked in this order)."""

    notes: Any = ""
    identity: Any = "pseudonym"
    access_level: Any = "sealed"
    audio: Any = "none"
    named_speakers: Annotated[Any, Field(validate_default=True)] = None
    embargo_until: Any = None

    @field_validator("notes", mode="before")
    @classmethod
    def _notes(cls, value: Any) -> str:
        value = value or ""
        if not isinstance(value, str) or len(value) > 20_000:
            raise invalid(N_("notes must be text of at most 20,000 characters."))
        return value.strip()

    @field_validator("identity", mode="before")
    @classmethod
    def _identity(cls, value: Any) -> str:
        return _choice(value, "identity", IDENTITY_CHOICES)

    @field_validator("access_level", mode="before")
    @classmethod
    def _access_level(cls, value: Any) -> str:
        return _choice(value, "access_level", ACCESS_LEVELS)

    @field_validator("audio", mode="before")
    @classmethod
    def _audio(cls, value: Any) -> str:
        return _choice(value, "audio", AUDIO_PERMISSIONS)

    @field_validator("named_speakers", mode="before")
    @classmethod
    def _named_speakers(cls, value: Any, info: ValidationInfo) -> list[int] | None:
        """Only with identity "named": the speakers who chose to be named."""
        if info.data.get("identity") != "named":
            return None
        if isinstance(value, str):
            value = value.replace(",", " ").split()
        if not isinstance(value, list) or not value:
            raise invalid(
                N_(
                    'With identity "named", say which speakers chose to be named: '
                    "named_speakers, a list of speaker ids. Nobody else is shown by name."
                )
            )
        try:
            return sorted({int(item) for item in value if not isinstance(item, bool)})
        except (TypeError, ValueError):
            raise invalid(N_("named_speakers must be a list of speaker ids.")) from None

    @field_validator("embargo_until", mode="before")
    @classmethod
    def _embargo(cls, value: Any) -> date | None:
        return _date(value, N_("embargo_until must be a date such as 2051-01-01."))

    def terms(self) -> dict[str, Any]:
        """The columns of an ``Agreement`` (and of its interview)."""
        return {
            "access_level": self.access_level,
            "audio_permission": self.audio,
            "identity": self.identity,
            "named_speakers": self.named_speakers,
            "embargo_until": self.embargo_until,
            "notes": self.notes,
        }


class AgreementKeys(Schema):
    """The API's rule on an agreement's body: known keys only, ``access_level`` given.

    Checked in the view before the service, which checks the values (after its own
    refusals, such as a withdrawn interview)."""

    @model_validator(mode="before")
    @classmethod
    def _keys(cls, data: Any) -> Any:
        unknown = sorted(set(data) - set(AGREEMENT_FIELDS))
        if unknown:
            raise invalid(N_("Unknown field(s): %(fields)s."), fields=", ".join(unknown))
        if "access_level" not in data:
            raise invalid(N_("access_level is required: sealed, catalogue, on_request or open."))
        return data


def _id(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise invalid(N_("Ids are whole numbers.")) from None


class AccessRequestBody(Schema):
    """A researcher's request: a purpose, the terms accepted, one interview or collection."""

    purpose: Any = None
    accept_terms: Any = None
    interview_id: Any = None
    collection_id: Any = None

    @field_validator("purpose", mode="before")
    @classmethod
    def _purpose(cls, value: Any) -> str:
        if not isinstance(value, str) or len(value.strip()) < 20:
            raise invalid(N_("Describe your purpose in at least 20 characters."))
        return value.strip()[:5000]

    @field_validator("accept_terms", mode="before")
    @classmethod
    def _accept(cls, value: Any) -> bool:
        if value not in ACCEPTED:
            raise invalid(N_("You must accept the terms of use to ask for access."))
        return True

    @model_validator(mode="after")
    def _one_target(self) -> AccessRequestBody:
        if bool(self.interview_id) == bool(self.collection_id):
            raise invalid(N_("Ask for one interview_id or one collection_id."))
        self.interview_id = _id(self.interview_id) if self.interview_id else None
        self.collection_id = _id(self.collection_id) if self.collection_id else None
        return self


class Decision(Schema):
    """A custodian's answer to a request: approve, until when, with a message."""

    approve: Any = None
    message: Any = None
    expires_on: Annotated[Any, Field(validate_default=True)] = None

    @field_validator("approve", mode="before")
    @classmethod
    def _approve(cls, value: Any) -> bool:
        if not isinstance(value, bool):
            raise invalid(N_("approve must be true or false."))
        return value

    @field_validator("message", mode="before")
    @classmethod
    def _message(cls, value: Any) -> str | None:
        if value is not None and not isinstance(value, str):
            raise invalid(N_("message must be text."))
        return value

    @field_validator("expires_on", mode="before")
    @classmethod
    def _expiry(cls, value: Any, info: ValidationInfo) -> date | None:
        """A grant's end, one year from today by default; only for an approval."""
        if info.data.get("approve") is not True:
            return None
        expiry = _date(value, N_("expires_on must be a date such as 2027-06-30."))
        if expiry is None:
            return date.today() + timedelta(days=GRANT_DAYS)
        if expiry <= date.today():
            raise invalid(N_("expires_on must be in the future."))
        return expiry


class Withdrawal(Schema):
    """A withdrawal: its reason, and whether the masters go too."""

    reason: Any = ""
    purge_master: Any = False
    confirm_title: Any = None

    @field_validator("reason", mode="before")
    @classmethod
    def _reason(cls, value: Any) -> str:
        reason = value.strip() if isinstance(value, str) else ""
        if len(reason) < 5:
            raise invalid(N_("Give the reason for the withdrawal."))
        return reason

    @field_validator("purge_master", mode="before")
    @classmethod
    def _purge(cls, value: Any) -> bool:
        if not isinstance(value, bool):
            raise invalid(N_("purge_master must be true or false."))
        return value
