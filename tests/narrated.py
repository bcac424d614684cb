"""A narrated archive for the tests of names and of the editor, built once per run.

The recording says "My name is Gulnara Bekova ... Everyone knew Gulnara Bekova", and
tiny.en hears "Galara Bicova": the misspellings are real, not made up here. A
pytest plugin (``pytest_plugins`` in tests/conftest.py): a test module marked
``pytestmark = pytest.mark.narrated`` starts each test from a copy of it (database
and files, see ``source_database`` and ``app_config`` there) and imports the plain
helpers (``forms_in``, ``FIXTURE``) from here.
"""

from __future__ import annotations

import io
import logging
from pathlib import Path

import pytest

from archive import accounts, create_app, search, unit_of_work
from archive.extensions import db
from archive.models import Interview
from archive.recordings import listening_copies
from archive.transcription import pipeline
from tests.helpers import QUEUES, ArchiveClient, archive_config, bearer

FIXTURE = Path(__file__).parent / "fixtures" / "named_narrator.flac"
NAME_FORMS = ["gulnara", "bekova", "galara", "bicova", "гульнара", "gulya"]


def forms_in(text: str) -> list[str]:
    """The forms of the narrator's name found in ``text`` (none may reach a reader)."""
    lowered = text.casefold()
    return [form for form in NAME_FORMS if form in lowered]


ROLES = ("interviewer", "archivist", "custodian", "researcher")


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture(scope="session")
def narrated_state(tmp_path_factory, databases, template_db, model_cache):
    """Built once, as a person would: transcribed with the real model, then named
    (the names arrive after the words). Each test gets a copy, so one build serves
    every module (it was one per module: a real tiny.en job each time)."""
    base = tmp_path_factory.mktemp("narrated")
    database = databases.new(template_db, base)
    prefix = QUEUES.new() if QUEUES else None
    config = archive_config(base, database, prefix)
    config.update(WHISPER_MODEL="tiny.en", MODEL_CACHE_DIR=model_cache, WORKER_THREADS=2)
    app = create_app(config)
    app.test_client_class = ArchiveClient
    collect = _Collect()
    logging.getLogger().addHandler(collect)
    root_level = logging.getLogger().level
    logging.getLogger().setLevel(logging.DEBUG)
    try:
        with app.app_context():
            ids = _narrate(app.test_client())
            db.session.remove()
            db.engine.dispose()
    finally:
        logging.getLogger().removeHandler(collect)
        logging.getLogger().setLevel(root_level)
    yield base, database, ids, "\n".join(collect.lines)
    databases.drop(database)
    if QUEUES:
        QUEUES.flush(prefix)


def _narrate(client) -> dict:
    users = {
        role: accounts.create_user(None, f"{role}@example.org", role, "long enough password")
        for role in ROLES
    }
    unit_of_work.commit()
    interviewer = bearer(users["interviewer"])
    interview_id = client.post(
        "/api/v1/interviews",
        json={"title": "Witness", "expected_speakers": 1},
        headers=interviewer,
    ).json["id"]
    upload = client.post(
        f"/api/v1/interviews/{interview_id}/recordings",
        data={"file": (io.BytesIO(FIXTURE.read_bytes()), "gulnara-bekova.flac")},
        content_type="multipart/form-data",
        headers=interviewer,
    )
    recording_id = upload.json["id"]
    pipeline.run(recording_id, "test:1")
    interview = db.session.get(Interview, interview_id)
    speaker_id = interview.speakers[0].id
    # As between two requests: this session's transaction ends before the naming
    # (on PostgreSQL an open one would keep the unnamed rows of the index readable,
    # and the naming waits for it before it can wipe them from the files).
    db.session.rollback()
    response = client.patch(
        f"/api/v1/interviews/{interview_id}/speakers/{speaker_id}",
        json={
            "pseudonym": "Svetlana",
            "role": "narrator",
            "real_name": "Gulnara Bekova",
            "aliases": ["Гульнара", "Gulya"],
        },
        headers=interviewer,
    )
    assert response.status_code == 200, response.json
    assert response.json["name"] == "Svetlana"
    # The worker's part of the naming, run here like the pipeline above: the index
    # text the naming removed is wiped from the files (``tasks.forget_deleted_entries``).
    assert search.backend_for(db.engine).forget_deleted(db.engine)
    _open(interview)
    assert listening_copies.build(recording_id)
    return {"interview": interview_id, "recording": recording_id, "speaker": speaker_id}


@pytest.fixture
def narrated(app, narrated_state):
    ids = narrated_state[2]
    return {
        "interview": db.session.get(Interview, ids["interview"]),
        "recording_id": ids["recording"],
        "speaker_id": ids["speaker"],
    }


def _open(interview: Interview, identity: str = "pseudonym") -> None:
    interview.access_level, interview.audio_permission, interview.identity = (
        "open",
        "redacted",
        identity,
    )
    db.session.commit()
