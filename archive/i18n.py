"""The reader's language: which one a request is answered in, and how it is chosen.

The archive's people work in Russian, Kazakh and English. The choice is the
account's (``users.locale``), then a visitor's cookie, then the browser's
``Accept-Language``, then English, so a narrator's community can read the archive
without an account and without a setting.
"""

from __future__ import annotations

from flask import Flask, request
from flask_login import current_user

#: The interface languages, in the order the picker lists them, each in its own name.
LANGUAGES: dict[str, str] = {"ru": "Русский", "kk": "Қазақша", "en": "English"}
DEFAULT_LANGUAGE = "en"
#: The cookie that keeps a visitor's choice for a year.
LANGUAGE_COOKIE = "archive_lang"


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


def init_app(app: Flask) -> None:
    """Binds Flask-Babel with the archive's selector and puts the choices in templates."""
    from archive.extensions import babel

    babel.init_app(app, locale_selector=select_locale)
    app.jinja_env.globals["interface_languages"] = LANGUAGES
