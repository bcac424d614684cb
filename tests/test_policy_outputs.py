"""Who the output views show an account and an access request to, as a table:
the holder or the researcher who asked, and those whose work it is; never another
account holder, a deactivated account or a visitor."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from archive import policy
from archive.models import ROLES


def _user(role: str | None, user_id: int = 1, active: bool = True):
    if role is None:
        return SimpleNamespace(is_authenticated=False, is_active=False, role=None, id=None)
    return SimpleNamespace(is_authenticated=True, is_active=active, role=role, id=user_id)


@pytest.mark.parametrize("role", sorted(ROLES))
def test_an_account_is_seen_by_its_holder(role):
    holder = _user(role, user_id=7)
    assert policy.sees_account(holder, holder)


@pytest.mark.parametrize("role", [*sorted(ROLES), None])
def test_anothers_account_is_seen_by_admins_only(role):
    other = _user("researcher", user_id=8)
    assert policy.sees_account(_user(role, user_id=7), other) == (role == "admin")


def test_a_deactivated_account_sees_no_account_not_even_its_own():
    gone = _user("admin", user_id=7, active=False)
    assert not policy.sees_account(gone, gone)


@pytest.mark.parametrize(
    ("role", "user_id", "sees"),
    [
        ("researcher", 7, True),  # who asked
        ("researcher", 8, False),  # another researcher
        ("custodian", 8, True),
        ("admin", 8, False),
        ("archivist", 8, False),
        ("interviewer", 8, False),
        (None, None, False),
    ],
)
def test_an_access_request_is_seen_by_who_asked_and_custodians(role, user_id, sees):
    request = SimpleNamespace(researcher_id=7)
    assert policy.sees_access_request(_user(role, user_id=user_id), request) is sees
