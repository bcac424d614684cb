"""The access-request view: a purpose reaches the researcher who wrote it and the
custodians, never another researcher or other staff, whoever calls the view."""

from __future__ import annotations

import pytest

from archive import consent, unit_of_work
from archive.consent.outputs import AccessRequestView
from archive.errors import NotFoundError


@pytest.fixture
def asked(people, interview):
    row = consent.request_access(
        people["researcher"],
        {"interview_id": interview.id, "purpose": "My informant's village.", "accept_terms": True},
    )
    unit_of_work.commit()
    return row


@pytest.mark.parametrize("role", ["admin", "archivist", "interviewer", "other researcher"])
def test_no_one_else_gets_the_view_of_a_request(people, make_user, asked, role):
    reader = make_user("researcher") if role == "other researcher" else people[role]
    with pytest.raises(NotFoundError):
        AccessRequestView.of(reader, asked)


@pytest.mark.parametrize("role", ["researcher", "custodian"])
def test_the_researcher_and_the_custodian_read_the_purpose(people, asked, role):
    assert AccessRequestView.of(people[role], asked).purpose == "My informant's village."
