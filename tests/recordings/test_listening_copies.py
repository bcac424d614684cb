"""Listening copies made by two workers at once (a rebuild queued twice)."""

from __future__ import annotations

import threading
from pathlib import Path

import av

from archive.recordings import listening_copies
from archive.recordings.listening_copies import Span

FIXTURE = Path(__file__).parent.parent / "fixtures" / "jfk.flac"


def _seconds(path: Path) -> float:
    with av.open(str(path)) as container:
        frames = sum(frame.samples for frame in container.decode(audio=0))
        return frames / listening_copies.RATE


def test_two_builds_of_the_same_copy_at_once_leave_whole_files(tmp_path):
    full, redacted = tmp_path / "full.mp3", tmp_path / "redacted-1.mp3"
    spans = [Span(1.0, 2.0)]
    errors: list[BaseException] = []

    def build() -> None:
        try:
            listening_copies._encode(FIXTURE, 1, spans, full, redacted)
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    workers = [threading.Thread(target=build) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()

    assert errors == []
    alone = tmp_path / "alone"
    alone.mkdir()
    listening_copies._encode(FIXTURE, 1, spans, alone / "full.mp3", alone / "redacted.mp3")
    expected = _seconds(alone / "full.mp3")
    assert abs(_seconds(full) - expected) < 0.1
    assert abs(_seconds(redacted) - expected) < 0.1
    assert full.read_bytes() == (alone / "full.mp3").read_bytes()
    assert redacted.read_bytes() == (alone / "redacted.mp3").read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["alone", "full.mp3", "redacted-1.mp3"]
