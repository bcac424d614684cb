"""The translation track made by a real worker process: a Russian recording
uploaded to an interview in Russian is transcribed, then translated, with no other
step (the transcription's end queues the translation, the worker runs it)."""

from __future__ import annotations

import io
import time

import pytest
from sqlalchemy import func, select

from archive import accounts, unit_of_work
from archive.accounts import tokens
from archive.extensions import db
from archive.models import Recording, Segment, SegmentTranslation
from tests.fixtures import FIXTURES
from tests.helpers import wait_for


def test_a_worker_translates_after_transcribing(client, worker):
    user = accounts.create_user(None, "interviewer@example.org", "interviewer", "long enough pw")
    _row, secret = tokens.issue_token(user, user)
    unit_of_work.commit()
    headers = {"Authorization": f"Bearer {secret}"}
    interview_id = client.post(
        "/api/v1/interviews", json={"title": "Witness", "language": "ru"}, headers=headers
    ).json["id"]
    data = (FIXTURES / "russian_translation.flac").read_bytes()
    recording_id = client.post(
        f"/api/v1/interviews/{interview_id}/recordings",
        data={"file": (io.BytesIO(data), "part.flac")},
        content_type="multipart/form-data",
        headers=headers,
    ).json["id"]
    worker.env["ARCHIVE_WHISPER_MODEL"] = "base"
    worker.start()
    wait_for(recording_id, {"done", "failed"}, 600, worker)
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        db.session.expire_all()
        recording = db.session.get(Recording, recording_id)
        if recording.translation_status in ("done", "failed"):
            break
        time.sleep(0.5)
    else:
        pytest.fail(f"translation stayed {recording.translation_status}\n{worker.logs()[-4000:]}")
    assert recording.translation_status == "done", recording.translation_error
    segments = db.session.scalar(
        select(func.count(Segment.id)).where(Segment.recording_id == recording_id)
    )
    assert segments and db.session.scalar(select(func.count(SegmentTranslation.id))) == segments
    transcript = client.get(f"/api/v1/interviews/{interview_id}/transcript", headers=headers).json
    assert transcript["translation"]["status"] == "done"
    assert any(s.get("translation") for s in transcript["segments"])
