"""The home page: each person's work for the day, and nothing they may not see.

Titles are typed with a narrator's protected name in them: everyone who may not
see it must read the pseudonym, on the home page as on the pages it links to.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from itertools import count

import pytest
from babel.dates import format_date
from sqlalchemy import event, select

from archive import consent, home, interviews, unit_of_work
from archive.extensions import db
from archive.models import AccessRequest, Collection, Grant, Recording

NAME = "Gulnara Bekova"
PSEUDONYM = "Svetlana"
_keys = count(1)


def _interview(actor, title, *, real_name=NAME, pseudonym=PSEUDONYM, **fields):
    data = {
        "title": title,
        "speakers": [{"pseudonym": pseudonym, "role": "narrator", "real_name": real_name}],
        **fields,
    }
    interview = interviews.create_interview(actor, data)
    unit_of_work.commit()
    return interview


def _recording(interview, status: str) -> Recording:
    number = next(_keys)
    recording = Recording(
        interview_id=interview.id,
        position=number,
        master_key=f"test/{number}.wav",
        sha256="0" * 64,
        size_bytes=1,
        status=status,
        duration=1.0,
    )
    db.session.add(recording)
    db.session.commit()
    return recording


def _ask(researcher, interview, purpose="A study of the January events.") -> AccessRequest:
    result = consent.request_access(
        researcher, {"interview_id": interview.id, "purpose": purpose, "accept_terms": 1}
    )
    unit_of_work.commit()
    return result


def _page(client, user=None, path="/") -> str:
    if user is not None:
        client.login_as(user)
    response = client.get(path)
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def _links(page: str) -> list[str]:
    return [href.replace("&amp;", "&") for href in re.findall(r'href="([^"]+)"', page)]


def _count_link(page: str, label: str) -> tuple[int, str]:
    """The number shown before ``label`` on the home page, and where it links."""
    match = re.search(
        r'<a class="count" href="([^"]+)"><strong>(\d+)</strong> ' + re.escape(label), page
    )
    assert match, f"no count for {label!r}"
    return int(match.group(2)), match.group(1).replace("&amp;", "&")


def test_interviewer_sees_own_interviews_with_status_and_what_is_missing(client, people, make_user):
    me = people["interviewer"]
    signed = _interview(me, f"Testimony of {NAME}")
    consent.record_agreement(people["custodian"], signed, {"access_level": "catalogue"})
    unit_of_work.commit()
    _recording(signed, "done")
    unsigned = _interview(me, "The square at night", pseudonym="")
    _recording(unsigned, "failed")
    other = _interview(make_user("interviewer"), "Somebody else's sealed interview")

    page = _page(client, me)
    assert "Your interviews" in page
    assert f"Testimony of {PSEUDONYM}" in page and NAME not in page and "Bekova" not in page
    assert "The square at night" in page
    assert "transcription failed" in page and "transcribed" in page
    assert "no agreement yet" in page
    assert "1 speaker without a pseudonym" in page
    assert "Somebody else" not in page and f"/interviews/{other.id}" not in _links(page)

    assert _count_link(page, "interviews")[0] == 2
    number, href = _count_link(page, "without an agreement")
    assert number == 1
    listed = _page(client, path=href)
    assert "The square at night" in listed and "Testimony of" not in listed
    assert "Showing: your interviews, without an agreement" in listed
    number, href = _count_link(page, "with a failed transcription")
    assert number == 1 and "The square at night" in _page(client, path=href)
    number, href = _count_link(page, "with a speaker to name")
    listed = _page(client, path=href)
    assert number == 1 and "The square at night" in listed and "Testimony of" not in listed


def test_archivist_sees_the_review_queue_oldest_first_with_doubted_counts(client, people):
    waiting = _interview(people["interviewer"], f"Interview with {NAME}")
    waiting.workflow_status = "machine_transcript"
    reviewing = _interview(people["interviewer"], "Second witness", real_name="Aigerim Sultan")
    reviewing.workflow_status = "in_review"
    done = _interview(people["interviewer"], "Approved long ago", real_name="Dana Karim")
    done.workflow_status = "approved"
    db.session.commit()

    page = _page(client, people["archivist"])
    assert "Review queue" in page
    assert f"Interview with {PSEUDONYM}" in page and NAME not in page
    assert page.index(f"Interview with {PSEUDONYM}") < page.index("Second witness")
    assert "Approved long ago" not in page
    assert f"/interviews/{waiting.id}/edit" in page
    number, href = _count_link(page, "awaiting review")
    assert number == 2
    listed = _page(client, path=href)
    assert "Second witness" in listed and "Approved long ago" not in listed
    # No custody, research or admin sections for an archivist.
    assert "Custody" not in page and "Your research" not in page and "Health" not in page


def test_custodian_sees_requests_grants_ending_embargoes_lifting_and_unsigned(client, people):
    custodian, researcher = people["custodian"], people["researcher"]
    asked = _interview(people["interviewer"], f"Memories of {NAME}")
    consent.record_agreement(custodian, asked, {"access_level": "on_request"})
    unit_of_work.commit()
    request = _ask(researcher, asked)
    granted = _interview(people["interviewer"], "Granted one", real_name="Dana Karim")
    consent.record_agreement(custodian, granted, {"access_level": "on_request"})
    unit_of_work.commit()
    second = _ask(researcher, granted)
    consent.decide(custodian, second, True, (date.today() + timedelta(days=10)).isoformat())
    unit_of_work.commit()
    lifting = _interview(people["interviewer"], "Sealed a while", real_name="Aigerim Sultan")
    soon = date.today() + timedelta(days=12)
    consent.record_agreement(
        custodian, lifting, {"access_level": "open", "embargo_until": soon.isoformat()}
    )
    unit_of_work.commit()
    _interview(people["interviewer"], "Nobody signed yet", real_name="Marat Ospan")

    page = _page(client, custodian)
    assert "Custody" in page
    assert _count_link(page, "access request waiting")[0] == 1
    assert f"/interviews/{request.interview_id}" in _links(page)
    number, href = _count_link(page, "grant ending in the next 30 days")
    assert number == 1 and "Granted one" in page
    listed = _page(client, path=href)
    assert "the grants that end in the next 30 days" in listed
    number, href = _count_link(page, "embargo lifting in the next 30 days")
    assert number == 1 and format_date(soon, "medium", locale="en") in page  # the reader's format
    listed = _page(client, path=href)
    assert "Sealed a while" in listed and "Granted one" not in listed
    number, href = _count_link(page, "interview without an agreement")
    listed = _page(client, path=href)
    assert number == 1 and "Nobody signed yet" in listed and "Granted one" not in listed
    assert researcher.name in page  # the researcher's account, who asked


def test_researcher_sees_requests_grants_and_recent_reading_not_others(client, people, make_user):
    custodian, researcher = people["custodian"], people["researcher"]
    granted = _interview(people["interviewer"], f"Words of {NAME}")
    consent.record_agreement(custodian, granted, {"access_level": "on_request"})
    unit_of_work.commit()
    asked = _ask(researcher, granted)
    consent.decide(custodian, asked, True, (date.today() + timedelta(days=20)).isoformat())
    unit_of_work.commit()
    waiting = _interview(people["interviewer"], "Still waiting", real_name="Dana Karim")
    consent.record_agreement(custodian, waiting, {"access_level": "on_request"})
    unit_of_work.commit()
    _ask(researcher, waiting)
    sealed = _interview(people["interviewer"], "Sealed secret", real_name="Aigerim Sultan")
    other = make_user("researcher")
    consent.request_access(
        other,
        {"interview_id": granted.id, "purpose": "Somebody else's own purpose.", "accept_terms": 1},
    )
    unit_of_work.commit()

    page = _page(client, researcher)
    assert "Your research" in page
    assert _count_link(page, "request waiting for a decision")[0] == 1
    assert _count_link(page, "grant in force")[0] == 1
    assert "ends soon" in page
    assert f"Words of {PSEUDONYM}" in page and NAME not in page
    assert "Still waiting" in page and "waiting" in page
    assert "Sealed secret" not in page and f"/interviews/{sealed.id}" not in _links(page)
    assert "The interviews you read under a grant will be listed here." in page

    _page(client, path=f"/interviews/{granted.id}")  # reading it is audited
    page = _page(client)
    reading = page[page.index("Recent reading") :]
    assert f"Words of {PSEUDONYM}" in reading
    # Once the grant ends, the reading list no longer offers the interview.
    consent.revoke_grant(custodian, _grant_of(asked))
    unit_of_work.commit()
    page = _page(client)
    assert f"Words of {PSEUDONYM}" not in page[page.index("Recent reading") :]


def _grant_of(request: AccessRequest) -> Grant:
    return db.session.scalar(select(Grant).where(Grant.request_id == request.id))


def test_admin_sees_accounts_and_health(client, people):
    interview = _interview(people["interviewer"], "A failed job")
    _recording(interview, "failed")
    page = _page(client, people["admin"])
    assert "Accounts and health" in page
    number, href = _count_link(page, "active accounts")
    assert number == 5
    number, href = _count_link(page, "failed transcription")
    assert number == 1 and "A failed job" in _page(client, path=href)
    assert "database</strong>: working" in page and "disk</strong>:" in page
    listed = _page(client, path="/admin/users?role=researcher")
    assert people["researcher"].email in listed and people["custodian"].email not in listed


def test_visitor_sees_search_collections_and_recently_opened_and_nothing_restricted(client, people):
    custodian = people["custodian"]
    collection = Collection(title=f"Papers of {NAME}")
    db.session.add(collection)
    db.session.commit()
    opened = _interview(people["interviewer"], f"Open words of {NAME}", collection=collection.id)
    consent.record_agreement(custodian, opened, {"access_level": "open"})
    unit_of_work.commit()
    later = _interview(people["interviewer"], "Opened later", real_name="Dana Karim")
    consent.record_agreement(custodian, later, {"access_level": "open"})
    unit_of_work.commit()
    catalogue = _interview(people["interviewer"], "Listed only", real_name="Aigerim Sultan")
    consent.record_agreement(custodian, catalogue, {"access_level": "catalogue"})
    unit_of_work.commit()
    embargoed = _interview(people["interviewer"], "Embargoed one", real_name="Marat Ospan")
    consent.record_agreement(
        custodian, embargoed, {"access_level": "open", "embargo_until": "2051-01-01"}
    )
    unit_of_work.commit()
    sealed = _interview(people["interviewer"], "Sealed one", real_name="Asel Nur")

    page = _page(client)
    assert 'role="search"' in page and 'action="/search"' in page
    opened_part = page[page.index("Opened most recently") : page.index("Collections")]
    assert f"Open words of {PSEUDONYM}" in opened_part
    assert opened_part.index("Opened later") < opened_part.index("Open words")
    for hidden in ("Listed only", "Embargoed one", "Sealed one"):
        assert hidden not in page, hidden
    for interview in (catalogue, embargoed, sealed):
        assert f"/interviews/{interview.id}" not in _links(page)
    assert NAME not in page and "Bekova" not in page and "Gulnara" not in page
    assert f"/interviews?collection={collection.id}" in _links(page) or (
        f"/interviews/?collection={collection.id}" in _links(page)
    )
    assert "1 interview" in page
    # The work filters are for those who make interviews: a visitor's list is unfiltered
    # by them and learns nothing from them.
    assert _page(client, path="/interviews/?missing=agreement") == _page(
        client, path="/interviews/"
    )


def test_empty_archive_says_what_to_do(client, people):
    assert "Load a sample interview" in _page(client, people["admin"])
    assert "You have no interviews yet." in _page(client, people["interviewer"])
    assert "Nothing is waiting for review." in _page(client, people["archivist"])
    page = _page(client, people["custodian"])
    assert "No request is waiting for a decision." in page
    assert "No embargo ends in the next 30 days." in page
    assert "You have not asked for access yet." in _page(client, people["researcher"])
    client.post("/logout")
    visitor = client.application.test_client()
    page = _page(visitor)
    assert "No interview is open to everyone yet." in page
    assert "No collection is listed yet." in page


def _statements(client, user, path="/") -> int:
    counted = []

    def count_it(*_args):
        counted.append(1)

    event.listen(db.engine, "before_cursor_execute", count_it)
    try:
        _page(client, user, path)
    finally:
        event.remove(db.engine, "before_cursor_execute", count_it)
    return len(counted)


@pytest.mark.parametrize("role", ["interviewer", "custodian", "archivist", "researcher", "admin"])
def test_home_page_queries_do_not_grow_with_the_archive(client, people, role):
    """Counts in SQL and short lists: the number of statements is the same for a
    full list as for an archive twice as big (names are hidden row by row, as on the
    catalogue page, so a list costs at most ``LIST_SIZE`` such lookups)."""

    def add(number: int) -> None:
        for n in range(number):
            interview = _interview(
                people["interviewer"], f"Interview {n}", real_name="", pseudonym=f"P{n}"
            )
            interview.workflow_status = "machine_transcript"
            db.session.commit()
            _recording(interview, "done")

    add(home.LIST_SIZE + 2)
    few = _statements(client, people[role])
    add(home.LIST_SIZE + 5)
    many = _statements(client, people[role])
    assert many == few, (few, many)
