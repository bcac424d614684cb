"""Twenty requests at once against a live server: nothing is lost or given twice.

Each test fires 20 requests from 20 threads at the app served by Werkzeug (a thread
per request), on SQLite or on PostgreSQL, and then reads what was stored.
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
import uuid

import pytest
from sqlalchemy import select

from archive import unit_of_work
from archive.extensions import db
from archive.models import Recording, Revision, Segment
from tests.fixtures import FIXTURES
from tests.helpers import bearer

JFK = FIXTURES / "jfk.flac"
CLIENTS = 20


def _send(url: str, method: str, headers: dict, body: bytes | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=body, method=method, headers=headers)  # noqa: S310 (our live server)
    try:
        with urllib.request.urlopen(request, timeout=120) as response:  # noqa: S310
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def _at_once(calls) -> list:
    """Run the calls in threads released together; their results in call order."""
    results: list = [None] * len(calls)
    gate = threading.Barrier(len(calls))

    def run(index, call):
        gate.wait()
        try:
            results[index] = call()
        except Exception as exc:
            results[index] = exc

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    return results


@pytest.fixture
def staff(make_user):
    return make_user("archivist")


@pytest.fixture
def interview_id(client, staff):
    response = client.post(
        "/api/v1/interviews", json={"title": "Concurrency"}, headers=bearer(staff)
    )
    assert response.status_code == 201
    return response.json["id"]


@pytest.fixture
def segment_id(client, staff, interview_id):
    """A recording with one machine segment (version 1, its first revision), as the
    pipeline leaves it."""
    response = client.post(
        f"/api/v1/interviews/{interview_id}/recordings",
        data={"file": (JFK.open("rb"), "jfk.flac")},
        content_type="multipart/form-data",
        headers=bearer(staff),
    )
    assert response.status_code == 202, response.json
    segment = Segment(
        recording_id=response.json["id"], start=0.0, end=3.0, text="ask not what", version=1
    )
    db.session.add(segment)
    db.session.flush()
    db.session.add(
        Revision(
            segment_id=segment.id, version=1, kind="machine", text=segment.text, start=0.0, end=3.0
        )
    )
    db.session.commit()
    return segment.id


def _revisions(segment_id: int) -> list[Revision]:
    db.session.expire_all()
    query = select(Revision).where(Revision.segment_id == segment_id).order_by(Revision.id)
    return list(db.session.scalars(query))


def _patch(live_server, headers, segment_id, body):
    url = f"{live_server}/api/v1/segments/{segment_id}"
    data = json.dumps(body).encode()
    hdrs = {**headers, "Content-Type": "application/json"}
    return lambda: _send(url, "PATCH", hdrs, data)


def test_twenty_edits_of_the_same_version_one_wins_the_rest_get_409(live_server, staff, segment_id):
    headers = bearer(staff)
    texts = [f"edit number {i} {uuid.uuid4().hex[:6]}" for i in range(CLIENTS)]
    results = _at_once(
        [_patch(live_server, headers, segment_id, {"text": t, "version": 1}) for t in texts]
    )
    statuses = sorted(r[0] for r in results)
    assert statuses == [200] + [409] * (CLIENTS - 1), results
    winner = texts[[r[0] for r in results].index(200)]
    revisions = _revisions(segment_id)
    assert [r.version for r in revisions] == [1, 2]
    assert revisions[1].text == winner
    assert db.session.get(Segment, segment_id).version == 2
    assert db.session.get(Segment, segment_id).text == winner


def test_twenty_edits_without_a_version_each_become_one_numbered_revision(
    live_server, staff, segment_id
):
    headers = bearer(staff)
    texts = [f"unversioned {i} {uuid.uuid4().hex[:6]}" for i in range(CLIENTS)]
    results = _at_once([_patch(live_server, headers, segment_id, {"text": t}) for t in texts])
    assert [r[0] for r in results] == [200] * CLIENTS, results
    revisions = _revisions(segment_id)
    versions = sorted(r.version for r in revisions)
    assert versions == list(range(1, CLIENTS + 2)), "no version given twice, none skipped"
    assert {r.text for r in revisions} >= set(texts), "every edit's text is kept"
    segment = db.session.get(Segment, segment_id)
    assert segment.version == CLIENTS + 1
    newest = max(revisions, key=lambda r: r.version)
    assert segment.text == newest.text


def test_twenty_uploads_at_once_get_distinct_positions_in_upload_order(
    live_server, staff, interview_id
):
    headers = bearer(staff)
    data = JFK.read_bytes()
    boundary = uuid.uuid4().hex
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="part.flac"\r\n'
            "Content-Type: audio/flac\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    url = f"{live_server}/api/v1/interviews/{interview_id}/recordings"
    hdrs = {**headers, "Content-Type": f"multipart/form-data; boundary={boundary}"}
    results = _at_once([lambda: _send(url, "POST", hdrs, body) for _ in range(CLIENTS)])
    assert [r[0] for r in results] == [202] * CLIENTS, results
    db.session.expire_all()
    rows = list(db.session.scalars(select(Recording).where(Recording.interview_id == interview_id)))
    positions = [r.position for r in sorted(rows, key=lambda r: r.id)]
    assert positions == list(range(1, CLIENTS + 1))


def test_twenty_speakers_added_at_once_get_distinct_labels(app, interview_id):
    """As two workers transcribing two parts of one interview add voices at once."""
    from archive import interviews
    from archive.models import Interview, Speaker

    def add():
        with app.app_context():
            interview = db.session.get(Interview, interview_id)
            speaker = interviews.add_speaker(interview)
            db.session.commit()
            label = speaker.label
            db.session.remove()
            return label

    labels = _at_once([add for _ in range(CLIENTS)])
    assert all(isinstance(label, str) for label in labels), labels
    db.session.expire_all()
    stored = db.session.scalars(
        select(Speaker.label).where(Speaker.interview_id == interview_id)
    ).all()
    assert sorted(stored, key=lambda s: int(s[1:])) == [f"S{n}" for n in range(1, CLIENTS + 1)]


def test_twenty_withdrawals_at_once_one_happens_the_rest_get_409(
    live_server, make_user, interview_id
):
    from archive.models import Agreement, AuditEvent

    custodian = make_user("custodian")
    headers = {**bearer(custodian), "Content-Type": "application/json"}
    url = f"{live_server}/api/v1/interviews/{interview_id}/withdraw"
    body = json.dumps({"reason": "the narrator asked"}).encode()
    results = _at_once([lambda: _send(url, "POST", headers, body) for _ in range(CLIENTS)])
    assert sorted(r[0] for r in results) == [200] + [409] * (CLIENTS - 1), results
    db.session.expire_all()
    withdrawals = db.session.scalars(select(Agreement).where(Agreement.withdrawn.is_(True))).all()
    assert len(withdrawals) == 1
    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "interview_withdrawn")
    ).all()
    assert len(events) == 1


def test_twenty_decisions_on_one_request_at_once_make_one_grant(
    live_server, make_user, interview_id
):
    from archive import consent
    from archive.models import Grant, Interview

    researcher, custodian = make_user("researcher"), make_user("custodian")
    interview = db.session.get(Interview, interview_id)
    consent.record_agreement(custodian, interview, {"access_level": "on_request"})
    unit_of_work.commit()
    asked = consent.request_access(
        researcher,
        {
            "interview_id": interview_id,
            "purpose": "A study of the January events, for a thesis.",
            "accept_terms": True,
        },
    )
    unit_of_work.commit()
    headers = {**bearer(custodian), "Content-Type": "application/json"}
    url = f"{live_server}/api/v1/access-requests/{asked.id}/decision"
    body = json.dumps({"approve": True}).encode()
    results = _at_once([lambda: _send(url, "POST", headers, body) for _ in range(CLIENTS)])
    assert sorted(r[0] for r in results) == [200] + [409] * (CLIENTS - 1), results
    db.session.expire_all()
    assert len(db.session.scalars(select(Grant)).all()) == 1


def test_redactions_and_edits_of_the_same_version_at_once_never_mark_other_words(
    live_server, make_user, segment_id
):
    """Positions of a redaction are in the text the editor showed: once an edit has
    changed the text, a redaction of the old version is a 409, not a span of other
    words (a custodian edits: custodians read the text as spoken)."""
    headers = bearer(make_user("custodian"))
    redact = f"{live_server}/api/v1/segments/{segment_id}/redactions"
    mark = json.dumps({"start": 0, "end": 3, "reason": "a name", "version": 1}).encode()
    hdrs = {**headers, "Content-Type": "application/json"}
    calls = []
    for index in range(CLIENTS):
        if index % 2:
            calls.append(lambda: _send(redact, "POST", hdrs, mark))
        else:
            calls.append(_patch(live_server, headers, segment_id, {"text": "xx", "version": 1}))
    results = _at_once(calls)
    edits = [r[0] for r in results[0::2]]
    marks = [r[0] for r in results[1::2]]
    assert edits.count(200) == 1 and set(edits) <= {200, 409}, results
    assert set(marks) <= {201, 409}, results
    from archive.models import Redaction

    db.session.expire_all()
    segment = db.session.get(Segment, segment_id)
    for redaction in db.session.scalars(select(Redaction)):
        # Every stored redaction was marked on the text it was made on, or moved with it.
        assert 0 <= redaction.start_char <= redaction.end_char <= len(segment.text)
