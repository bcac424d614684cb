"""OAI-PMH 2.0 at /oai: a real harvester (Sickle) against the archive served live,
and the protocol's errors, dates and deleted records through the test client."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta

import pytest
from lxml import etree
from sickle import Sickle
from sickle.oaiexceptions import IdDoesNotExist, NoRecordsMatch

from archive import consent, interviews, unit_of_work
from archive.extensions import db
from archive.models import Collection, Interview

NS = {
    "o": "http://www.openarchives.org/OAI/2.0/",
    "dc": "http://purl.org/dc/elements/1.1/",
    "oai_dc": "http://www.openarchives.org/OAI/2.0/oai_dc/",
}
SECRET = "Aigerim Nurlanova"


@pytest.fixture
def catalogue(app, make_user):
    """Eleven interviews: seven a visitor may find (open, on request, catalogue
    only, one embargoed), two sealed, one withdrawn after it was open, one sealed
    again after it was listed. The narrator's real name typed in titles and summaries."""
    custodian = make_user("custodian")
    interviewer = make_user("interviewer")
    collection = Collection(title=f"Letters of {SECRET}", description="")
    db.session.add(collection)
    db.session.commit()
    made = {}
    levels = [
        ("open", {}),
        ("open", {}),
        ("open", {}),
        ("on_request", {}),
        ("on_request", {}),
        ("catalogue", {}),
        ("catalogue", {"embargo_until": (date.today() + timedelta(days=400)).isoformat()}),
        ("sealed", {}),
        ("sealed", {}),
        ("withdrawn", {}),
        ("resealed", {}),
    ]
    for number, (level, more) in enumerate(levels, 1):
        interview = interviews.create_interview(
            interviewer,
            {
                "title": f"Testimony {number} of {SECRET}",
                "summary": f"{SECRET} remembers the winter.",
                "recorded_on": "1999-05-0" + str(number % 9 + 1),
                "language": "ru",
                "speakers": [
                    {"pseudonym": f"Narrator{number}", "role": "narrator"},
                    {"pseudonym": f"Asker{number}", "role": "interviewer"},
                ],
            },
        )
        unit_of_work.commit()
        narrator = interview.speakers[0]
        narrator.real_name = SECRET
        interview.collection_id = collection.id
        db.session.commit()
        first = "open" if level in ("withdrawn", "resealed") else level
        if first != "sealed":
            consent.record_agreement(
                custodian, interview, {"access_level": first, "audio": "redacted", **more}
            )
            unit_of_work.commit()
        if level == "withdrawn":
            consent.withdraw(custodian, interview, "The narrator asked.")
            unit_of_work.commit()
        if level == "resealed":
            consent.record_agreement(custodian, interview, {"access_level": "sealed"})
            unit_of_work.commit()
        made.setdefault(level, []).append(interview.id)
    return {"ids": made, "collection": collection.id, "custodian": custodian}


def _xml(client, query: str, **headers):
    response = client.get(f"/oai?{query}", headers=headers)
    assert response.status_code == 200
    assert response.mimetype == "text/xml"
    return etree.fromstring(response.data)


def _error(client, query: str) -> str:
    root = _xml(client, query)
    errors = root.findall("o:error", NS)
    assert len(errors) == 1, etree.tostring(root)
    return errors[0].get("code")


def test_a_harvester_pages_through_the_visitors_catalogue_and_learns_of_deletions(
    app, live_server, catalogue
):
    app.config["OAI_PAGE_SIZE"] = 3
    sickle = Sickle(f"{live_server}/oai", max_retries=0, timeout=30)
    identify = sickle.Identify()
    assert identify.deletedRecord == "persistent"
    assert identify.granularity == "YYYY-MM-DDThh:mm:ssZ"
    assert identify.protocolVersion == "2.0"

    records = list(sickle.ListRecords(metadataPrefix="oai_dc", ignore_deleted=False))
    ids = catalogue["ids"]
    listed = sorted(ids["open"] + ids["on_request"] + ids["catalogue"])
    gone = sorted(ids["withdrawn"] + ids["resealed"])
    by_id = {int(r.header.identifier.rsplit("/", 1)[1]): r for r in records}
    # More records than a page holds: the harvester followed the tokens to the end.
    assert len(records) == 9 > app.config["OAI_PAGE_SIZE"]
    assert sorted(by_id) == sorted(listed + gone)
    for interview_id in gone:
        record = by_id[interview_id]
        assert record.header.deleted
        # A header, its identifier and datestamp, and nothing else.
        children = [etree.QName(e).localname for e in record.xml.iter() if e is not record.xml]
        assert children == ["header", "identifier", "datestamp"]
    for interview_id in listed:
        metadata = by_id[interview_id].metadata
        assert metadata["title"][0].startswith("Testimony ")
        assert metadata["creator"] == [f"Narrator{metadata['title'][0].split()[1]}"]
        assert metadata["identifier"] == [f"{live_server}/interviews/{interview_id}"]
        assert metadata["type"] == ["Sound", "oral history interview"]
        assert by_id[interview_id].header.setSpecs == [f"collection:{catalogue['collection']}"]
    everything = b"".join(etree.tostring(r.xml) for r in records)
    for form in (b"Aigerim", b"Nurlanova"):
        assert form not in everything
    # What the catalogue shows a visitor: the narrator's pseudonym in the title too.
    assert b"Testimony 1 of Narrator1" in everything
    assert b"sealed" not in everything.lower()  # no record of the sealed ones

    identifiers = list(sickle.ListIdentifiers(metadataPrefix="oai_dc", ignore_deleted=True))
    assert len(identifiers) == 7
    sets = list(sickle.ListSets())
    assert [(s.setSpec, s.setName) for s in sets] == [
        (f"collection:{catalogue['collection']}", "Letters of [name withheld]")
    ]
    withdrawn = sickle.GetRecord(
        identifier=by_id[ids["withdrawn"][0]].header.identifier, metadataPrefix="oai_dc"
    )
    assert withdrawn.header.deleted
    with pytest.raises(IdDoesNotExist):
        sickle.GetRecord(
            identifier=by_id[listed[0]].header.identifier.replace(
                f"/{listed[0]}", f"/{ids['sealed'][0]}"
            ),
            metadataPrefix="oai_dc",
        )
    with pytest.raises(NoRecordsMatch):
        list(sickle.ListRecords(metadataPrefix="oai_dc", set="collection:999"))


def test_the_resumption_token_carries_cursor_and_size_and_cannot_be_forged(app, client, catalogue):
    app.config["OAI_PAGE_SIZE"] = 4
    first = _xml(client, "verb=ListIdentifiers&metadataPrefix=oai_dc")
    token = first.find("o:ListIdentifiers/o:resumptionToken", NS)
    assert (token.get("cursor"), token.get("completeListSize")) == ("0", "9")
    assert len(first.findall("o:ListIdentifiers/o:header", NS)) == 4
    second = _xml(client, f"verb=ListIdentifiers&resumptionToken={token.text}")
    token = second.find("o:ListIdentifiers/o:resumptionToken", NS)
    assert token.get("cursor") == "4"
    last = _xml(client, f"verb=ListIdentifiers&resumptionToken={token.text}")
    token = last.find("o:ListIdentifiers/o:resumptionToken", NS)
    assert (token.text, token.get("cursor")) == (None, "8")
    assert len(last.findall("o:ListIdentifiers/o:header", NS)) == 1
    # A token is bound to its verb and signed: changed by a byte, it is refused.
    good = first.find("o:ListIdentifiers/o:resumptionToken", NS).text
    assert _error(client, f"verb=ListRecords&resumptionToken={good}") == "badResumptionToken"
    forged = good[:-2] + ("AA" if not good.endswith("AA") else "BB")
    assert _error(client, f"verb=ListIdentifiers&resumptionToken={forged}") == (
        "badResumptionToken"
    )
    assert _error(client, f"verb=ListIdentifiers&resumptionToken={good}&set=x") == "badArgument"


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("", "badVerb"),
        ("verb=Harvest", "badVerb"),
        ("verb=Identify&verb=Identify", "badVerb"),
        ("verb=Identify&extra=1", "badArgument"),
        ("verb=ListRecords", "badArgument"),
        ("verb=ListRecords&metadataPrefix=oai_dc&metadataPrefix=oai_dc", "badArgument"),
        ("verb=ListRecords&metadataPrefix=marc21", "cannotDisseminateFormat"),
        ("verb=GetRecord&identifier=oai:x:interview/1", "badArgument"),
        ("verb=GetRecord&identifier=oai:x:interview/1&metadataPrefix=oai_dc", "idDoesNotExist"),
        ("verb=ListMetadataFormats&identifier=nonsense", "idDoesNotExist"),
        ("verb=ListRecords&metadataPrefix=oai_dc&from=2020-01-01T00:00:00", "badArgument"),
        ("verb=ListRecords&metadataPrefix=oai_dc&from=2020-13-01", "badArgument"),
        (
            "verb=ListRecords&metadataPrefix=oai_dc&from=2020-01-01&until=2020-01-01T00:00:00Z",
            "badArgument",
        ),
        ("verb=ListRecords&metadataPrefix=oai_dc&from=2021-01-01&until=2020-01-01", "badArgument"),
        ("verb=ListRecords&metadataPrefix=oai_dc&until=1990-01-01", "noRecordsMatch"),
        ("verb=ListIdentifiers&resumptionToken=junk", "badResumptionToken"),
        ("verb=ListSets", "noSetHierarchy"),
    ],
)
def test_errors_carry_the_codes_of_the_protocol(client, query, code):
    assert _error(client, query) == code


def test_errors_echo_no_arguments_and_a_post_is_answered_like_a_get(client, catalogue):
    root = _xml(client, "verb=Harvest&metadataPrefix=x")
    assert root.find("o:request", NS).attrib == {}
    posted = client.post("/oai", data={"verb": "ListIdentifiers", "metadataPrefix": "oai_dc"})
    root = etree.fromstring(posted.data)
    assert len(root.findall("o:ListIdentifiers/o:header", NS)) == 9


def test_from_and_until_select_by_the_time_of_the_last_change(app, client, catalogue):
    changed = db.session.get(Interview, catalogue["ids"]["open"][0])
    others = [i.updated_at for i in db.session.query(Interview) if i.id != changed.id]
    boundary = max(others).replace(microsecond=0) + timedelta(seconds=1)
    while datetime.now(UTC).replace(tzinfo=None) < boundary:
        time.sleep(0.1)
    changed.summary = "Changed after the harvest."
    db.session.commit()
    stamp = boundary.strftime("%Y-%m-%dT%H:%M:%SZ")
    root = _xml(client, f"verb=ListIdentifiers&metadataPrefix=oai_dc&from={stamp}")
    headers = root.findall("o:ListIdentifiers/o:header", NS)
    assert [h.findtext("o:identifier", namespaces=NS).rsplit("/", 1)[1] for h in headers] == [
        str(changed.id)
    ]
    datestamp = headers[0].findtext("o:datestamp", namespaces=NS)
    assert datestamp >= stamp and datestamp.endswith("Z")
    before = (boundary - timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    root = _xml(client, f"verb=ListIdentifiers&metadataPrefix=oai_dc&until={before}")
    assert len(root.findall("o:ListIdentifiers/o:header", NS)) == 8
    today = date.today().isoformat()
    root = _xml(client, f"verb=ListIdentifiers&metadataPrefix=oai_dc&from={today}&until={today}")
    assert len(root.findall("o:ListIdentifiers/o:header", NS)) == 9


def test_a_signed_in_custodian_harvests_what_a_visitor_sees(client, catalogue):
    client.login_as(catalogue["custodian"])
    root = _xml(client, "verb=ListRecords&metadataPrefix=oai_dc")
    body = etree.tostring(root)
    assert len(root.findall("o:ListRecords/o:record", NS)) == 9
    assert b"Nurlanova" not in body
    assert root.find("o:ListRecords/o:resumptionToken", NS) is None


def test_a_new_pseudonym_is_a_change_of_the_record(client, catalogue):
    interview = db.session.get(Interview, catalogue["ids"]["open"][0])
    before = interview.updated_at
    time.sleep(0.01)
    interview.speakers[0].pseudonym = "Renamed"
    db.session.commit()
    assert interview.updated_at > before
    root = _xml(
        client,
        f"verb=GetRecord&metadataPrefix=oai_dc&identifier=oai:localhost:interview/{interview.id}",
    )
    assert root.findtext("o:GetRecord/o:record/o:metadata//dc:creator", namespaces=NS) == (
        "Renamed"
    )


HOSTILE = ["inf", "-1", "99999999999999999999", "../../etc/passwd", "\u202eü𝄞", "'; DROP", "%00"]


@pytest.mark.parametrize(
    "verb", ["ListRecords", "ListIdentifiers", "GetRecord", "ListMetadataFormats", "ListSets"]
)
def test_hostile_values_in_every_argument_are_protocol_errors(client, catalogue, verb):
    for value in HOSTILE:
        for argument in ("metadataPrefix", "identifier", "from", "until", "set", "resumptionToken"):
            query = {"verb": verb, "metadataPrefix": "oai_dc", argument: value}
            if verb == "GetRecord":
                query.setdefault("identifier", "oai:localhost:interview/1")
            response = client.get("/oai", query_string=query)
            assert response.status_code == 200
            root = etree.fromstring(response.data)
            # Every such request is wrong somewhere: answered with its error code.
            assert root.findall("o:error", NS), (verb, argument, value)
            assert b"Nurlanova" not in response.data
