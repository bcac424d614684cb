"""Helpers shared by the benchmarks: a throwaway archive and test recordings."""

from __future__ import annotations

import os
import shutil
import tempfile
import wave
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures"  # the same folder as tests.fixtures.FIXTURES
RATE = 16_000


def write_wav(path: Path, signal: np.ndarray, rate: int = RATE) -> Path:
    """16-bit PCM WAV, mono (n,) or stereo (2, n)."""
    channels = 1 if signal.ndim == 1 else signal.shape[0]
    frames = signal if signal.ndim == 1 else signal.T
    with wave.open(str(path), "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes((np.clip(frames, -1, 1) * 32767).astype("<i2").tobytes())
    return path


def fixture_voices() -> tuple[np.ndarray, np.ndarray]:
    """The two real voices of the stereo fixture, each trimmed to its speech."""
    from archive.recordings import audio

    stereo = audio.decode(FIXTURES / "stereo_diarization.wav", channels=2)
    voices = []
    for channel in stereo:
        loud = np.flatnonzero(np.abs(channel) > 0.02)
        voices.append(channel[max(0, loud[0] - 1600) : loud[-1] + 1600])
    return voices[0], voices[1]


def interview_audio(minutes: float) -> np.ndarray:
    """A mono "interview" of about ``minutes``: real speech from the fixtures in turns."""
    from archive.recordings import audio

    pieces = [
        audio.decode(FIXTURES / "jfk.flac"),
        *fixture_voices(),
        audio.decode(FIXTURES / "multilingual.mp3")[: 30 * RATE],
    ]
    return interleave(pieces, minutes)


def interleave(pieces: list[np.ndarray], minutes: float) -> np.ndarray:
    """``pieces`` in turn, 0.7 s of silence after each, cut to ``minutes`` of audio."""
    pause = np.zeros(int(0.7 * RATE), dtype=np.float32)
    target = int(minutes * 60 * RATE)
    out, total, index = [], 0, 0
    while total < target:
        piece = pieces[index % len(pieces)]
        out += [piece, pause]
        total += len(piece) + len(pause)
        index += 1
    return np.concatenate(out)[:target]


class ScratchArchive:
    """An archive in a temporary folder, migrated, with one interviewer."""

    def __init__(self, model: str, threads: int | None = None) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="archive-bench-"))
        self.config = {
            "INSTANCE_DIR": self.root / "instance",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{self.root / 'archive.sqlite3'}",
            "RECORDINGS_DIR": self.root / "recordings",
            "TRANSCRIPTS_DIR": self.root / "transcripts",
            "MODEL_CACHE_DIR": REPO / "cache",
            "WHISPER_MODEL": model,
            "WORKER_THREADS": threads,
            "SECRET_KEY": "bench",
            "IDENTITY_KEY": "bRqzIAF1NFXF7e-m6b0U9QpV0SeuZ4vvh0FjpOl4lPw=",
            "AUDIT_KEY": "bench-audit-key",
        }

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "ARCHIVE_INSTANCE_DIR": str(self.config["INSTANCE_DIR"]),
            "ARCHIVE_DATABASE_URL": self.config["SQLALCHEMY_DATABASE_URI"],
            "ARCHIVE_RECORDINGS_DIR": str(self.config["RECORDINGS_DIR"]),
            "ARCHIVE_TRANSCRIPTS_DIR": str(self.config["TRANSCRIPTS_DIR"]),
            "ARCHIVE_MODEL_CACHE_DIR": str(self.config["MODEL_CACHE_DIR"]),
            "ARCHIVE_WHISPER_MODEL": self.config["WHISPER_MODEL"],
            "ARCHIVE_SECRET_KEY": "bench",
            "ARCHIVE_IDENTITY_KEY": self.config["IDENTITY_KEY"],
            "ARCHIVE_AUDIT_KEY": self.config["AUDIT_KEY"],
        }

    def app(self):
        from flask_migrate import upgrade

        from archive import create_app

        app = create_app(self.config)
        with app.app_context():
            upgrade()
        return app

    def cleanup(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)
