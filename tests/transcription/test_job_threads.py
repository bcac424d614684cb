"""A worker given N threads (``flask worker --threads N``) uses N for the whole job:
the model's decoding and the voice encoder's matrix products alike. Without the
limit numpy's BLAS takes every core, so two one-thread workers on a 2-core machine
fight over both while separating voices (2-4x slower, voice_encoder's docstring).

One real tiny.en job on ``two_synthetic_voices.flac``; the speaker separation is
watched (not replaced) to read the BLAS threads while it runs.
"""

from __future__ import annotations

import io

import pytest
from threadpoolctl import threadpool_info

from archive.extensions import db
from archive.models import Recording
from archive.transcription import diarization, pipeline
from tests.fixtures import FIXTURES
from tests.helpers import bearer

pytestmark = pytest.mark.slow


@pytest.fixture
def app_config(app_config):
    app_config.update(WORKER_THREADS=1)
    return app_config


def _blas_threads() -> set[int]:
    return {pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"}


def test_a_one_thread_worker_separates_voices_on_one_thread(app, client, make_user, monkeypatch):
    seen: list[set[int]] = []
    separate = diarization.diarize

    def watched(*args, **kwargs):
        seen.append(_blas_threads())
        return separate(*args, **kwargs)

    monkeypatch.setattr(diarization, "diarize", watched)
    before = _blas_threads()
    headers = bearer(make_user("interviewer"))
    created = client.post(
        "/api/v1/interviews",
        json={"title": "Two voices", "expected_speakers": 2, "language": "en"},
        headers=headers,
    )
    fixture = "two_synthetic_voices.flac"
    upload = client.post(
        f"/api/v1/interviews/{created.json['id']}/recordings",
        data={"file": (io.BytesIO((FIXTURES / fixture).read_bytes()), fixture)},
        content_type="multipart/form-data",
        headers=headers,
    )
    pipeline.run(upload.json["id"], "test:1")

    db.session.expire_all()
    recording = db.session.get(Recording, upload.json["id"])
    assert recording.status == "done", recording.error
    assert recording.voices_heard == 2
    assert seen == [{1}]
    # The limit is the job's: the process's own setting is back afterwards.
    assert _blas_threads() == before
