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

from flask import Flask, has_request_context, request
from flask_babel import (
    format_date,
    format_decimal,
    format_time,
    format_timedelta,
    get_locale,
    get_translations,
    gettext,
)
from flask_login import current_user

from archive.errors import N_
from archive.extensions import babel

#: The interface languages, in the order the picker lists them, each in its own name.
LANGUAGES: dict[str, str] = {"ru": "Русский", "kk": "Қазақша", "en": "English"}
DEFAULT_LANGUAGE = "en"
#: The cookie that keeps a visitor's choice for a year.
LANGUAGE_COOKIE = "archive_lang"
LANGUAGE_COOKIE_MAX_AGE = 365 * 24 * 3600


def select_locale() -> str:
    """Flask-Babel's locale selector: account, then cookie, then the browser.

    Outside a request (a worker, a command) there is no reader: English, the
    language of logs and stored messages; a mail chooses its recipient's with
    ``force_locale``."""
    if not has_request_context():
        return DEFAULT_LANGUAGE
    if current_user and current_user.is_authenticated:
        chosen = getattr(current_user, "locale", None)
        if chosen in LANGUAGES:
            return chosen
    cookie = request.cookies.get(LANGUAGE_COOKIE)
    if cookie in LANGUAGES:
        return cookie
    return request.accept_languages.best_match(list(LANGUAGES)) or DEFAULT_LANGUAGE


def current_language() -> str:
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
    value = _as_date(value)
    if value is None:
        return "—"
    if isinstance(value, datetime):
        value = value.date()
    return format_date(value, "medium")


def format_moment(value: datetime | None, seconds: bool = False) -> str:
    """A moment (UTC) with its day and time in the reader's language."""
    if value is None:
        return "—"
    return f"{format_date(value, 'medium')} {format_time(value, 'medium' if seconds else 'short')}"


def format_number(value: float | int | None) -> str:
    return "—" if value is None else format_decimal(value)


def format_duration(seconds: float | None) -> str:
    """A length in words: "3 minutes", "3 минуты", "3 минут"."""
    if seconds is None:
        return "—"
    return format_timedelta(timedelta(seconds=seconds), threshold=1.1)


def init_app(app: Flask) -> None:
    """Binds Flask-Babel with the archive's selector and puts the choices in templates."""
    babel.init_app(app, locale_selector=select_locale)
    app.jinja_env.globals["interface_languages"] = LANGUAGES
    app.jinja_env.globals["current_language"] = current_language
    app.jinja_env.globals["label"] = label
    app.jinja_env.globals["js_strings"] = js_strings
    app.jinja_env.filters["day"] = format_day
    app.jinja_env.filters["moment"] = format_moment
    app.jinja_env.filters["number"] = format_number
    app.jinja_env.filters["duration"] = format_duration


def Nn_(singular: str, plural: str) -> tuple[str, str]:
    """Marks a plural message for the catalogues (``pybabel -k Nn_:1,2``)."""
    return singular, plural


# What the page scripts (static/js) show, by their English text: each page that has
# scripts carries these translated in a JSON block the scripts read (``t()`` there),
# so a script shows English exactly as written when the reader's language is English.
JS_MESSAGES: tuple[str, ...] = (
    # modules/interview.js: uploads and live transcription
    N_("Upload of %(file)s"),
    N_("sent"),
    N_("stored, checked and queued for transcription"),
    N_("The upload failed (%(status)s)."),
    N_("The connection failed; nothing was stored. Try this file again."),
    N_("sending…"),
    N_("Try again"),
    N_("Part %(number)s"),
    N_("Transcription progress of part %(number)s"),
    N_("about %(time)s left"),
    N_("waiting for a worker"),
    N_("transcribing"),
    N_("done"),
    N_("failed"),
    # modules/editor/*.js
    N_("a name"),
    N_("redacted"),
    N_("Hidden (%(kind)s): it cannot be edited here"),
    N_("the same words over and over"),
    N_("mostly the names the model was given"),
    N_("more words than the time allows"),
    N_(
        "Possible hallucination (%(why)s): check the audio. "
        "Hidden from readers until corrected or confirmed."
    ),
    N_("%(num)s change(s) waiting to be saved…"),
    N_(
        "%(num)s change(s) not saved: %(why)s. Trying again in %(delay)s s; "
        "they are kept in this browser meanwhile."
    ),
    N_("%(num)s change(s) from an earlier visit are being saved…"),
    N_("It is what was said"),
    N_("Play from here"),
    N_("Change the speaker (Alt+S)"),
    N_("Segment at %(time)s"),
    N_("not saved yet"),
    N_("All changes saved."),
    N_("Saving…"),
    N_("saving…"),
    N_("interviewer"),
    N_("narrator"),
    N_("Loading…"),
    N_("Version %(version)s"),
    N_("speaker %(name)s"),
    N_("the server did not answer (%(status)s)"),
    N_("not saved: %(why)s"),
    N_("refused"),
    N_("A change was refused; it is still on the page (see the segment)."),
    N_("you are offline"),
    N_("the archive could not be reached"),
    N_("Confirmed: readers, search and exports now include this segment."),
    N_("Someone else changed this segment."),
    N_("Theirs is shown above; yours was:"),
    N_("I have merged them"),
    N_("changed elsewhere"),
    N_("A segment was changed by someone else; your text is shown beside it."),
    N_("not saved yet (kept from before)"),
    N_("You may not listen to this interview."),
    N_(
        "The listening copy is not ready (it is remade after each redaction). "
        "Try again in a minute."
    ),
    N_("Click into a segment first."),
    N_("This segment has changes that are not saved yet; try again when they are."),
    N_("The archive refused (%(status)s)."),
    N_("Put the cursor where the segment should be split."),
    N_("Split: the second part starts at %(time)s."),
    N_("Merged with the next segment."),
    N_("Start must stay before the end."),
    N_("Name of %(speaker)s"),
    N_("Rename"),
    N_("Renamed everywhere in this interview: %(name)s."),
    N_("edited"),
    N_("restored"),
    N_("split"),
    N_("merged"),
    N_("came with a merge"),
    N_("machine transcript"),
    N_("This is the current version."),
    N_("Restore version %(version)s"),
    N_("Restored as version %(version)s."),
    N_("Select the words to redact inside one segment first."),
    N_("Give a reason; it is kept with the redaction."),
    N_("Redacted. The listening copy is being remade."),
    N_("No uncertain words are left."),
    N_("possible hallucination"),
    N_("many uncertain words"),
    N_("low confidence"),
    N_("short turn between speakers"),
    N_("Nothing stands out: no segment is doubted or full of uncertain words."),
    N_("Nothing is left to check first."),
    N_("Enter does not break a segment: Ctrl+Enter splits it at the cursor."),
    N_("Machine transcript"),
    N_("In review"),
    N_("Approved"),
    N_("set by %(name)s"),
    N_("on %(when)s"),
    N_("remove"),
    N_("Added."),
)
#: Plural messages of the scripts: (singular, plural), chosen there by Intl.PluralRules.
JS_PLURALS: tuple[tuple[str, str], ...] = (
    Nn_(
        "%(num)s segment to check first (Alt+R: the next one).",
        "%(num)s segments to check first (Alt+R: the next one).",
    ),
)
# A number of each CLDR plural category, to pick the catalogue's form for it.
_PLURAL_SAMPLES = {"one": 1, "few": 2, "many": 5, "other": 5}


def js_strings() -> dict:
    """The scripts' messages in the reader's language (empty for English: the
    scripts then show their own text)."""
    if current_language() == DEFAULT_LANGUAGE:
        return {"lang": DEFAULT_LANGUAGE, "messages": {}, "plurals": {}}
    # The catalogue's text as it is: the scripts put the values in themselves.
    translations = get_translations()
    plurals = {
        singular: {
            category: translations.ungettext(singular, plural, number)
            for category, number in _PLURAL_SAMPLES.items()
        }
        for singular, plural in JS_PLURALS
    }
    return {
        "lang": current_language(),
        "messages": {message: translations.ugettext(message) for message in JS_MESSAGES},
        "plurals": plurals,
    }
