"""Domain errors raised by services; ``archive.web.errors`` turns them into responses."""

from __future__ import annotations


class ArchiveError(Exception):
    """Base of every error a person should see explained; ``status`` is the HTTP code."""

    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFoundError(ArchiveError):
    """Missing, or refused by the policy: the two must look the same."""

    status = 404

    def __init__(self, message: str = "Not found.") -> None:
        super().__init__(message)


class ValidationError(ArchiveError):
    status = 422


class ConflictError(ArchiveError):
    status = 409


class AuthenticationError(ArchiveError):
    """Sign-in or token failure; the message is the same whatever the cause."""

    status = 401

    def __init__(self, message: str = "Wrong email or password.") -> None:
        super().__init__(message)


def parse_date(value: object, message: str):
    """A date from a form or JSON value (ISO text or a date); None when empty.

    Raises ValidationError with ``message``, which names the field and an example.
    """
    from datetime import date

    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ValidationError(message) from None
