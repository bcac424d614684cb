"""The sample interview a newcomer loads into an empty archive (home page and
``flask --app wsgi demo``), transcribed by a real worker."""

from __future__ import annotations

from sqlalchemy import func, select

from archive.extensions import db
from archive.models import Interview, Recording, Speaker
from tests.helpers import wait_for

BUTTON = "Load a sample interview"


def _interview_count() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(Interview))


def test_admin_of_an_empty_archive_is_offered_the_sample(client, admin):
    page = client.login_as(admin).get("/").get_data(as_text=True)
    assert BUTTON in page
    assert "The archive is empty" in page


def test_nobody_else_is_offered_the_sample(client, make_user):
    assert BUTTON not in client.get("/").get_data(as_text=True)
    for role in ("custodian", "archivist", "interviewer", "researcher"):
        page = client.login_as(make_user(role)).get("/").get_data(as_text=True)
        assert BUTTON not in page, role


def test_loading_the_sample_makes_a_pseudonymised_open_interview_and_queues_it(client, admin):
    response = client.login_as(admin).post_form("/sample-interview", {}, token_from="/")
    assert response.status_code == 302
    interview = db.session.scalars(select(Interview)).one()
    assert response.headers["Location"].endswith(f"/interviews/{interview.id}")
    assert interview.access_level == "open"
    assert interview.audio_permission == "redacted"
    speaker = db.session.scalars(select(Speaker).where(Speaker.interview_id == interview.id)).one()
    assert speaker.pseudonym == "Narrator J"
    recording = db.session.scalars(select(Recording)).one()
    assert recording.status == "queued"
    assert recording.duration > 10
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "The sample interview is loaded" in page
    assert BUTTON not in client.get("/").get_data(as_text=True)


def test_the_sample_is_refused_once_the_archive_has_an_interview(client, admin):
    client.login_as(admin).post_form("/sample-interview", {}, token_from="/")
    again = client.post_form("/sample-interview", {}, token_from="/interviews/new")
    assert again.status_code == 302
    assert "only loaded into an empty archive" in client.get("/").get_data(as_text=True)
    assert _interview_count() == 1


def test_only_an_admin_may_load_the_sample(client, make_user):
    for role in ("custodian", "archivist", "interviewer"):
        client.login_as(make_user(role))
        response = client.post_form("/sample-interview", {}, token_from="/")
        assert response.status_code == 404, role
    assert _interview_count() == 0


def test_demo_command_loads_the_sample_once(runner, admin):
    first = runner.invoke(args=["demo"])
    assert first.exit_code == 0, first.output
    assert "Sample interview 1 loaded" in first.output
    second = runner.invoke(args=["demo"])
    assert second.exit_code == 1
    assert "only loaded into an empty archive" in second.output
    assert _interview_count() == 1


def test_demo_command_needs_an_admin(runner, app):
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 1
    assert "ensure-admin" in result.output
    assert _interview_count() == 0


def test_sample_is_transcribed_by_the_worker_and_visitors_read_it_under_the_pseudonym(
    client, runner, admin, worker
):
    assert runner.invoke(args=["demo"]).exit_code == 0
    recording = db.session.scalars(select(Recording)).one()
    worker.start()
    wait_for(recording.id, {"done", "failed"}, timeout=120, worker=worker)
    assert recording.status == "done", recording.error
    transcript = client.get(f"/api/v1/interviews/{recording.interview_id}/transcript").get_json()
    text = " ".join(segment["text"] for segment in transcript["segments"]).lower()
    assert "ask not what your country can do for you" in text
    assert {segment["speaker"]["name"] for segment in transcript["segments"]} == {"Narrator J"}
    page = client.get(f"/interviews/{recording.interview_id}").get_data(as_text=True)
    assert "Kennedy" not in page and "Kennedy" not in str(transcript)
