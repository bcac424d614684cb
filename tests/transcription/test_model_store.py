"""``flask models list|download|import``: bigger Whisper models installed by the operator.

The download path runs against a local server that answers like the Hugging Face Hub
(tests/transcription/fake_hub.py), never the internet. The model it serves as "small"
is the bundled tiny.en under another name, so a real transcription can run with it.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from huggingface_hub import constants

from archive import accounts, interviews, recordings, unit_of_work
from archive.extensions import db
from archive.recordings import storage
from archive.transcription import engine, model_store, pipeline
from archive.transcription.model_store import CATALOGUE, Downloadable
from archive.transcription.models import (
    MANIFEST_NAME,
    ModelIntegrityError,
    ModelNotFoundError,
    resolve_model,
)
from tests.fixtures import FIXTURES
from tests.transcription.fake_hub import FakeHub

REPO = "Systran/faster-whisper-small"
COMMIT = "5e1f" * 10
TINY = resolve_model("tiny.en", Path("/nonexistent"))
REPO_ROOT = Path(__file__).resolve().parents[2]


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def tiny_sha256() -> str:
    return _sha256(TINY / "model.bin")


@pytest.fixture
def hub(monkeypatch, tiny_sha256):
    """The fake hub serving tiny.en as Systran/faster-whisper-small at COMMIT, and the
    catalogue pointing "small" at that commit and tiny.en's digest."""
    monkeypatch.setitem(CATALOGUE, "small", Downloadable("small", REPO, COMMIT, tiny_sha256, 78))
    # As in the app: create_app sets HF_HUB_OFFLINE=1 before huggingface_hub is imported.
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    with FakeHub() as server:
        server.add_repo(REPO, COMMIT, TINY)
        monkeypatch.setenv("HF_ENDPOINT", server.url)
        yield server


@pytest.fixture
def cache(app, tmp_path) -> Path:
    folder = tmp_path / "model-cache"
    app.config["MODEL_CACHE_DIR"] = folder
    return folder


def _installed(cache: Path) -> list[str]:
    root = cache / "models"
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))


def test_download_lists_and_transcribes_a_job_with_the_new_model(
    app, runner, hub, cache, caplog
) -> None:
    result = runner.invoke(args=["models", "download", "small"])
    assert result.exit_code == 0, result.output
    first = result.output.splitlines()[0]
    assert first.startswith("Going online: downloading small")
    assert hub.url in first and COMMIT in first
    assert "Installed small" in result.output
    folder = cache / "models" / "small"
    manifest = json.loads((folder / MANIFEST_NAME).read_text())
    assert manifest["source"] == {
        "kind": "download",
        "endpoint": hub.url,
        "repo": REPO,
        "revision": COMMIT,
    }
    assert manifest["files"]["model.bin"]["sha256"] == _sha256(TINY / "model.bin")
    assert not [p for p in (cache / "models").iterdir() if p.name.startswith(".staging")]
    # The app is offline again once the command is done.
    assert os.environ["HF_HUB_OFFLINE"] == "1" and constants.HF_HUB_OFFLINE is True

    listing = runner.invoke(args=["models", "list"])
    assert listing.exit_code == 0, listing.output
    line = next(row for row in listing.output.splitlines() if row.startswith("small "))
    assert "78 MB" in line and "English only" in line and "SHA-256 checked against the hub" in line
    assert f"downloaded from {REPO}@{COMMIT[:12]}; in {folder}" in listing.output
    assert "tiny.en" in listing.output
    assert "Not installed: medium, large-v3, large-v3-turbo" in listing.output

    # The next job, with ARCHIVE_WHISPER_MODEL=small, transcribes with it, offline.
    before = len(hub.requests)
    app.config["WHISPER_MODEL"] = "small"
    engine.cached_model.cache_clear()
    interviewer = accounts.create_user(None, "ivy@example.org", "interviewer", "long enough pw")
    interview = interviews.create_interview(interviewer, {"title": "Address", "language": "en"})
    unit_of_work.commit()
    with storage.copy_to_incoming(FIXTURES / "jfk.flac") as temp:
        recording = recordings.add_recording(interviewer, interview, temp, "jfk.flac")
        unit_of_work.commit()
    with caplog.at_level(logging.INFO, logger="archive.transcription.engine"):
        pipeline.run(recording.id, "test:1")
    engine.cached_model.cache_clear()
    db.session.refresh(recording)
    assert recording.status == "done", recording.error
    text = " ".join(s.text for s in recording.segments).lower()
    assert "ask not what your country can do for you" in text
    assert f"Loading Whisper model small from {folder.resolve()}" in caplog.text
    assert pipeline.read_machine_transcript(recording.id)["model"] == "small"
    assert hub.requests[before:] == [], "the job reached the network"


def test_a_corrupted_file_is_refused_and_nothing_installed(runner, hub, cache) -> None:
    hub.mode = "corrupt"
    result = runner.invoke(args=["models", "download", "small"])
    assert result.exit_code == 1
    assert "model.bin" in result.output and "not what was published" in result.output
    assert _installed(cache) == []
    assert not list((cache / "models").glob(".staging*"))
    with pytest.raises(ModelNotFoundError, match="models download small"):
        resolve_model("small", cache)


def test_the_pinned_digest_is_checked_besides_the_hubs(runner, hub, cache, monkeypatch) -> None:
    """A hub (or mirror) whose listing agrees with what it sends, but which sends another
    model than the one published at that revision, is refused."""
    pinned = Downloadable("small", REPO, COMMIT, "0" * 64, 78)
    monkeypatch.setitem(CATALOGUE, "small", pinned)
    result = runner.invoke(args=["models", "download", "small"])
    assert result.exit_code == 1
    assert "the archive pins" in result.output
    assert _installed(cache) == []


def test_an_interrupted_transfer_installs_nothing(runner, hub, cache) -> None:
    hub.mode = "cut"
    result = runner.invoke(args=["models", "download", "small"])
    assert result.exit_code == 1
    assert "nothing was installed" in result.output
    assert _installed(cache) == []
    assert not list((cache / "models").glob(".staging*"))


def test_a_download_killed_midway_leaves_nothing_usable(hub, cache, app) -> None:
    """The process dies (power cut, kill -9) halfway through model.bin: the name stays
    unusable, and the next download cleans the leftovers and installs."""
    hub.mode = "hold"
    script = (
        "import sys; from pathlib import Path;"
        "from archive.transcription import model_store as m;"
        "m.CATALOGUE['small'] = m.Downloadable('small', sys.argv[2], sys.argv[3], None, 78);"
        "m.download_model('small', Path(sys.argv[1]))"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "HF_HUB_OFFLINE": "1"}
    process = subprocess.Popen(
        [sys.executable, "-c", script, str(cache), REPO, COMMIT],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert hub.half_sent.wait(60), "the download never started"
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(30)
    root = cache / "models"
    assert _installed(cache) == []
    assert list(root.glob(".staging-small+*")), "expected the dead download's leftovers"
    with pytest.raises(ModelNotFoundError, match="not installed"):
        resolve_model("small", cache)
    assert [m.name for m in model_store.list_models(cache)] == ["tiny.en", "base"]

    hub.mode = None
    model = model_store.download_model("small", cache)
    assert model.ok and _installed(cache) == ["small"]
    assert not list(root.glob(".staging*"))


def test_offline_mode_holds_outside_the_download(hub, cache) -> None:
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    with pytest.raises(ModelNotFoundError) as err:
        resolve_model("medium", cache)
    assert "models download medium" in str(err.value) and "models import" in str(err.value)
    elsewhere = cache.parent / "elsewhere"
    with pytest.raises(LocalEntryNotFoundError):  # raised from OfflineModeIsEnabled
        hf_hub_download(REPO, "config.json", revision=COMMIT, endpoint=hub.url, local_dir=elsewhere)
    assert hub.requests == []
    model_store.download_model("small", cache)
    count = len(hub.requests)
    with pytest.raises(LocalEntryNotFoundError):
        hf_hub_download(REPO, "config.json", revision=COMMIT, endpoint=hub.url, local_dir=elsewhere)
    assert resolve_model("small", cache) == (cache / "models" / "small").resolve()
    assert len(hub.requests) == count


def test_no_network_gives_a_clear_error(runner, cache, monkeypatch) -> None:
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # nothing listens there
    result = runner.invoke(args=["models", "download", "large-v3"])
    assert result.exit_code == 1
    assert result.output.startswith("Going online: downloading large-v3")
    assert "Cannot reach http://127.0.0.1:9" in result.output
    assert "models import" in result.output
    assert _installed(cache) == []


def test_unknown_names_are_refused_clearly(runner, cache) -> None:
    result = runner.invoke(args=["models", "download", "gigantic"])
    assert result.exit_code == 1 and "known: small, medium, large-v3" in result.output
    with pytest.raises(ModelNotFoundError) as err:
        resolve_model("gigantic", cache)
    assert "models download NAME" in str(err.value) and "models import" in str(err.value)


# --- import ---------------------------------------------------------------------------


@pytest.fixture
def downloaded(hub, tmp_path) -> Path:
    """A model folder as `models download` leaves it on a machine with internet."""
    online = tmp_path / "online-cache"
    model_store.download_model("small", online)
    return online / "models" / "small"


def _tar(folder: Path, target: Path, arcname: str = "small") -> Path:
    mode = "w:gz" if target.name.endswith(".gz") else "w"
    with tarfile.open(target, mode, **({"compresslevel": 1} if mode == "w:gz" else {})) as tar:
        tar.add(folder, arcname=arcname)
    return target


def test_import_a_tar_made_on_another_machine(runner, downloaded, cache, tmp_path) -> None:
    archive = _tar(downloaded, tmp_path / "small.tar.gz")
    result = runner.invoke(args=["models", "import", str(archive)])
    assert result.exit_code == 0, result.output
    assert "SHA-256 checked against the manifest it came with" in result.output
    assert resolve_model("small", cache) == (cache / "models" / "small").resolve()
    listing = runner.invoke(args=["models", "list", "--verify"])
    assert "SHA-256 re-checked now" in listing.output
    assert "imported from" in listing.output
    assert not list((cache / "models").glob(".*-*")), "unpacked or staged files left behind"


def test_import_a_folder_refuses_a_file_that_differs_from_its_manifest(
    runner, downloaded, cache, tmp_path
) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(downloaded, copy)
    (copy / "config.json").write_text((copy / "config.json").read_text().replace("50", "51", 1))
    result = runner.invoke(args=["models", "import", str(copy), "--name", "small"])
    assert result.exit_code == 1
    assert "config.json does not match its manifest" in result.output
    assert _installed(cache) == []


def test_import_without_manifest_checks_a_known_name_against_its_pin(
    runner, hub, cache, tmp_path
) -> None:
    plain = tmp_path / "plain"  # what `huggingface-cli download --local-dir` gives
    shutil.copytree(TINY, plain)
    result = runner.invoke(args=["models", "import", str(plain), "--name", "small"])
    assert result.exit_code == 0, result.output
    assert "pinned digest" in result.output

    result = runner.invoke(args=["models", "import", str(plain), "--name", "medium"])
    assert result.exit_code == 1 and "not the published medium" in result.output

    result = runner.invoke(args=["models", "import", str(plain), "--name", "my-tiny"])
    assert result.exit_code == 0, result.output
    assert "not checked" in result.output
    assert _installed(cache) == ["my-tiny", "small"]
    assert (resolve_model("my-tiny", cache) / "model.bin").stat().st_size == (
        TINY / "model.bin"
    ).stat().st_size


def test_import_refuses_a_folder_that_is_not_a_model(runner, cache, tmp_path) -> None:
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "model.bin").write_bytes(b"x")
    result = runner.invoke(args=["models", "import", str(tmp_path / "notes")])
    assert result.exit_code == 1 and "config.json" in result.output
    result = runner.invoke(args=["models", "import", str(TINY), "--name", "../escape"])
    assert result.exit_code == 1 and "not a usable model name" in result.output
    result = runner.invoke(args=["models", "import", str(TINY), "--name", "base"])
    assert result.exit_code == 1 and "bundled" in result.output
    assert _installed(cache) == []


def _add(tar: tarfile.TarFile, name: str, data: bytes = b"x", **kind) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data) if not kind else 0
    for key, value in kind.items():
        setattr(info, key, value)
    tar.addfile(info, io.BytesIO(data) if not kind else None)


@pytest.mark.parametrize(
    ("member", "kind"),
    [
        ("../outside.txt", {}),
        ("/tmp/archive-evil-absolute.txt", {}),
        ("small/vocabulary.txt", {"type": tarfile.SYMTYPE, "linkname": "/etc/passwd"}),
        ("small/config.json", {"type": tarfile.LNKTYPE, "linkname": "/etc/passwd"}),
        ("small/dev", {"type": tarfile.CHRTYPE}),
    ],
)
def test_a_malicious_tar_is_refused_before_anything_is_written(
    runner, cache, tmp_path, member, kind
) -> None:
    archive = tmp_path / "evil.tar"
    with tarfile.open(archive, "w") as tar:
        for name in ("model.bin", "config.json", "tokenizer.json"):
            tar.add(TINY / name if name != "model.bin" else TINY / "config.json", f"small/{name}")
        _add(tar, member, **kind)
    result = runner.invoke(args=["models", "import", str(archive), "--name", "evil"])
    assert result.exit_code == 1
    assert "was refused" in result.output
    assert not (tmp_path / "outside.txt").exists()
    assert not Path("/tmp/archive-evil-absolute.txt").exists()
    assert _installed(cache) == []
    assert not [p for p in (cache / "models").iterdir() if p.is_dir()]


def test_a_damaged_installed_model_is_reported_and_refused(runner, downloaded, cache) -> None:
    model_store.import_model(downloaded, cache)
    with open(cache / "models" / "small" / "model.bin", "r+b") as handle:
        handle.truncate(1000)
    with pytest.raises(ModelIntegrityError, match="damaged"):
        resolve_model("small", cache)
    listing = runner.invoke(args=["models", "list"])
    assert listing.exit_code == 1
    assert "DAMAGED" in listing.output and "model.bin is 1000 bytes" in listing.output


def test_a_job_naming_a_model_not_installed_fails_saying_how_to_install_it(app, cache) -> None:
    app.config["WHISPER_MODEL"] = "large-v3"
    engine.cached_model.cache_clear()
    interviewer = accounts.create_user(None, "ivo@example.org", "interviewer", "long enough pw")
    interview = interviews.create_interview(interviewer, {"title": "Address", "language": "en"})
    unit_of_work.commit()
    with storage.copy_to_incoming(FIXTURES / "jfk.flac") as temp:
        recording = recordings.add_recording(interviewer, interview, temp, "jfk.flac")
        unit_of_work.commit()
    pipeline.run(recording.id, "test:1")
    engine.cached_model.cache_clear()
    db.session.refresh(recording)
    assert recording.status == "failed"
    assert "flask --app wsgi models download large-v3" in recording.error
    assert "models import" in recording.error


def test_list_verify_notices_a_changed_byte_that_sizes_miss(runner, downloaded, cache) -> None:
    model_store.import_model(downloaded, cache)
    config = cache / "models" / "small" / "config.json"
    text = config.read_text()
    config.write_text(text.replace("5", "6", 1))
    assert runner.invoke(args=["models", "list"]).exit_code == 0  # sizes only
    listing = runner.invoke(args=["models", "list", "--verify"])
    assert listing.exit_code == 1
    assert "config.json does not match its SHA-256" in listing.output


def test_a_truncated_archive_is_refused(runner, downloaded, cache, tmp_path) -> None:
    whole = _tar(downloaded, tmp_path / "whole.tar").read_bytes()
    cut = tmp_path / "small.tar"
    cut.write_bytes(whole[: len(whole) // 2])
    result = runner.invoke(args=["models", "import", str(cut)])
    assert result.exit_code == 1
    assert "Nothing was installed" in result.output or "nothing was installed" in result.output
    assert _installed(cache) == []


def test_a_revision_the_hub_does_not_have_is_a_refusal_not_offline(
    runner, hub, cache, monkeypatch
) -> None:
    monkeypatch.setitem(CATALOGUE, "small", Downloadable("small", REPO, "f" * 40, None, 78))
    result = runner.invoke(args=["models", "download", "small"])
    assert result.exit_code == 1
    assert "The hub refused" in result.output and "RevisionNotFoundError" in result.output
    assert "offline" not in result.output
    assert _installed(cache) == []
