"""The interview page in a real browser: upload with progress, then live transcription."""

from __future__ import annotations

from playwright.sync_api import expect

from archive import interviews, unit_of_work
from tests.fixtures import FIXTURES


def test_interviewer_uploads_two_parts_and_sees_them_in_order(
    app, page, live_server, sign_in, make_user
):
    user = make_user("interviewer")
    interview = interviews.create_interview(user, {"title": "Almaty witness"})
    unit_of_work.commit()
    sign_in(user)
    page.goto(f"{live_server}/interviews/{interview.id}")
    page.set_input_files(
        "#file", [str(FIXTURES / "jfk.flac"), str(FIXTURES / "stereo_diarization.wav")]
    )
    page.get_by_role("button", name="Upload").click()
    uploads = page.locator("#upload-list li")
    expect(uploads).to_have_count(2)
    expect(uploads.nth(1)).to_contain_text("queued for transcription", timeout=20_000)
    expect(uploads.nth(0).locator("progress")).to_have_attribute("value", "1")
    page.reload()
    rows = page.locator("#recordings tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("jfk.flac")
    expect(rows.nth(1)).to_contain_text("stereo_diarization.wav")
    expect(rows.nth(0).locator(".job-status")).to_have_text("waiting for a worker")


def test_bad_file_shows_the_reason_next_to_it(app, page, live_server, sign_in, make_user, tmp_path):
    user = make_user("interviewer")
    interview = interviews.create_interview(user, {"title": "Almaty witness"})
    unit_of_work.commit()
    notes = tmp_path / "notes.wav"
    notes.write_text("this is not a recording")
    sign_in(user)
    page.goto(f"{live_server}/interviews/{interview.id}")
    page.set_input_files("#file", str(notes))
    page.get_by_role("button", name="Upload").click()
    expect(page.locator("#upload-list li")).to_contain_text("not audio the archive can read")
    page.reload()
    expect(page.locator("#recordings")).to_contain_text("No recordings yet.")


def test_page_follows_transcription_progress_with_a_real_worker(
    app, page, live_server, sign_in, make_user, worker
):
    user = make_user("interviewer")
    interview = interviews.create_interview(user, {"title": "JFK"})
    unit_of_work.commit()
    sign_in(user)
    page.goto(f"{live_server}/interviews/{interview.id}")
    page.set_input_files("#file", str(FIXTURES / "jfk.flac"))
    page.get_by_role("button", name="Upload").click()
    expect(page.locator("#recordings tbody tr")).to_have_count(1, timeout=20_000)
    worker.start()
    expect(page.locator("#recordings .job-status")).to_have_text("done", timeout=120_000)
    expect(page.locator("#transcript")).to_contain_text("ask not what your country")
    expect(page.locator("#transcript .speaker").first).to_have_text("S1")
