"""The sweep: a protected name typed into every field, said in the audio and put in
a file name, then every GET route of the app, for every role that may not see it.

Routes come from ``app.url_map``, so a route added later is swept without anyone
remembering to add it here; a route whose URL needs an id this module does not know
fails the sweep until it is taught.
"""

from __future__ import annotations

import io
import zipfile
from itertools import product

import pytest
from sqlalchemy import select

from archive import accounts, consent, unit_of_work
from archive.exports import FORMATS
from archive.extensions import db
from archive.models import Collection, IndexPoint, Interview, Segment
from tests.helpers import bearer
from tests.narrated import forms_in

# Each test starts from a copy of the narrated archive (tests/narrated.py).
pytestmark = pytest.mark.narrated

NAME = "Gulnara Bekova"
PASSWORD = "long enough password"


def _fill_every_field(client, narrated, people) -> dict:
    """As people would: the name typed everywhere a person can type it."""
    interview = narrated["interview"]
    custodian = bearer(people["custodian"])
    collection = Collection(title=f"Papers of {NAME}", description=f"Letters {NAME} kept.")
    db.session.add(collection)
    db.session.flush()
    interview.title = f"Testimony of {NAME}"
    interview.summary = f"{NAME} (Gulya to her family) tells of the list."
    interview.place = "Bekova family flat"
    interview.vocabulary = f"{NAME}, Gulya, Almaty"
    interview.collection_id = collection.id
    db.session.commit()
    point = client.post(
        f"/api/v1/interviews/{interview.id}/index-points",
        json={
            "time": 1,
            "title": f"{NAME} gives her name",
            "keywords": "Bekova; list",
            "synopsis": "Gulya remembers.",
            "subjects": [NAME],
            "gps": "43.25, 76.95",
            "gps_text": f"Where {NAME} lived",
            "hyperlinks": [
                {"url": "https://example.org/letter", "text": f"A letter of {NAME}"},
                {"url": "https://example.org/gulnara-bekova", "text": "Her page"},
            ],
        },
        headers=bearer(people["archivist"]),
    )
    assert point.status_code == 201, point.json
    agreement = client.post(
        f"/api/v1/interviews/{interview.id}/agreements",
        json={
            "access_level": "on_request",
            "audio": "redacted",
            "identity": "pseudonym",
            "notes": f"Signed by {NAME} herself.",
        },
        headers=custodian,
    )
    assert agreement.status_code == 201, agreement.json
    revealed = client.post(
        f"/api/v1/interviews/{interview.id}/speakers/{narrated['speaker_id']}/reveal",
        json={"reason": f"{NAME}'s daughter asked for the file"},
        headers=custodian,
    )
    assert revealed.status_code == 200
    others = {
        "other interviewer": accounts.create_user(
            None, "other.interviewer@example.org", "interviewer", PASSWORD
        ),
        "researcher without grant": accounts.create_user(
            None, "other.researcher@example.org", "researcher", PASSWORD
        ),
    }
    unit_of_work.commit()
    for who, approve in (("researcher", True), ("researcher without grant", False)):
        user = people.get(who) or others[who]
        asked = client.post(
            "/api/v1/access-requests",
            json={
                "interview_id": interview.id,
                "accept_terms": True,
                "purpose": "A study of wartime lists in oral testimony.",
            },
            headers=bearer(user),
        )
        assert asked.status_code == 201, asked.json
        decided = client.post(
            f"/api/v1/access-requests/{asked.json['id']}/decision",
            json={"approve": approve, "message": f"Mind the privacy of {NAME}."},
            headers=custodian,
        )
        assert decided.status_code == 200, decided.json
    # Another interview that mentions her: there she is "[name withheld]".
    second = client.post(
        "/api/v1/interviews",
        json={
            "title": f"The neighbour of {NAME}",
            "summary": "Gulya lived upstairs.",
            "place": "Almaty",
        },
        headers=bearer(others["other interviewer"]),
    )
    assert second.status_code == 201
    other = db.session.get(Interview, second.json["id"])
    consent.record_agreement(people["custodian"], other, {"access_level": "open"})
    unit_of_work.commit()
    return {"second": other.id, "others": others}


def _ids(narrated, second: int) -> dict[str, list]:
    interview = narrated["interview"]
    return {
        "interview_id": [interview.id, second],
        "recording_id": [narrated["recording_id"]],
        "segment_id": list(db.session.scalars(select(Segment.id))),
        "speaker_id": [narrated["speaker_id"]],
        "point_id": list(db.session.scalars(select(IndexPoint.id))),
        "version": [1, 2],
        "fmt": list(FORMATS),
        "user_id": [1, 2, 3, 4],
    }


SKIPPED = {"static", "auth.logout"}
QUERY = "?q=Svetlana&t=1&interview={interview}"


def _urls(app, ids: dict, interview_id: int) -> list[str]:
    urls = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint in SKIPPED:
            continue
        names = sorted(rule.arguments)
        unknown = [n for n in names if n not in ids]
        assert not unknown, f"the sweep needs ids for {unknown} of {rule.rule}"
        for values in product(*(ids[n] for n in names)):
            with app.test_request_context():
                from flask import url_for

                path = url_for(rule.endpoint, **dict(zip(names, values, strict=True)))
            urls += [path, path + QUERY.format(interview=interview_id)]
    return urls


def _texts(body: bytes, name: str) -> list[tuple[str, str]]:
    """Everything readable in a response: zips (bags, DOCX) opened, entry by entry."""
    if body[:2] == b"PK":
        out = []
        with zipfile.ZipFile(io.BytesIO(body)) as bundle:
            for entry in bundle.namelist():
                if not entry.endswith(".mp3"):
                    out += _texts(bundle.read(entry), f"{name}!{entry}")
        return out
    if body[:3] == b"ID3" or body[:2] in (b"\xff\xfb", b"\xff\xf3"):
        return []  # audio: toned out, checked by the audio tests
    return [(name, body.decode("utf-8", "replace"))]


READERS = [
    "visitor",
    "researcher",
    "researcher without grant",
    "other interviewer",
    "archivist",
    "interviewer",
    "admin",
]


def test_no_route_shows_any_form_of_the_name_to_anyone_who_may_not_see_it(
    app, client, narrated, people, run_tasks
):
    filled = _fill_every_field(client, narrated, people)
    ids = _ids(narrated, filled["second"])
    urls = _urls(app, ids, narrated["interview"].id)
    assert len(urls) > 60
    leaks, answered = [], 0
    for who in READERS:
        reader = app.test_client()
        user = None if who == "visitor" else (people.get(who) or filled["others"][who])
        if user is not None:
            reader.login_as(user)
        for url in urls:
            response = reader.get(url)
            assert response.status_code < 500, (who, url, response.status_code)
            if response.status_code == 202:  # a bag, built by the worker: then read
                run_tasks("build_bag")
                response = reader.get(url)
                assert response.status_code == 200, (who, url)
            answered += response.status_code == 200
            for where, text in _texts(response.data, url):
                if forms_in(text):
                    leaks.append((who, where, forms_in(text)))
    assert leaks == []
    assert answered > 100
    # The sweep saw the places the name was typed, as the reader may see them.
    researcher = app.test_client().login_as(people["researcher"])
    detail = researcher.get(f"/api/v1/interviews/{narrated['interview'].id}").json
    assert detail["title"] == "Testimony of Svetlana"
    assert detail["place"] == "Svetlana family flat"
    second = researcher.get(f"/api/v1/interviews/{filled['second']}").json
    assert second["title"] == "The neighbour of [name withheld]"
    assert "Svetlana" not in str(second)


def test_the_custodian_reads_what_was_typed(client, narrated, people):
    _fill_every_field(client, narrated, people)
    custodian = bearer(people["custodian"])
    detail = client.get(f"/api/v1/interviews/{narrated['interview'].id}", headers=custodian)
    assert detail.json["title"] == f"Testimony of {NAME}"


def test_a_form_says_a_typed_name_will_read_as_the_pseudonym(client, narrated, people):
    interview = narrated["interview"]
    interview.title = f"Testimony of {NAME}"
    db.session.commit()
    response = client.patch(
        f"/api/v1/interviews/{interview.id}/speakers/{narrated['speaker_id']}",
        json={"aliases": ["Гульнара", "Gulya"]},
        headers=bearer(people["interviewer"]),
    )
    assert response.json["names_hidden_in"] == ["title", "file name"]
    client.login_as(people["interviewer"])
    page = client.post_form(
        f"/interviews/{interview.id}/speakers/{narrated['speaker_id']}",
        {"pseudonym": "Svetlana", "role": "narrator"},
        token_from=f"/interviews/{interview.id}/speakers",
        follow_redirects=True,
    )
    assert "A protected name is typed in the title" in page.get_data(as_text=True)


def test_a_pseudonym_that_is_the_real_name_is_refused(client, narrated, people):
    url = f"/api/v1/interviews/{narrated['interview'].id}/speakers/{narrated['speaker_id']}"
    for pseudonym in ("Gulnara", "Galara Bicova", "gulya"):
        response = client.patch(
            url, json={"pseudonym": pseudonym}, headers=bearer(people["interviewer"])
        )
        assert response.status_code == 422, pseudonym
        assert "must not be the speaker's real name" in response.json["error"]
    db.session.expire_all()
    body = client.get(f"/api/v1/interviews/{narrated['interview'].id}/transcript").get_data(
        as_text=True
    )
    assert "Svetlana" in body and forms_in(body) == []


def test_nothing_at_rest_holds_the_name_in_plaintext(
    app, app_config, client, narrated, people, stored_bytes, fetch_bag
):
    """A dump of the database and every file the archive keeps (logs, temporary and
    export folders included), after the name was typed everywhere and every export
    was made."""
    _fill_every_field(client, narrated, people)
    interview_id = narrated["interview"].id
    for who in ("custodian", "researcher"):
        response = fetch_bag(interview_id, bearer(people[who]))  # kept, sealed, for a day
        assert response.status_code == 200
        response.close()
        for path in ("transcript.docx", "transcript.ohms.xml"):
            response = client.get(
                f"/api/v1/interviews/{interview_id}/{path}", headers=bearer(people[who])
            )
            assert response.status_code == 200
            response.close()
    files = b""
    for folder in ("INSTANCE_DIR", "RECORDINGS_DIR", "TRANSCRIPTS_DIR"):
        for path in sorted(app_config[folder].rglob("*")):
            if path.is_file():
                files += path.name.encode() + b"\n" + path.read_bytes()
    raw = stored_bytes() + files
    for form in ["Gulnara", "Bekova", "Galara", "Bicova", "Гульнара", "Gulya"]:
        assert form.encode() not in raw, form
        assert form.casefold().encode() not in raw.lower(), form


def _second_interview_saying(client, people, text: str) -> int:
    """Another interview, open, whose transcript mentions the narrator."""
    from archive.models import Recording
    from archive.search import indexing

    created = client.post(
        "/api/v1/interviews",
        json={"title": "The neighbour"},
        headers=bearer(people["interviewer"]),
    )
    other = db.session.get(Interview, created.json["id"])
    recording = Recording(
        interview_id=other.id,
        master_key=f"masters/{other.id}.flac",
        sha256="0" * 64,
        size_bytes=1,
        duration=5.0,
        status="done",
    )
    db.session.add(recording)
    db.session.flush()
    db.session.add(Segment(recording_id=recording.id, start=0.0, end=4.0, text=text))
    indexing.reindex(db.session, other)
    db.session.commit()
    consent.record_agreement(people["custodian"], other, {"access_level": "open"})
    unit_of_work.commit()
    return other.id


def test_a_narrators_name_said_in_another_interview_reads_as_withheld(client, narrated, people):
    other = _second_interview_saying(
        client, people, "I lived next to Gulnara Bekova; Gulya baked bread for us."
    )
    for headers in ({}, bearer(people["researcher"]), bearer(people["archivist"])):
        body = client.get(f"/api/v1/interviews/{other}/transcript", headers=headers).json
        text = body["segments"][0]["text"]
        assert text == "I lived next to [name withheld]; [name withheld] baked bread for us."
        assert "Svetlana" not in str(body)
        hits = client.get("/api/v1/search?q=bread", headers=headers).json["hits"]
        assert [h["text"] for h in hits if h["interview_id"] == other]
        assert forms_in(str(hits)) == [] and "Svetlana" not in str(hits)
    # A name given later is hidden in the interviews indexed before it.
    second = _second_interview_saying(client, people, "Everyone called her Breadmaker Aigul.")
    assert client.get("/api/v1/search?q=Aigul").json["hits"]
    later = client.patch(
        f"/api/v1/interviews/{narrated['interview'].id}/speakers/{narrated['speaker_id']}",
        json={"aliases": ["Гульнара", "Gulya", "Breadmaker Aigul"]},
        headers=bearer(people["custodian"]),
    )
    assert later.status_code == 200
    assert "Aigul" not in client.get(f"/api/v1/interviews/{second}/transcript").get_data(
        as_text=True
    )
    assert client.get("/api/v1/search?q=Aigul").json["hits"] == []


ARCHIVAL_READERS = ["visitor", "researcher", "researcher without grant", "archivist"]


def _oai_urls(interview_ids: list[int]) -> list[str]:
    urls = [
        "/oai?verb=Identify",
        "/oai?verb=ListSets",
        "/oai?verb=ListRecords&metadataPrefix=oai_dc",
        "/oai?verb=ListIdentifiers&metadataPrefix=oai_dc",
    ]
    urls += [
        f"/oai?verb=GetRecord&metadataPrefix=oai_dc&identifier=oai:localhost:interview/{i}"
        for i in interview_ids
    ]
    return urls


def test_manifests_oai_records_linked_data_and_citations_show_no_name(
    app, client, narrated, people
):
    """IIIF, OAI-PMH, JSON-LD and the citation styles, as visitor and researcher: the
    name typed everywhere reaches none of them; withdrawn, the interview is a 404 in
    IIIF and a deleted record in OAI-PMH."""
    filled = _fill_every_field(client, narrated, people)
    interview = narrated["interview"]
    ids = [interview.id, filled["second"]]
    urls = _oai_urls(ids)
    for i in ids:
        urls += [
            f"/iiif/interviews/{i}/manifest.json",
            f"/iiif/interviews/{i}/player",
            f"/interviews/{i}",
            f"/api/v1/interviews/{i}/citation?t=1",
            f"/api/v1/interviews/{i}/transcript.vtt?recording={narrated['recording_id']}",
        ]
    answered = {}
    for who in ARCHIVAL_READERS:
        reader = app.test_client()
        user = None if who == "visitor" else (people.get(who) or filled["others"][who])
        if user is not None:
            reader.login_as(user)
        for url in urls:
            response = reader.get(url)
            assert response.status_code < 500, (who, url)
            body = response.get_data(as_text=True)
            assert forms_in(body) == [], (who, url, forms_in(body))
            answered[(who, url)] = response.status_code
    # They answered: the researcher with a grant reads the manifest, a visitor harvests
    # the record of the interview on request (its catalogue entry) and of the open one.
    assert answered[("researcher", f"/iiif/interviews/{interview.id}/manifest.json")] == 200
    assert answered[("visitor", f"/iiif/interviews/{interview.id}/manifest.json")] == 404
    assert answered[("visitor", f"/iiif/interviews/{filled['second']}/manifest.json")] == 200
    records = client.get("/oai?verb=ListRecords&metadataPrefix=oai_dc").get_data(as_text=True)
    assert "<dc:title>Testimony of Svetlana</dc:title>" in records
    assert "<dc:title>The neighbour of [name withheld]</dc:title>" in records
    assert "Papers of [name withheld]" in client.get("/oai?verb=ListSets").get_data(as_text=True)

    consent.withdraw(people["custodian"], interview, "The narrator asked.")
    unit_of_work.commit()
    db.session.expire_all()
    for who in ARCHIVAL_READERS:
        reader = app.test_client()
        user = None if who == "visitor" else (people.get(who) or filled["others"][who])
        if user is not None:
            reader.login_as(user)
        for path in ("manifest.json", "player"):
            assert reader.get(f"/iiif/interviews/{interview.id}/{path}").status_code == 404
    record = client.get(_oai_urls([interview.id])[-1]).get_data(as_text=True)
    assert '<header status="deleted">' in record
    assert "<metadata>" not in record and "Svetlana" not in record
    listed = client.get("/oai?verb=ListIdentifiers&metadataPrefix=oai_dc").get_data(as_text=True)
    assert listed.count('status="deleted"') == 1
