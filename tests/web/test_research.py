"""The research portal: catalogue filters and status, citations, hits at their moment,
and audio served with HTTP Range requests."""

from __future__ import annotations

from datetime import date

from archive import interviews, unit_of_work
from archive.extensions import db
from archive.models import Recording, Segment
from archive.search import indexing
from tests.helpers import bearer


def test_catalogue_shows_access_status_and_filters(client, people, make_user):
    older = interviews.create_interview(
        people["interviewer"], {"title": "Older", "language": "ru", "recorded_on": "1998-05-01"}
    )
    newer = interviews.create_interview(
        people["interviewer"], {"title": "Newer", "language": "kk", "recorded_on": "2022-01-06"}
    )
    unit_of_work.commit()
    older.access_level, newer.access_level = "open", "open"
    newer.embargo_until = date(2051, 1, 1)
    db.session.commit()
    listed = client.get("/api/v1/interviews").json["interviews"]
    assert {i["title"]: i["access"] for i in listed} == {
        "Older": "open",
        "Newer": "sealed until 2051",
    }
    only_1998 = client.get("/api/v1/interviews?year=1998").json["interviews"]
    assert [i["title"] for i in only_1998] == ["Older"]
    kazakh = client.get("/api/v1/interviews?language=kk").json["interviews"]
    assert [i["title"] for i in kazakh] == ["Newer"]
    page = client.get("/interviews/?language=ru").get_data(as_text=True)
    assert "Older" in page and "Newer" not in page


def test_citation_for_an_interview_and_a_moment(client, people, interview):
    interview.access_level = "open"
    interview.speakers  # noqa: B018
    interviews.add_speaker(interview, pseudonym="Svetlana", role="narrator")
    db.session.commit()
    cited = client.get(f"/api/v1/interviews/{interview.id}/citation?t=725").json
    assert cited["citation"].startswith("Svetlana (narrator), oral history interview.")
    assert "at 0:12:05" in cited["citation"]
    assert cited["url"].endswith(f"/interviews/{interview.id}?t=725")


def test_search_hit_links_to_its_moment(client, people, interview):
    interview.access_level, interview.language = "open", "kk"
    segment = db.session.query(Segment).one()
    segment.start, segment.end = 42.5, 44.0
    db.session.commit()
    indexing.reindex(db.session, interview)
    db.session.commit()
    found = client.get("/api/v1/search?q=square").json
    hits = found["hits"]
    assert [(h["interview_id"], h["start"]) for h in hits] == [(interview.id, 42.5)]
    # Numbers on every database (PostgreSQL's sum() is a Decimal, which JSON writes as text).
    assert found["total"] == 1
    assert found["facets"]["language"] == {"kk": 1}
    assert type(found["facets"]["language"]["kk"]) is int
    page = client.get("/search?q=square").get_data(as_text=True)
    assert f"/interviews/{interview.id}?t=42" in page
    assert "<mark>square</mark>" in page


def test_audio_honours_range_requests(client, people, interview):
    interview.access_level = "open"
    db.session.commit()
    url = f"/api/v1/interviews/{interview.id}/audio"
    whole = client.get(url)
    assert whole.status_code == 200
    assert whole.headers["Accept-Ranges"] == "bytes"
    part = client.get(url, headers={"Range": "bytes=100-199"})
    assert part.status_code == 206
    assert part.data == whole.data[100:200]
    assert part.headers["Content-Range"] == f"bytes 100-199/{len(whole.data)}"
    recording = db.session.query(Recording).one()
    assert recording.redaction_version == recording.access_copy_version


def test_index_points_form_the_contents_and_hide_names(client, people, interview):
    from archive import interviews as interview_service

    interview.access_level = "open"
    speaker = interview_service.add_speaker(interview, pseudonym="Svetlana", role="narrator")
    speaker.real_name = "Gulnara Bekova"
    db.session.commit()
    archivist = bearer(people["archivist"])
    bad = client.post(
        f"/api/v1/interviews/{interview.id}/index-points", json={"time": 0.5}, headers=archivist
    )
    assert bad.status_code == 422
    assert "title" in bad.json["error"]
    added = client.post(
        f"/api/v1/interviews/{interview.id}/index-points",
        json={
            "time": 0.5,
            "title": "Gulnara Bekova on the square",
            "keywords": "square, January",
            "synopsis": "Bekova describes the crowd.",
        },
        headers=archivist,
    )
    assert added.status_code == 201
    points = client.get(f"/api/v1/interviews/{interview.id}/index-points").json["index_points"]
    assert points[0]["title"] == "Svetlana on the square"
    assert points[0]["synopsis"] == "Svetlana describes the crowd."
    ohms = client.get(f"/api/v1/interviews/{interview.id}/transcript.ohms.xml").get_data(
        as_text=True
    )
    assert "Svetlana on the square" in ohms and "Bekova" not in ohms
    page = client.get(f"/interviews/{interview.id}").get_data(as_text=True)
    assert "Svetlana on the square" in page and "Gulnara" not in page
    researcher = bearer(people["researcher"])
    refused = client.post(
        f"/api/v1/interviews/{interview.id}/index-points",
        json={"time": 0.5, "title": "x"},
        headers=researcher,
    )
    assert refused.status_code == 404
