"""Every route in the URL map, as every role, with hostile values in every place a
value goes: no answer is a 5xx, and nothing stored changes.

Path ids are replaced by 0, by ids beyond any column and by the world's own ids;
query strings carry inf, nan, negative and huge numbers, repeated keys, unicode,
path fragments and ``url_for``'s own keywords; JSON bodies of the API's changing
routes give every field a value of the wrong kind (a list, an object, NaN,
Infinity, a negative or a huge number, ``true``), which every service must refuse.
"""

from __future__ import annotations

import json
import re
import wave
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from archive import consent, interviews, recordings, unit_of_work
from archive.accounts import tokens
from archive.extensions import db
from archive.models import Base, Grant, Redaction, Segment
from archive.recordings import listening_copies, storage
from archive.transcripts import contents

ROLES = ("visitor", "researcher", "interviewer", "archivist", "custodian", "admin")
HOSTILE_QUERY = [
    "inf",
    "-inf",
    "nan",
    "-1",
    "99999999999999999999",
    "1e309",
    "../../../etc/passwd",
    "\u202eü𝄞\x00",
]
QUERY_NAMES = (
    "t page per_page q collection language role year status access interview recording "
    "action actor since until timestamps reason next v _external _anchor _scheme _method "
    "endpoint values verb metadataPrefix identifier from set resumptionToken"
).split()
HOSTILE_IDS = ("0", "2147483648", "99999999999999999999")
HOSTILE_JSON = ["[1, 2]", '{"a": 1}', "NaN", "Infinity", "-Infinity", "-1", "1" + "0" * 30, "true"]
FIELDS = (
    "text parts speaker_id start end version at into reason replacement rendered status "
    "title summary language languages recorded_on place collection expected_speakers vocabulary "
    "speakers pseudonym role real_name aliases access_level audio identity embargo_until "
    "notes purge_master confirm_title interview_id collection_id purpose accept_terms "
    "approve expires_on message email password name time keywords synopsis"
).split()
# Changing routes that read no body, or only an optional ``version``.
BODYLESS = {"api.merge_segment", "api.retry_recording"}
# Written as a side effect of reading: reads are audited, renderings cached, tokens
# and sessions touched. Everything else must be as it was.
VOLATILE_TABLES = {"audit_events", "audit_head", "user_sessions", "search_index"}
VOLATILE_COLUMNS = {"last_used_at", "last_login_at", "name_spans", "name_key", "updated_at"}


def _tone(path: Path) -> Path:
    rate = 16_000
    t = np.arange(int(3 * rate)) / rate
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes((0.2 * np.sin(2 * np.pi * 220 * t) * 32767).astype("<i2").tobytes())
    return path


@pytest.fixture
def world(app, make_user, tmp_path):
    people = {role: make_user(role) for role in ROLES if role != "visitor"}
    interview = interviews.create_interview(
        people["interviewer"],
        {"title": "Hostile world", "speakers": [{"pseudonym": "Svetlana", "role": "narrator"}]},
    )
    unit_of_work.commit()
    with storage.copy_to_incoming(_tone(tmp_path / "tone.wav")) as temp:
        recording = recordings.add_recording(None, interview, temp, "tone.wav")
        unit_of_work.commit()
    speaker = interview.speakers[0]
    first = Segment(
        recording_id=recording.id,
        speaker_id=speaker.id,
        start=0.1,
        end=1.0,
        text="The square was full.",
        version=1,
    )
    second = Segment(
        recording_id=recording.id,
        speaker_id=speaker.id,
        start=1.2,
        end=2.5,
        text="Everyone was there.",
        version=1,
    )
    db.session.add_all([first, second])
    recording.status = "done"
    db.session.commit()
    listening_copies.build(recording.id)
    consent.record_agreement(
        people["custodian"], interview, {"access_level": "on_request", "audio": "redacted"}
    )
    unit_of_work.commit()
    redaction = Redaction(
        segment_id=first.id,
        start_char=4,
        end_char=10,
        reason="a place",
        created_by_id=people["archivist"].id,
    )
    db.session.add(redaction)
    grant = Grant(
        researcher_id=people["researcher"].id,
        interview_id=interview.id,
        expires_on=date.today() + timedelta(days=30),
    )
    db.session.add(grant)
    db.session.commit()
    point = contents.add_index_point(people["archivist"], interview, {"time": 1, "title": "Start"})
    asked = consent.request_access(
        people["researcher"],
        {
            "interview_id": interview.id,
            "purpose": "A study of the January events, for a thesis.",
            "accept_terms": True,
        },
    )
    unit_of_work.commit()
    token, _plain = tokens.issue_token(people["admin"], people["admin"])
    unit_of_work.commit()
    ids = {
        "interview_id": interview.id,
        "recording_id": recording.id,
        "speaker_id": speaker.id,
        "segment_id": first.id,
        "redaction_id": redaction.id,
        "grant_id": grant.id,
        "point_id": point.id,
        "request_id": asked.id,
        "token_id": token.id,
        "user_id": people["researcher"].id,
        "version": 1,
        "fmt": "txt",
        "filename": "app.css",
    }
    return people, ids


def _snapshot() -> dict:
    db.session.expire_all()
    state = {}
    for table in Base.metadata.sorted_tables:
        if table.name in VOLATILE_TABLES:
            continue
        columns = [c for c in table.columns if c.name not in VOLATILE_COLUMNS]
        rows = db.session.execute(select(*columns).order_by(*table.primary_key.columns)).all()
        state[table.name] = [tuple(row) for row in rows]
    db.session.rollback()
    return state


def _paths(rule, ids: dict) -> list[str]:
    names = re.findall(r"<(?:[^:>]+:)?([^>]+)>", rule.rule)

    def fill(values: dict) -> str:
        return re.sub(r"<(?:[^:>]+:)?([^>]+)>", lambda m: str(values[m.group(1)]), rule.rule)

    paths = [fill(ids)]
    for name in names:
        hostile = (
            ("../../etc/passwd", "..%2F..%2Fapp.py", "%00")
            if name in ("fmt", "filename")
            else HOSTILE_IDS
        )
        paths += [fill({**ids, name: value}) for value in hostile]
    return paths


def _queries() -> list[str]:
    queries = ["&".join(f"{name}={value}" for name in QUERY_NAMES) for value in HOSTILE_QUERY[:6]]
    queries.append("&".join(f"{n}=1&{n}=2&{n}[]=x" for n in QUERY_NAMES))  # arrays
    queries.append("&".join(f"{n}=%E2%80%AE%F0%9D%84%9E%00/../x" for n in QUERY_NAMES))
    return queries


@pytest.mark.parametrize("role", ROLES)
def test_every_route_survives_hostile_values_and_changes_nothing(app, client, world, role):
    people, ids = world
    headers = {}
    if role != "visitor":
        headers = {"Authorization": f"Bearer {tokens.issue_token(people[role], people[role])[1]}"}
        unit_of_work.commit()
    before = _snapshot()
    failures = []
    requests = 0
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            for index, path in enumerate(_paths(rule, ids)):
                sends = []
                if method == "GET":
                    queries = _queries() if index == 0 else [""]
                    sends = [(f"{path}?{q}" if q else path, None) for q in queries]
                elif method == "DELETE" or rule.endpoint in BODYLESS:
                    # Nothing but the path to get wrong (a version at most): the
                    # world's own ids would do what they say, so only hostile ids
                    # and bodies whose every field is wrong.
                    if index == 0 and method == "DELETE":
                        continue
                    sends = [(path, None), (path, "[]")] + [
                        (path, "{" + ", ".join(f'"{f}": {v}' for f in FIELDS) + "}")
                        for v in HOSTILE_JSON
                    ]
                elif path.startswith("/api/"):
                    bodies = ["[]", "NaN", '"text"'] + [
                        "{" + ", ".join(f'"{f}": {v}' for f in FIELDS) + "}" for v in HOSTILE_JSON
                    ]
                    if index == 0 and role not in ("visitor", "researcher"):
                        bodies += [f'{{"{f}": {v}}}' for f in FIELDS for v in HOSTILE_JSON[:4]]
                    sends = [(path, body) for body in bodies]
                else:
                    sends = [(path, None)]  # a form without its CSRF token: refused
                for target, body in sends:
                    response = client.open(
                        target,
                        method=method,
                        headers={**headers, "Content-Type": "application/json"}
                        if body
                        else headers,
                        data=body,
                    )
                    requests += 1
                    if response.status_code >= 500:
                        failures.append((method, target[:120], body, response.status_code))
    print(f"{role}: {requests} hostile requests")  # the figure in README Reliability
    assert failures == [], failures[:20]
    after = _snapshot()
    changed = {t: (before[t], after[t]) for t in before if before[t] != after[t]}
    assert changed == {}, json.dumps({t: str(v)[:600] for t, v in changed.items()})
    assert requests > 1000


def _files(app) -> list[tuple[str, int]]:
    found = []
    for root in (app.config["RECORDINGS_DIR"], app.config["TRANSCRIPTS_DIR"]):
        for path in sorted(Path(root).rglob("*")):
            if path.is_file():
                found.append((str(path.relative_to(root)), path.stat().st_size))
    return found


def _audit() -> list[tuple]:
    from archive.models import AuditEvent

    db.session.expire_all()
    rows = db.session.execute(select(AuditEvent.seq, AuditEvent.action, AuditEvent.hash)).all()
    db.session.rollback()
    return [tuple(r) for r in rows]


def _refusals(role: str) -> list:
    """A refused request for every changing API route: a body of the wrong shape for
    those allowed, anything at all for those who are not."""
    if role in ("visitor", "researcher"):
        return ["{}", '{"text": "x", "reason": "the narrator asked", "title": "T"}']
    return ["[]", "NaN", "{" + ", ".join(f'"{f}": []' for f in FIELDS) + "}"]


@pytest.mark.parametrize("role", ("visitor", "researcher", "custodian", "archivist"))
def test_a_refused_change_leaves_rows_files_and_audit_as_they_were(app, client, world, role):
    people, ids = world
    headers = {}
    if role != "visitor":
        headers = {"Authorization": f"Bearer {tokens.issue_token(people[role], people[role])[1]}"}
        unit_of_work.commit()
    rows, files, events = _snapshot(), _files(app), _audit()
    refused = 0
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/"):
            continue
        for method in sorted(rule.methods & {"POST", "PATCH", "DELETE"}):
            path = _paths(rule, ids)[0]
            for body in _refusals(role):
                response = client.open(
                    path,
                    method=method,
                    headers={**headers, "Content-Type": "application/json"},
                    data=body,
                )
                if response.status_code < 400:
                    # A DELETE has no body to get wrong: it was allowed; start again from here.
                    assert method == "DELETE", (method, path, body, response.status_code)
                    rows, files, events = _snapshot(), _files(app), _audit()
                    continue
                refused += 1
                assert response.status_code < 500, (method, path, body, response.json)
                assert _snapshot() == rows, (method, path, body)
                assert _files(app) == files, (method, path, body)
                assert _audit() == events, (method, path, body)
    assert refused >= 20


FORM_FIELDS = (
    FIELDS
    + ("current confirm display_name label decision phrase active start_char end_char").split()
)


@pytest.mark.parametrize("role", ROLES)
def test_every_form_survives_hostile_values_with_its_csrf_token(app, client, world, role):
    """The HTML forms, sent as a browser would (with the CSRF token), every field a
    hostile string or a repeated key: never a 5xx. (Forms take text, so some of
    these are valid changes: only the absence of a crash is asserted here.)"""
    people, ids = world
    if role != "visitor":
        client.login_as(people[role])
    token = client.csrf_token("/login" if role == "visitor" else "/account/tokens")
    failures, statuses = [], {}
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/") or "POST" not in rule.methods:
            continue
        path = _paths(rule, ids)[0]
        if rule.endpoint in ("auth.logout", "consent.purge", "consent.withdraw"):
            continue  # would end the session or the world the other forms need
        for value in [*HOSTILE_QUERY, ""]:
            data = [("csrf_token", token)] + [(f, value) for f in FORM_FIELDS]
            data += [(f, "1") for f in FORM_FIELDS[:10]]  # the first ten keys twice
            target = f"{path}?csrf_token={token}"  # the upload forms take it here
            response = client.post(target, data=MultiDict(data))
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
            if response.status_code >= 500:
                failures.append((rule.endpoint, value, response.status_code))
    print(role, "form answers by status:", dict(sorted(statuses.items())))
    assert failures == [], failures[:20]
