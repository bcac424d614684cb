"""What an administrator sends to create an account (``archive.schemas``).

Only the body's shape is checked here: every value is read as text, and the
service judges it (``normalise_email``, ``check_role``, ``check_password_strength``)
as it does for the admin form and the command line."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator

from archive.schemas import Schema


def _as_text(value: Any) -> str:
    return str(value)


Text = Annotated[str, BeforeValidator(_as_text)]


class NewUser(Schema):
    email: Text = ""
    role: Text = ""
    password: Text = ""
    name: Text = ""
