"""Domain errors raised by services; ``archive.web.errors`` turns them into responses.

A message is English text marked with ``N_`` for the catalogues, with
``%(name)s`` placeholders whose values come as keywords::

    raise ValidationError(N_("Unknown language code %(code)r."), code=value)

``message`` is the English text with the values in (logs, the CLI, tests); the web
translates ``template`` into the reader's language and puts the values in after.
"""

from __future__ import annotations

from datetime import date


def N_(message: str) -> str:
    """Marks ``message`` for the catalogues without translating it (no request here)."""
    return message


class ArchiveError(Exception):
    """Base of every error a person should see explained; ``status`` is the HTTP code."""

    status = 400

    def __init__(self, message: str, **params: object) -> None:
        self.template = message
        self.params = params
        self.message = message % params if params else message
        super().__init__(self.message)


class NotFoundError(ArchiveError):
    """Missing, or refused by the policy: the two must look the same."""

    status = 404

    def __init__(self, message: str = N_("Not found."), **params: object) -> None:
        super().__init__(message, **params)


class ValidationError(ArchiveError):
    status = 422


class ConflictError(ArchiveError):
    status = 409


class AuthenticationError(ArchiveError):
    """Sign-in or token failure; the message is the same whatever the cause."""

    status = 401

    def __init__(self, message: str = N_("Wrong email or password."), **params: object) -> None:
        super().__init__(message, **params)


def parse_date(value: object, message: str):
    """A date from a form or JSON value (ISO text or a date); None when empty.

    Raises ValidationError with ``message``, which names the field and an example.
    """
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ValidationError(message) from None
