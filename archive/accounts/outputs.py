"""What the API shows of an account, as an output model (``archive.schemas.View``).

An account is shown to its holder and to those who manage accounts, and to nobody
else: ``AccountView.of`` asks the policy (``sees_account``) and refuses with the
same 404 as a missing record, so no route can hand out another person's e-mail.
"""

from __future__ import annotations

from typing import Any, Self

from archive import policy
from archive.errors import NotFoundError
from archive.models import User
from archive.schemas import View


class AccountView(View):
    """An account as its holder and the admins see it."""

    id: int
    email: str
    name: str
    role: str
    active: bool

    @classmethod
    def of(cls, reader: Any, user: User) -> Self:
        if not policy.sees_account(reader, user):
            raise NotFoundError()
        return cls(
            id=user.id,
            email=user.email,
            name=user.display_name,
            role=user.role,
            active=user.active,
        )
