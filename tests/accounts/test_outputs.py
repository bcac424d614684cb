"""The account view: an e-mail reaches its holder and the admins, nobody else."""

from __future__ import annotations

import pytest
from flask_login import AnonymousUserMixin

from archive.accounts.outputs import AccountView
from archive.errors import NotFoundError


@pytest.mark.parametrize("role", ["custodian", "archivist", "interviewer", "researcher"])
def test_no_one_but_the_admin_gets_the_view_of_anothers_account(people, make_user, role):
    someone = make_user("researcher", email="someone@example.org")
    with pytest.raises(NotFoundError):
        AccountView.of(people[role], someone)
    assert AccountView.of(people[role], people[role]).email == people[role].email


def test_the_admin_and_the_holder_see_the_email_and_a_visitor_nothing(people, make_user):
    someone = make_user("researcher", email="someone@example.org")
    assert AccountView.of(people["admin"], someone).as_json()["email"] == "someone@example.org"
    with pytest.raises(NotFoundError):
        AccountView.of(AnonymousUserMixin(), someone)
