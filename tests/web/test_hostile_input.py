"""Hostile input answers 4xx, never 5xx, and never lets the query string rewrite links."""

from __future__ import annotations

import pytest

from archive import interviews, unit_of_work


@pytest.fixture
def custodian(make_user):
    return make_user("custodian")


@pytest.fixture
def interview_id(custodian):
    interview = interviews.create_interview(custodian, {"title": "Hostile"})
    unit_of_work.commit()
    return interview.id


@pytest.mark.parametrize("t", ["inf", "-inf", "nan", "NaN", "-1", "1e400", "abc", "[]"])
def test_citation_refuses_times_that_are_not_times(client, custodian, interview_id, t):
    client.login_as(custodian)
    response = client.get(f"/api/v1/interviews/{interview_id}/citation?t={t}")
    assert response.status_code == 422
    assert "t must be a time in seconds" in response.json["error"]


def test_citation_at_a_real_moment_still_works(client, custodian, interview_id):
    client.login_as(custodian)
    response = client.get(f"/api/v1/interviews/{interview_id}/citation?t=0")
    assert response.status_code == 200
    assert response.json["url"].endswith("?t=0")


@pytest.mark.parametrize(
    "query",
    ["endpoint=x", "_external=1", "_anchor=evil", "_scheme=javascript", "_method=POST", "page=x"],
)
def test_audit_page_takes_no_url_for_keywords_from_the_query(client, custodian, query):
    client.login_as(custodian)
    response = client.get(f"/audit/?{query}&action=sign_in")
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "http://localhost" not in body and "#evil" not in body and "javascript" not in body


@pytest.mark.parametrize(
    "query", ["_external=1", "_anchor=evil", "endpoint=x", "year=99999", "year=-5", "page=-3"]
)
def test_catalogue_takes_no_url_for_keywords_from_the_query(client, custodian, query):
    for number in range(30):  # enough for a second page, so the page links are drawn
        interviews.create_interview(custodian, {"title": f"Interview {number}"})
        unit_of_work.commit()
    client.login_as(custodian)  # sees them all, sealed as they are
    response = client.get(f"/interviews/?{query}")
    assert response.status_code in (200, 404)
    body = response.get_data(as_text=True)
    assert "http://localhost" not in body and "#evil" not in body


def test_huge_ids_are_404_not_a_crash(client, custodian):
    client.login_as(custodian)
    for path in ("/interviews/99999999999999999999999", "/api/v1/interviews/9223372036854775808"):
        assert client.get(path).status_code == 404
