"""What is sent to create or change an interview, checked once (``archive.schemas``).

The language checks live here too: forms, the API and the CLI all call them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, ValidationInfo, field_validator, model_validator

from archive.errors import N_, ValidationError, parse_date
from archive.extensions import db
from archive.models import SPEAKER_ROLES, Collection
from archive.schemas import Schema, invalid, reraised

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


def _text(key: str, limit: int, required: bool = False) -> Callable[[Any], str]:
    """A text field: stripped, at most ``limit`` characters; None is empty."""

    def check(value: Any) -> str:
        if value is None:
            value = ""
        if not isinstance(value, str):
            raise invalid(N_("%(key)s must be text."), key=key)
        value = value.strip()
        if required and not value:
            raise invalid(N_("%(key)s is required."), key=key)
        if len(value) > limit:
            raise invalid(N_("%(key)s is longer than %(limit)s characters."), key=key, limit=limit)
        return value

    return check


def _speaker(number: int, item: Any) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise invalid(N_("speaker %(number)s must be an object."), number=number)
    role = item.get("role") or "other"
    if role not in SPEAKER_ROLES:
        raise invalid(
            N_("speaker %(number)s: role must be one of %(choices)s."),
            number=number,
            choices=", ".join(SPEAKER_ROLES),
        )
    aliases = item.get("aliases") or []
    if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
        raise invalid(N_("speaker %(number)s: aliases must be a list of names."), number=number)
    return {
        "pseudonym": _text("pseudonym", 120)(item.get("pseudonym")),
        "role": role,
        "real_name": _text("real_name", 300)(item.get("real_name")),
        "aliases": aliases,
    }


class NewInterview(Schema):
    """A new interview, from the form or a JSON body (checked in this order)."""

    title: Annotated[str, BeforeValidator(_text("title", 300, required=True))] = Field(
        "", validate_default=True
    )
    summary: Annotated[str, BeforeValidator(_text("summary", 20_000))] = ""
    place: Annotated[str, BeforeValidator(_text("place", 300))] = ""
    vocabulary: Annotated[str, BeforeValidator(_text("vocabulary", 5_000))] = ""
    expected_speakers: Any = None
    collection: Any = None
    recorded_on: Any = None
    #: The single language of older clients, read when ``languages`` is not given.
    language: Any = None
    languages: Annotated[Any, Field(validate_default=True)] = None
    speakers: Annotated[Any, Field(validate_default=True)] = None

    @model_validator(mode="before")
    @classmethod
    def _date_alias(cls, data: Any) -> Any:
        """``date`` is the older name of ``recorded_on``."""
        if isinstance(data, dict):
            data = {**data, "recorded_on": data.get("recorded_on") or data.get("date")}
        return data

    @field_validator("expected_speakers", mode="before")
    @classmethod
    def _expected_speakers(cls, value: Any) -> int | None:
        if value in (None, ""):
            return None
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise invalid(N_("expected_speakers must be a whole number.")) from None
        if not 1 <= number <= MAX_SPEAKERS:
            raise invalid(
                N_("expected_speakers must be between 1 and %(max_speakers)s."),
                max_speakers=MAX_SPEAKERS,
            )
        return number

    @field_validator("collection", mode="before")
    @classmethod
    def _collection(cls, value: Any) -> int | None:
        """The id of an existing collection (looked up here, so the order of the
        messages stays as it was)."""
        if value in (None, ""):
            return None
        try:
            collection = db.session.get(Collection, int(value))
        except (TypeError, ValueError):
            collection = None
        if collection is None:
            raise invalid(N_("There is no such collection."))
        return collection.id

    @field_validator("recorded_on", mode="before")
    @classmethod
    def _recorded_on(cls, value: Any) -> date | None:
        try:
            return parse_date(value, N_("The date must look like 2022-01-05."))
        except ValidationError as exc:
            raise reraised(exc) from None

    @field_validator("languages", mode="before")
    @classmethod
    def _languages(cls, value: Any, info: ValidationInfo) -> list[str]:
        """``languages`` when given, else the single ``language`` of older clients."""
        try:
            if value not in (None, "", []):
                return check_languages(value)
            single = check_language(info.data.get("language"))
        except ValidationError as exc:
            raise reraised(exc) from None
        return [single] if single else []

    @field_validator("speakers", mode="before")
    @classmethod
    def _speakers(cls, value: Any) -> list[dict[str, Any]]:
        speakers = value or []
        if not isinstance(speakers, list) or len(speakers) > MAX_SPEAKERS:
            raise invalid(
                N_("speakers must be a list of at most %(max_speakers)s speakers."),
                max_speakers=MAX_SPEAKERS,
            )
        return [_speaker(number, item) for number, item in enumerate(speakers, start=1)]


class InterviewChanges(Schema):
    """What the API may change of an interview: for now its ``languages``."""

    languages: Any = None

    @model_validator(mode="before")
    @classmethod
    def _known(cls, data: Any) -> Any:
        unknown = sorted(set(data) - {"languages"})
        if unknown:
            raise invalid(
                N_("These fields cannot be changed here: %(fields)s. Send languages."),
                fields=", ".join(unknown)[:200],
            )
        return data


# -- speakers ------------------------------------------------------------------

MAX_NAME = 300


def _names(value: Any, field: str) -> list[str]:
    """Aliases from "A, B" (or one a line) or a list of names."""
    if isinstance(value, str):
        value = value.replace("\n", ",").split(",")
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise invalid(N_("%(field)s must be a list of names."), field=field)
    if any(len(item) > MAX_NAME for item in value):
        raise invalid(N_("Each of %(field)s must be at most 300 characters."), field=field)
    return value


class SpeakerChanges(Schema):
    """A partial update of a speaker: only the keys sent change (checked in this order)."""

    pseudonym: str | None = None
    role: str | None = None
    real_name: str | None = None
    aliases: list[str] | None = None

    @field_validator("pseudonym", mode="before")
    @classmethod
    def _pseudonym(cls, value: Any) -> str:
        if not isinstance(value, str) or len(value.strip()) > 120:
            raise invalid(N_("pseudonym must be text of at most 120 characters."))
        return value.strip()

    @field_validator("role", mode="before")
    @classmethod
    def _role(cls, value: Any) -> str:
        if value not in SPEAKER_ROLES:
            raise invalid(N_("role must be one of %(choices)s."), choices=", ".join(SPEAKER_ROLES))
        return value

    @field_validator("real_name", mode="before")
    @classmethod
    def _real_name(cls, value: Any) -> str:
        if not isinstance(value, str) or len(value) > MAX_NAME:
            raise invalid(N_("real_name must be text of at most 300 characters."))
        return value

    @field_validator("aliases", mode="before")
    @classmethod
    def _aliases(cls, value: Any) -> list[str]:
        return _names(value, "aliases")

    @model_validator(mode="after")
    def _something(self) -> SpeakerChanges:
        if not self.model_fields_set & {"pseudonym", "role", "real_name", "aliases"}:
            raise invalid(N_("Nothing to change: send pseudonym, role, real_name or aliases."))
        return self

    def changed(self) -> list[str]:
        """The fields sent, in the order the audit event lists them."""
        return [name for name in type(self).model_fields if name in self.model_fields_set]


#: A reveal's reason is kept in the audit log: long enough to mean something.
MIN_REASON = 10


class Reveal(Schema):
    """Why a custodian needs a speaker's real name."""

    reason: Annotated[Any, Field(validate_default=True)] = None

    @field_validator("reason", mode="before")
    @classmethod
    def _reason(cls, value: Any) -> str:
        reason = value.strip() if isinstance(value, str) else ""
        if len(reason) < MIN_REASON:
            raise invalid(
                N_(
                    "Say why you need the real name (at least %(min_reason)s characters): "
                    "the reason is kept in the audit log."
                ),
                min_reason=MIN_REASON,
            )
        return reason


class MergeInto(Schema):
    """The speaker another one is merged into."""

    into: Annotated[Any, Field(validate_default=True)] = None

    @field_validator("into", mode="before")
    @classmethod
    def _into(cls, value: Any) -> int:
        try:
            return int(value)
        except (TypeError, ValueError):
            raise invalid(N_("%(field)s must be a speaker id."), field="into") from None
