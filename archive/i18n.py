"""The reader's language: which one a request is answered in, and how it is chosen.

The archive's people work in Russian, Kazakh and English. The choice is the
account's (``users.locale``), then a visitor's cookie, then the browser's
``Accept-Language``, then English, so a narrator's community can read the archive
without an account and without a setting.

Services do not import Flask, so the messages they raise are marked with
:func:`N_` (for extraction only) and translated where they are shown, with their
parameters put in after translation (``archive.web.errors``).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from flask import Flask, request
from flask_login import current_user

from archive.errors import N_

#: The interface languages, in the order the picker lists them, each in its own name.
LANGUAGES: dict[str, str] = {"ru": "Русский", "kk": "Қазақша", "en": "English"}
DEFAULT_LANGUAGE = "en"
#: The cookie that keeps a visitor's choice for a year.
LANGUAGE_COOKIE = "archive_lang"
LANGUAGE_COOKIE_MAX_AGE = 365 * 24 * 3600


def select_locale() -> str:
    """Flask-Babel's locale selector: account, then cookie, then the browser."""
    if current_user and current_user.is_authenticated:
        chosen = getattr(current_user, "locale", None)
        if chosen in LANGUAGES:
            return chosen
    cookie = request.cookies.get(LANGUAGE_COOKIE)
    if cookie in LANGUAGES:
        return cookie
    return request.accept_languages.best_match(list(LANGUAGES)) or DEFAULT_LANGUAGE


def current_language() -> str:
    from flask_babel import get_locale

    locale = get_locale()
    return locale.language if locale is not None else DEFAULT_LANGUAGE


# The archive's fixed vocabularies (stored as English codes) as a reader sees them.
_LABELS: dict[str, dict[str, str]] = {
    "role": {
        "admin": N_("administrator"),
        "custodian": N_("custodian"),
        "archivist": N_("archivist"),
        "interviewer": N_("interviewer"),
        "researcher": N_("researcher"),
    },
    "speaker_role": {
        "interviewer": N_("interviewer"),
        "narrator": N_("narrator"),
        "other": N_("other"),
    },
    "workflow": {
        "new": N_("new"),
        "transcribing": N_("transcribing"),
        "machine_transcript": N_("machine transcript"),
        "in_review": N_("in review"),
        "approved": N_("approved"),
    },
    "job": {
        "queued": N_("waiting for a worker"),
        "processing": N_("transcribing"),
        "done": N_("done"),
        "failed": N_("failed"),
    },
    "access": {
        "sealed": N_("sealed"),
        "catalogue": N_("catalogue only"),
        "on_request": N_("on request"),
        "open": N_("open"),
        "withdrawn": N_("withdrawn"),
    },
    "audio": {"none": N_("none"), "redacted": N_("redacted"), "full": N_("full")},
    "identity": {"pseudonym": N_("pseudonym"), "named": N_("named")},
    "request": {"pending": N_("pending"), "approved": N_("approved"), "refused": N_("refused")},
}


def label(kind: str, value: str | None) -> str:
    """A stored code (``on_request``, ``custodian``...) in the reader's language."""
    from flask_babel import gettext

    if value is None:
        return "—"
    english = _LABELS.get(kind, {}).get(value)
    return gettext(english) if english else value.replace("_", " ")


def _as_date(value: date | datetime | str | None) -> date | None:
    if isinstance(value, str):
        return date.fromisoformat(value) if value else None
    return value


def format_day(value: date | datetime | str | None) -> str:
    """A day in the reader's language: "Jan 5, 2022", in Russian "5 янв. 2022"."""
    from flask_babel import format_date

    value = _as_date(value)
    if value is None:
        return "—"
    if isinstance(value, datetime):
        value = value.date()
    return format_date(value, "medium")


def format_moment(value: datetime | None, seconds: bool = False) -> str:
    """A moment (UTC) with its day and time in the reader's language."""
    from flask_babel import format_date, format_time

    if value is None:
        return "—"
    return f"{format_date(value, 'medium')} {format_time(value, 'medium' if seconds else 'short')}"


def format_number(value: float | int | None) -> str:
    from flask_babel import format_decimal

    return "—" if value is None else format_decimal(value)


def format_duration(seconds: float | None) -> str:
    """A length in words: "3 minutes", "3 минуты", "3 минут"."""
    from flask_babel import format_timedelta

    if seconds is None:
        return "—"
    return format_timedelta(timedelta(seconds=seconds), threshold=1.1)


def init_app(app: Flask) -> None:
    """Binds Flask-Babel with the archive's selector and puts the choices in templates."""
    from archive.extensions import babel

    babel.init_app(app, locale_selector=select_locale)
    app.jinja_env.globals["interface_languages"] = LANGUAGES
    app.jinja_env.globals["current_language"] = current_language
    app.jinja_env.globals["label"] = label
    app.jinja_env.filters["day"] = format_day
    app.jinja_env.filters["moment"] = format_moment
    app.jinja_env.filters["number"] = format_number
    app.jinja_env.filters["duration"] = format_duration
