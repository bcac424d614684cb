"""``flask backup`` and ``flask restore``: a whole archive out and back, names kept secret.

The archive is built as people would: a recording of a narrator saying her name,
transcribed by the real tiny.en model, the speaker named, a segment corrected to
spell the name, a signed agreement, listening copies. It is backed up and
restored into another, empty archive with the same identity key.
"""

from __future__ import annotations

import base64
import json
import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from archive import accounts, consent, interviews, recordings, search, unit_of_work
from archive.extensions import db
from archive.interviews import identity, speakers
from archive.models import Agreement, AuditEvent, Interview, Recording, Segment, Speaker, utcnow
from archive.recordings import listening_copies, storage
from archive.transcription import pipeline
from archive.transcripts import transcript_edits
from tests.fixtures import FIXTURES
from tests.helpers import archive_config

# The module's archive is made by a real tiny.en job.
pytestmark = pytest.mark.slow

REAL_NAME = "Gulnara Bekova"
# The name, an alias, and the forms tiny.en writes for it ("Galara Bicova").
NAME_FORMS = [b"gulnara", b"bekova", b"galara", b"bicova", "гульнара".encode(), b"gulya"]
OTHER_KEY = "7H0p6d8m1wq0nVq3B2kL2yK9Q9fI5mE3cX8Jr4TgU0s="


def _signed_agreement(folder: Path) -> Path:
    """A small PDF that, like a real consent form, carries the narrator's name."""
    path = folder / "agreement.pdf"
    path.write_bytes(
        b"%PDF-1.4\n% Consent form\n1 0 obj << /Title (Consent of Gulnara Bekova) >> endobj\n"
        b"trailer << /Root 1 0 R >>\n%%EOF\n"
    )
    return path


def _build(base: Path) -> dict:
    people = {
        role: accounts.create_user(None, f"{role}@example.org", role, "long enough password")
        for role in ("interviewer", "custodian", "archivist")
    }
    interview = interviews.create_interview(
        people["interviewer"], {"title": "Witness of January", "expected_speakers": 1}
    )
    unit_of_work.commit()
    with storage.copy_to_incoming(FIXTURES / "named_narrator.flac") as temp:
        recording = recordings.add_recording(
            people["interviewer"], interview, temp, "gulnara-bekova.flac"
        )
        unit_of_work.commit()
    pipeline.run(recording.id, "test:1")
    db.session.refresh(recording)
    assert recording.status == "done", recording.error

    speaker = interview.speakers[0]
    speakers.update_speaker(
        people["interviewer"],
        speaker,
        {"pseudonym": "Svetlana", "role": "narrator", "real_name": REAL_NAME},
    )
    unit_of_work.commit()
    speakers.update_speaker(people["custodian"], speaker, {"aliases": ["Гульнара", "Gulya"]})
    unit_of_work.commit()
    # The worker's part of the naming (``jobs.forget_deleted_entries``), run here: the
    # index text the naming removed is wiped from the files. What ran after the commit
    # (the listening copies' rebuild) read in a new transaction, which a request's end
    # would close; the test closes it, or PostgreSQL's VACUUM FULL waits for it.
    db.session.commit()
    assert search.backend_for(db.engine).forget_deleted(db.engine)
    first = db.session.scalars(
        select(Segment).where(Segment.recording_id == recording.id).order_by(Segment.start)
    ).first()
    transcript_edits.edit_segment(people["archivist"], first, {"text": f"My name is {REAL_NAME}."})
    unit_of_work.commit()
    with open(_signed_agreement(base), "rb") as document:
        consent.record_agreement(
            people["custodian"],
            interview,
            {"access_level": "on_request", "audio": "redacted", "identity": "pseudonym"},
            document=document,
            document_type="application/pdf",
        )
        unit_of_work.commit()
    assert listening_copies.build(recording.id)

    # A second recording a worker had just taken when the backup was made.
    with storage.copy_to_incoming(FIXTURES / "jfk.flac") as temp:
        waiting = recordings.add_recording(people["interviewer"], interview, temp, "part 2.flac")
        unit_of_work.commit()
    waiting.status, waiting.worker, waiting.heartbeat_at = "processing", "elsewhere:4242", utcnow()
    db.session.commit()
    return {"interview": interview.id, "recording": recording.id, "waiting": waiting.id}


@pytest.fixture(scope="module")
def built(tmp_path_factory, databases, template_db, model_cache):
    from archive import create_app

    base = tmp_path_factory.mktemp("original")
    database = databases.new(template_db, base)
    config = archive_config(base, database)
    config.update(WHISPER_MODEL="tiny.en", MODEL_CACHE_DIR=model_cache, WORKER_THREADS=2)
    app = create_app(config)
    with app.app_context():
        ids = _build(base)
        db.session.remove()
        db.engine.dispose()
    yield base, ids, database
    databases.drop(database)


@pytest.fixture
def source_database(built) -> str:
    """Each test starts from a copy of the archive built once for the module..."""
    return built[2]


@pytest.fixture
def app_config(app_config, built):
    """... and of its files."""
    base = built[0]
    for folder in ("recordings", "transcripts"):
        shutil.copytree(base / folder, app_config[f"{folder.upper()}_DIR"], dirs_exist_ok=True)
    return app_config


@pytest.fixture
def ids(built) -> dict:
    return built[1]


@pytest.fixture
def empty_archive(tmp_path, databases, template_db, model_cache):
    """Makes another archive, empty: migrated (``flask db upgrade``) or not even that."""
    from archive import create_app

    def make(migrated: bool = True, key: str | None = None):
        base = tmp_path / f"restored-{len(list(tmp_path.glob('restored-*')))}"
        base.mkdir()
        database = databases.new(template_db if migrated else None, base)
        config = archive_config(base, database)
        config.update(WHISPER_MODEL="tiny.en", MODEL_CACHE_DIR=model_cache, WORKER_THREADS=2)
        config["SECRET_KEY"] = "another secret key"
        if key:
            config["IDENTITY_KEY"] = key
        return create_app(config)

    return make


def _kind(app) -> str:
    return (
        "postgresql" if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql") else "sqlite"
    )


def _backup(runner, folder: Path):
    result = runner.invoke(args=["backup", str(folder)])
    assert result.exit_code == 0, result.output
    return result


def _cli(app, *args: str):
    """Run a command in ``app`` (the test's own app context would be used otherwise)."""
    with app.app_context():
        result = app.test_cli_runner().invoke(args=list(args))
        db.session.remove()
    return result


def _restore(app, folder: Path):
    return _cli(app, "restore", str(folder))


def _snapshot(interview_id: int) -> dict:
    """What must read the same after a restore: the transcript, names, agreements, files."""
    interview = db.session.get(Interview, interview_id)
    segments = db.session.scalars(
        select(Segment)
        .join(Recording)
        .where(Recording.interview_id == interview_id)
        .order_by(Recording.position, Segment.start)
    ).all()
    speaker_rows = db.session.scalars(
        select(Speaker).where(Speaker.interview_id == interview_id).order_by(Speaker.id)
    ).all()
    agreement = db.session.scalars(
        select(Agreement).where(Agreement.interview_id == interview_id)
    ).one()
    done = [r for r in interview.recordings if r.status == "done"]
    return {
        "segments": [(s.start, s.end, s.speaker_id, s.text, s.words) for s in segments],
        "identities": [
            (s.pseudonym, s.role, identity.real_name(s), identity.aliases(s)) for s in speaker_rows
        ],
        "file_names": [r.original_filename for r in interview.recordings],
        "machine": [pipeline.read_machine_transcript(r.id) for r in done],
        "agreement": storage.recordings_path(agreement.document_key).read_bytes(),
        "listening": [listening_copies.path_for(r, "redacted").read_bytes() for r in done],
        "access": (interview.access_level, interview.audio_permission, interview.identity),
    }


def test_backup_restored_into_an_empty_archive_reads_the_same(
    app, runner, ids, empty_archive, tmp_path
):
    before = _snapshot(ids["interview"])
    assert REAL_NAME in before["segments"][0][3]
    _backup(runner, tmp_path / "backup")
    # The backup is an audit event of the archive it was made from (after its snapshot).
    last = select(AuditEvent.action).order_by(AuditEvent.seq.desc()).limit(1)
    assert db.session.scalar(last) == "backup_made"

    restored = empty_archive()
    result = _restore(restored, tmp_path / "backup")
    assert result.exit_code == 0, result.output
    assert f"Restored {_kind(restored)} database" in result.output

    with restored.app_context():
        assert _snapshot(ids["interview"]) == before
        assert db.session.scalar(last) == "backup_restored"
        db.session.remove()
    fixity = _cli(restored, "fixity")
    assert fixity.exit_code == 0, fixity.output
    assert "All 2 master(s) match" in fixity.output
    chain = _cli(restored, "audit", "verify")
    assert chain.exit_code == 0, chain.output
    assert "chain verified" in chain.output


def test_restore_into_an_archive_never_migrated_brings_its_schema(
    app, runner, ids, empty_archive, tmp_path
):
    _backup(runner, tmp_path / "backup")
    restored = empty_archive(migrated=False)
    result = _restore(restored, tmp_path / "backup")
    assert result.exit_code == 0, result.output
    with restored.app_context():
        assert db.session.scalar(select(func.count()).select_from(Segment)) > 0
        db.session.remove()


def test_backup_holds_no_plaintext_name_and_no_key(app, runner, tmp_path):
    _backup(runner, tmp_path / "backup")
    key = app.config["IDENTITY_KEY"]
    secrets = [key.encode(), base64.urlsafe_b64decode(key), app.config["SECRET_KEY"].encode()]
    files = [path for path in (tmp_path / "backup").rglob("*") if path.is_file()]
    assert any(path.suffix == ".flac" for path in files)
    assert any(path.name.endswith(".pdf.enc") for path in files)
    for path in files:
        data = path.read_bytes()
        lowered = data.lower()
        found = [form for form in NAME_FORMS if form in lowered or form in data]
        assert not found, f"{path.relative_to(tmp_path)} holds {found}"
        assert not any(secret in data for secret in secrets), path
        assert path.name not in ("identity_key", "secret_key")
    notice = (tmp_path / "backup" / "README.txt").read_text()
    assert "THE IDENTITY KEY IS NOT IN THIS BACKUP" in notice


def test_backup_manifest_lists_every_file_with_its_sha256(app, runner, tmp_path):
    folder = tmp_path / "backup"
    _backup(runner, folder)
    manifest = dict(
        reversed(line.split("  ", 1))
        for line in (folder / "manifest-sha256.txt").read_text().splitlines()
    )
    files = {
        path.relative_to(folder).as_posix()
        for path in folder.rglob("*")
        if path.is_file() and path.name != "manifest-sha256.txt"
    }
    assert set(manifest) == files
    dump = "database/archive.pgdump" if _kind(app) == "postgresql" else "database/archive.sqlite3"
    assert dump in files
    for name, sha in manifest.items():
        assert storage.sha256_file(folder / name) == sha
    # The masters are copied byte for byte: their SHA-256 is the one the archive recorded.
    for recording in db.session.scalars(select(Recording)):
        assert manifest[f"recordings/{recording.master_key}"] == recording.sha256
    metadata = json.loads((folder / "backup.json").read_text())
    assert metadata["counts"]["jobs_waiting"] == 1
    assert metadata["database"] == _kind(app)


def test_job_in_progress_at_backup_time_is_taken_up_after_restore(
    app, runner, ids, empty_archive, tmp_path
):
    _backup(runner, tmp_path / "backup")
    restored = empty_archive()
    assert _restore(restored, tmp_path / "backup").exit_code == 0
    with restored.app_context():
        waiting = db.session.get(Recording, ids["waiting"])
        assert waiting.status == "processing"
        # Its lease lapses a minute after the backup; then the next worker requeues it.
        waiting.heartbeat_at = utcnow() - timedelta(minutes=5)
        db.session.commit()
        assert pipeline.recover_abandoned("here:1", at_start=True) == 1
        pipeline.run(ids["waiting"], "here:1")
        db.session.expire_all()
        waiting = db.session.get(Recording, ids["waiting"])
        assert waiting.status == "done", waiting.error
        assert "country" in " ".join(s.text for s in waiting.segments).lower()
        db.session.remove()


def test_listening_copy_replaced_during_the_backup_is_made_again_after_restore(
    app, runner, ids, empty_archive, tmp_path
):
    recording = db.session.get(Recording, ids["recording"])
    # As if a new copy replaced this one between the snapshot and the copying.
    storage.discard(recording.access_copy_key)
    _backup(runner, tmp_path / "backup")
    restored = empty_archive()
    result = _restore(restored, tmp_path / "backup")
    assert result.exit_code == 0, result.output
    assert "1 recording(s) lacked a listening copy" in result.output
    with restored.app_context():
        recording = db.session.get(Recording, ids["recording"])
        assert listening_copies.path_for(recording, "redacted") is None
        assert listening_copies.build(recording.id)
        assert listening_copies.path_for(recording, "redacted") is not None
        db.session.remove()


def test_restore_refuses_an_archive_that_is_not_empty(app, runner, tmp_path):
    _backup(runner, tmp_path / "backup")
    segments = db.session.scalar(select(func.count()).select_from(Segment))
    result = runner.invoke(args=["restore", str(tmp_path / "backup")])
    assert result.exit_code == 1
    assert "restored only into an empty archive" in result.output
    assert "Nothing was changed" in result.output
    assert db.session.scalar(select(func.count()).select_from(Segment)) == segments


def test_restore_refuses_a_backup_that_does_not_match_its_manifest(
    app, runner, ids, empty_archive, tmp_path
):
    folder = tmp_path / "backup"
    _backup(runner, folder)
    recording = db.session.get(Recording, ids["recording"])
    master = folder / "recordings" / recording.master_key
    data = bytearray(master.read_bytes())
    data[len(data) // 2] ^= 0x01
    master.write_bytes(bytes(data))

    restored = empty_archive()
    result = _restore(restored, folder)
    assert result.exit_code == 1
    assert "does not match its manifest" in result.output
    assert f"recordings/{recording.master_key}: checksum mismatch" in result.output
    assert not any(Path(restored.config["RECORDINGS_DIR"]).rglob("*.*"))
    with restored.app_context():
        assert db.session.scalar(select(func.count()).select_from(Segment)) == 0
        db.session.remove()


def test_restore_refuses_another_identity_key(app, runner, empty_archive, tmp_path):
    _backup(runner, tmp_path / "backup")
    restored = empty_archive(key=OTHER_KEY)
    result = _restore(restored, tmp_path / "backup")
    assert result.exit_code == 1
    assert "made under another identity key" in result.output
    assert not any(Path(restored.config["RECORDINGS_DIR"]).rglob("*.*"))


def test_backup_refuses_a_folder_that_is_not_empty(runner, tmp_path):
    folder = tmp_path / "backup"
    folder.mkdir()
    (folder / "something").write_text("kept")
    result = runner.invoke(args=["backup", str(folder)])
    assert result.exit_code == 1
    assert "not an empty folder" in result.output
    assert (folder / "something").read_text() == "kept"
