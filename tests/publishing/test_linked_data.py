"""Linked metadata in interview pages (schema.org JSON-LD, Dublin Core meta tags) and
the citation styles: what the reader may see, names as pseudonyms, safely embedded."""

from __future__ import annotations

import json
from datetime import date

import lxml.html
import pytest

from archive import consent, unit_of_work
from archive.extensions import db
from archive.models import Speaker
from tests.helpers import bearer
from tests.narrated import forms_in

# Each test starts from a copy of the narrated archive (tests/narrated.py).
pytestmark = pytest.mark.narrated

HOSTILE_TITLE = 'Gulnara Bekova </script><script>alert("x")</script> & {list} 100%'


def _page(client, interview, **headers):
    response = client.get(f"/interviews/{interview.id}", headers=headers)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    tree = lxml.html.fromstring(html)
    scripts = tree.xpath('//script[@type="application/ld+json"]')
    assert len(scripts) == 1
    meta = [
        (m.get("name"), m.get("content")) for m in tree.xpath('//meta[starts-with(@name, "DC.")]')
    ]
    return html, json.loads(scripts[0].text), meta


def _name_the_interviewer(interview) -> None:
    db.session.add(
        Speaker(
            interview_id=interview.id, position=9, label="S9", role="interviewer", pseudonym="Asker"
        )
    )
    interview.recorded_on = date(1999, 5, 3)
    interview.place = "Bekova family flat"
    db.session.commit()


def test_a_visitor_reads_json_ld_and_dublin_core_of_what_the_page_shows(client, narrated):
    interview = narrated["interview"]
    interview.title = HOSTILE_TITLE
    _name_the_interviewer(interview)
    html, data, meta = _page(client, interview)
    assert forms_in(html) == []
    assert data["@context"] == "https://schema.org"
    assert data["@type"] == "CreativeWork"
    # The title as the page shows it, names hidden, and the markup inert: the script
    # element is not closed early, and the JSON reads back exactly.
    assert data["name"] == HOSTILE_TITLE.replace("Gulnara Bekova", "Svetlana")
    assert html.count("</script>") == html.count("<script")
    assert 'alert("x")</script>' not in html
    assert [(c["name"], c["roleName"]) for c in data["contributor"]] == [
        ("Svetlana", "narrator"),
        ("Asker", "interviewer"),
    ]
    assert data["contentLocation"] == {"@type": "Place", "name": "Svetlana family flat"}
    assert data["dateCreated"] == "1999-05-03"
    (part,) = data["audio"]
    assert part["@type"] == "AudioObject"
    assert part["contentUrl"].endswith(
        f"/api/v1/interviews/{interview.id}/audio?recording={narrated['recording_id']}"
    )
    assert "Svetlana" in data["creditText"]
    assert ("DC.creator", "Svetlana") in meta
    assert ("DC.contributor", "Asker") in meta
    assert ("DC.title", data["name"]) in meta
    assert ("DC.identifier", f"http://localhost/interviews/{interview.id}") in meta


def test_a_catalogue_entry_carries_no_audio_address_and_no_citation(client, narrated, people):
    interview = narrated["interview"]
    consent.record_agreement(
        people["custodian"], interview, {"access_level": "catalogue", "audio": "full"}
    )
    unit_of_work.commit()
    html, data, meta = _page(client, interview)
    assert "contentUrl" not in json.dumps(data)
    assert "creditText" not in data
    assert data["contributor"] == [{"@type": "Person", "name": "Svetlana", "roleName": "narrator"}]
    assert (
        "DC.rights",
        "Catalogue only: the transcript is kept closed by the narrator's agreement.",
    ) in meta
    assert forms_in(html) == []
    # An insider of the same interview reads its page with the audio's address.
    _html, data, _meta = _page(client, interview, **bearer(people["archivist"]))
    assert "contentUrl" in json.dumps(data)


def test_citations_in_four_styles_name_the_narrator_by_pseudonym(client, narrated, people):
    interview = narrated["interview"]
    interview.title = "Testimony of Gulnara Bekova & {the list}"
    _name_the_interviewer(interview)
    for headers in ({}, bearer(people["researcher"])):
        body = client.get(f"/api/v1/interviews/{interview.id}/citation?t=75", headers=headers).json
        styles = body["styles"]
        assert set(styles) == {"chicago", "apa", "bibtex", "csl-json"}
        assert forms_in(json.dumps(body)) == []
        url = f"http://localhost/interviews/{interview.id}?t=75"
        assert styles["chicago"] == (
            "Svetlana. “Testimony of Svetlana & {the list}.” Oral history interview by Asker, "
            f"Svetlana family flat, May 3, 1999. Testimony Archive, interview {interview.id}, "
            f"at 0:01:15. {url}."
        )
        assert styles["apa"] == (
            "Svetlana. (1999, May 3). Testimony of Svetlana & {the list} [Oral history "
            f"interview by Asker] (at 0:01:15). Testimony Archive. {url}"
        )
        assert "  author = {{Svetlana}}" in styles["bibtex"]
        # Double braces keep the capitals of a title as typed.
        assert r"  title = {{Testimony of Svetlana \& \{the list\}}}," in styles["bibtex"]
        assert styles["bibtex"].startswith(f"@misc{{testimony-archive-{interview.id},")
        assert "  month = may" in styles["bibtex"]
        (item,) = json.loads(styles["csl-json"])
        assert item == body["csl"]
        assert item["type"] == "interview"
        assert item["author"] == [{"literal": "Svetlana"}]
        assert item["interviewer"] == [{"literal": "Asker"}]
        assert item["issued"] == {"date-parts": [[1999, 5, 3]]}
        assert item["locator"] == "0:01:15"


def test_the_page_offers_the_styles_to_its_readers_only(client, narrated, people):
    interview = narrated["interview"]
    html, _data, _meta = _page(client, interview)
    assert 'data-style="bibtex"' in html and "@misc{testimony-archive-" in html
    consent.record_agreement(people["custodian"], interview, {"access_level": "catalogue"})
    unit_of_work.commit()
    html, _data, _meta = _page(client, interview)
    assert 'data-style="bibtex"' not in html
    assert "/iiif/interviews/" not in html
