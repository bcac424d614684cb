"""Uploading recordings: masters stored once with their checksum; bad files leave nothing."""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

import pytest
from sqlalchemy import select

from archive import unit_of_work
from archive.accounts import tokens
from archive.extensions import db
from archive.models import Recording
from tests.fixtures import FIXTURES

JFK = FIXTURES / "jfk.flac"


@pytest.fixture
def interviewer(make_user):
    return make_user("interviewer")


@pytest.fixture
def api(client, interviewer):
    _row, plaintext = tokens.issue_token(interviewer, interviewer)
    unit_of_work.commit()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {plaintext}"
    return client


@pytest.fixture
def interview_id(api):
    response = api.post("/api/v1/interviews", json={"title": "Almaty, January 2022"})
    assert response.status_code == 201
    return response.json["id"]


def _files_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and p.name != ".gitkeep")


def _upload(api, interview_id: int, data: bytes, name: str):
    return api.post(
        f"/api/v1/interviews/{interview_id}/recordings",
        data={"file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def test_upload_stores_the_master_with_its_checksum(app, api, interview_id):
    data = JFK.read_bytes()
    response = _upload(api, interview_id, data, "jfk speech.flac")
    assert response.status_code == 202
    assert response.json["status"] == "queued"
    recording = db.session.get(Recording, response.json["id"])
    assert recording.sha256 == hashlib.sha256(data).hexdigest()
    assert recording.size_bytes == len(data)
    assert recording.duration == pytest.approx(11.0, abs=0.1)
    assert (recording.channels, recording.sample_rate) == (2, 44100)
    assert recording.original_filename == "jfk speech.flac"
    master = Path(app.config["RECORDINGS_DIR"]) / recording.master_key
    assert master.read_bytes() == data
    assert master.suffix == ".flac"
    assert "jfk" not in master.name
    assert not os.access(master, os.W_OK) or os.geteuid() == 0
    assert master.stat().st_mode & 0o222 == 0


def test_recording_status_is_reported(api, interview_id):
    recording_id = _upload(api, interview_id, JFK.read_bytes(), "a.flac").json["id"]
    status = api.get(f"/api/v1/recordings/{recording_id}").json
    assert status["status"] == "queued"
    assert status["progress"] == 0
    assert status["duration"] == pytest.approx(11.0, abs=0.1)
    assert status["error"] is None


def test_parts_keep_the_order_they_were_uploaded_in(api, interview_id):
    first = _upload(api, interview_id, JFK.read_bytes(), "part1.flac").json["id"]
    second = _upload(
        api, interview_id, (FIXTURES / "stereo_diarization.wav").read_bytes(), "part2.wav"
    ).json["id"]
    detail = api.get(f"/api/v1/interviews/{interview_id}").json
    assert [(r["id"], r["position"]) for r in detail["recordings"]] == [(first, 1), (second, 2)]


BAD_FILES = {
    "empty": (b"", "empty.wav", "The file is empty."),
    "random bytes": (os.urandom(64_000), "noise.wav", "not audio the archive can read"),
    "text renamed .wav": (b"Svetlana said this was a recording\n" * 50, "notes.wav", "not audio"),
    "pdf": (
        b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n",
        "consent.pdf",
        "not audio",
    ),
    "truncated flac": (JFK.read_bytes()[:200_000], "cut.flac", "damaged or incomplete"),
    "truncated wav": (
        (FIXTURES / "stereo_diarization.wav").read_bytes()[:100_000],
        "cut.wav",
        "incomplete",
    ),
}


@pytest.mark.parametrize("kind", BAD_FILES)
def test_bad_file_gets_422_and_leaves_nothing_behind(app, api, interview_id, kind):
    data, name, message = BAD_FILES[kind]
    response = _upload(api, interview_id, data, name)
    assert response.status_code == 422
    assert message in response.json["error"]
    assert db.session.scalars(select(Recording)).all() == []
    assert _files_under(Path(app.config["RECORDINGS_DIR"])) == []


def test_file_with_no_audio_stream_is_refused(app, api, interview_id, tmp_path):
    import av

    path = tmp_path / "picture.mkv"
    with av.open(str(path), "w", format="matroska") as container:
        stream = container.add_stream("ffv1", rate=1)
        stream.width = stream.height = 16
        stream.pix_fmt = "yuv420p"
        frame = av.VideoFrame(16, 16, "yuv420p")
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    response = _upload(api, interview_id, path.read_bytes(), "video.mkv")
    assert response.status_code == 422
    assert response.json["error"] == "This file has no audio in it."
    assert _files_under(Path(app.config["RECORDINGS_DIR"])) == []


@pytest.mark.parametrize(
    "hostile", ["../../../etc/passwd.flac", "/tmp/evil.flac", "..\\..\\evil.flac", "a/../../b.flac"]
)
def test_hostile_file_name_cannot_place_a_file_outside_recordings(
    app, api, interview_id, hostile, tmp_path
):
    response = _upload(api, interview_id, JFK.read_bytes(), hostile)
    assert response.status_code == 202
    recording = db.session.get(Recording, response.json["id"])
    root = Path(app.config["RECORDINGS_DIR"]).resolve()
    master = (root / recording.master_key).resolve()
    assert master.is_relative_to(root / "masters")
    assert master.exists()
    assert not Path("/tmp/evil.flac").exists()
    assert not (tmp_path.parent / "b.flac").exists()


def test_upload_over_the_size_limit_is_refused(app, api, interview_id):
    app.config["MAX_CONTENT_LENGTH"] = 100_000
    response = _upload(api, interview_id, JFK.read_bytes(), "big.flac")
    assert response.status_code == 413
    assert "larger than" in response.json["error"]
    assert db.session.scalars(select(Recording)).all() == []


def test_upload_without_a_file_says_what_is_missing(api, interview_id):
    response = api.post(
        f"/api/v1/interviews/{interview_id}/recordings",
        data={},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert "multipart field 'file'" in response.json["error"]


def test_researcher_cannot_upload_and_gets_404(client, make_user, interview_id):
    researcher = make_user("researcher")
    _row, plaintext = tokens.issue_token(researcher, researcher)
    unit_of_work.commit()
    response = client.post(
        f"/api/v1/interviews/{interview_id}/recordings",
        data={"file": (io.BytesIO(JFK.read_bytes()), "x.flac")},
        content_type="multipart/form-data",
        headers={"Authorization": f"Bearer {plaintext}"},
    )
    assert response.status_code == 404
    assert db.session.scalars(select(Recording)).all() == []


def test_another_interviewer_cannot_upload_to_my_interview(client, make_user, interview_id):
    other = make_user("interviewer")
    _row, plaintext = tokens.issue_token(other, other)
    unit_of_work.commit()
    response = client.post(
        f"/api/v1/interviews/{interview_id}/recordings",
        data={"file": (io.BytesIO(JFK.read_bytes()), "x.flac")},
        content_type="multipart/form-data",
        headers={"Authorization": f"Bearer {plaintext}"},
    )
    assert response.status_code == 404


def test_fixity_reports_a_changed_and_a_missing_master(app, api, interview_id, runner):
    first = _upload(api, interview_id, JFK.read_bytes(), "a.flac").json["id"]
    second = _upload(api, interview_id, JFK.read_bytes(), "b.flac").json["id"]
    assert runner.invoke(args=["fixity"]).exit_code == 0
    root = Path(app.config["RECORDINGS_DIR"])
    changed = root / db.session.get(Recording, first).master_key
    changed.chmod(0o644)
    changed.write_bytes(changed.read_bytes()[:-1] + b"\x00")
    (root / db.session.get(Recording, second).master_key).unlink()
    result = runner.invoke(args=["fixity"])
    assert result.exit_code == 1
    assert f"recording {first}: checksum mismatch" in result.output
    assert f"recording {second}: missing" in result.output


def test_import_command_adds_recordings_in_order(app, runner, interview_id):
    result = runner.invoke(
        args=[
            "import",
            str(JFK),
            str(FIXTURES / "stereo_diarization.wav"),
            "--interview",
            str(interview_id),
        ]
    )
    assert result.exit_code == 0, result.output
    rows = db.session.scalars(select(Recording).order_by(Recording.position)).all()
    assert [r.original_filename for r in rows] == ["jfk.flac", "stereo_diarization.wav"]
    assert rows[0].sha256 == hashlib.sha256(JFK.read_bytes()).hexdigest()


def test_import_command_refuses_a_bad_file_and_stores_nothing(app, runner, interview_id, tmp_path):
    bad = tmp_path / "notes.wav"
    bad.write_text("not a recording")
    result = runner.invoke(args=["import", str(bad), "--interview", str(interview_id)])
    assert result.exit_code == 1
    assert "refused" in result.output
    assert db.session.scalars(select(Recording)).all() == []
    assert _files_under(Path(app.config["RECORDINGS_DIR"])) == []


def test_masters_are_readable_by_the_service_user_only(app, api, interview_id):
    import stat

    response = _upload(api, interview_id, JFK.read_bytes(), "jfk.flac")
    assert response.status_code == 202
    recording = db.session.get(Recording, response.json["id"])
    master = Path(app.config["RECORDINGS_DIR"]) / recording.master_key
    assert stat.S_IMODE(master.stat().st_mode) == 0o400
    folder = master.parent
    while folder != Path(app.config["RECORDINGS_DIR"]).parent:
        assert stat.S_IMODE(folder.stat().st_mode) & 0o077 == 0, folder
        folder = folder.parent
