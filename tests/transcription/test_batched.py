"""Batched decoding (``ARCHIVE_WHISPER_BATCH``) against the sequential decoder, with
the real tiny.en model on ``two_synthetic_voices.flac`` (a male interviewer and a
female narrator in six turns; tests/fixtures/README.md).
"""

from __future__ import annotations

import itertools

import faster_whisper
import jiwer
import numpy as np
import pytest

from archive.config import load_config
from archive.recordings.audio import decode
from archive.transcription import diarization, engine
from archive.transcription.engine import Segment, load_model, transcribe
from archive.transcription.guards import normalise_text
from tests.fixtures import FIXTURES

# Real tiny.en jobs.
pytestmark = pytest.mark.slow

#: Seconds of each turn of two_synthetic_voices.flac: interviewer, narrator, ...
TURNS = [6.434563, 9.112937, 3.207187, 12.45, 3.138625, 13.131813]
#: What is said in them (bench/fidelity.py, ENGLISH).
SAID = [
    "Thank you for agreeing to talk with us today. Could you tell me where you were in January?",
    "My name is Gulnara Bekova. In January I was living in Almaty, near the square, "
    "with my mother and my two sons.",
    "What did you see on the morning of the fifth?",
    "In the morning the internet was cut. We stayed at home. In the afternoon we heard "
    "shooting from the direction of the square, and my neighbour Timur Akhmetov came "
    "to warn us.",
    "Did anyone come to your flat later?",
    "Two days later soldiers came with a list. They asked for Bekova. My mother told "
    "them I was at work. Timur was taken that night and we did not hear from him for "
    "a week.",
]


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory):
    return load_model("tiny.en", tmp_path_factory.mktemp("models"), device="cpu", threads=2)


@pytest.fixture(scope="module")
def audio() -> np.ndarray:
    # Three times over: 142 s, five chunks of speech, so batches of 2 make three.
    return np.concatenate([decode(FIXTURES / "two_synthetic_voices.flac")] * 3)


@pytest.fixture(scope="module")
def decoded(model, audio) -> dict[int, list[Segment]]:
    out = {}
    for batch in (1, 2, 8):
        segments: list[Segment] = []
        transcribe(model, audio, "en", [], segments.append, batch_size=batch)
        out[batch] = segments
    return out


def _voice_of(moment: float) -> int:
    """The true voice (0 interviewer, 1 narrator) at ``moment``: the nearest turn."""
    period = sum(TURNS)
    moment %= period
    bounds = np.cumsum([0.0, *TURNS])
    distances = [max(a - moment, 0.0, moment - b) for a, b in itertools.pairwise(bounds)]
    return int(np.argmin(distances)) % 2


@pytest.mark.parametrize("batch", [2, 8])
def test_batched_segments_are_shaped_like_sequential_ones(decoded, batch):
    """What the archive stores and the editor shows: segments in order, apart, each
    with its words timed inside it; the same words as the sequential decoder, cut
    into segments of similar size (sentences, not 30 s blocks), with no more errors
    against what was said than the sequential decoder makes."""
    sequential, batched = decoded[1], decoded[batch]
    assert batched, "the batched decoder heard nothing"
    for earlier, later in itertools.pairwise(batched):
        assert later.start >= earlier.end - 0.05, (earlier, later)
    for segment in batched:
        assert segment.words, segment
        assert segment.language == "en"
        assert segment.start - 0.05 <= segment.words[0].start
        assert segment.words[-1].end <= segment.end + 0.05
        assert all(w.start <= w.end for w in segment.words)
        for a, b in itertools.pairwise(segment.words):
            assert b.start >= a.start
        assert 0.0 <= min(w.probability for w in segment.words) <= 1.0
    said = normalise_text(" ".join(SAID * 3))
    errors = {
        name: jiwer.wer(said, normalise_text(" ".join(s.text for s in segments)))
        for name, segments in (("sequential", sequential), ("batched", batched))
    }
    assert errors["batched"] <= errors["sequential"] + 0.03, errors
    assert 0.5 * len(sequential) <= len(batched) <= 2 * len(sequential)
    assert max(s.end - s.start for s in batched) <= 30.5


@pytest.mark.parametrize("batch", [1, 8])
def test_batched_words_give_each_voice_its_turns(decoded, audio, batch):
    """Speaker separation works from word times: batched, the interviewer's and the
    narrator's words still go to two voices, each word to the right one."""
    words = [w for s in decoded[batch] for w in s.words]
    result = diarization.diarize(audio, [(w.start, w.end) for w in words], None)
    assert result.speaker_count == 2
    truth = np.array([_voice_of((w.start + w.end) / 2) for w in words])
    labels = np.array(result.labels)
    seconds = np.array([w.end - w.start for w in words])
    same = labels == truth
    assert max(seconds[same].sum(), seconds[~same].sum()) / seconds.sum() >= 0.95


def test_batch_one_is_the_sequential_decoder(model, audio, decoded, monkeypatch, tmp_path):
    """``ARCHIVE_WHISPER_BATCH=1`` never builds the batched pipeline, and writes what
    the sequential decoder writes."""
    monkeypatch.setenv("ARCHIVE_WHISPER_BATCH", "1")
    batch = load_config(tmp_path)["WHISPER_BATCH"]
    assert batch == 1

    def refuse(*args, **kwargs):
        raise AssertionError("the batched pipeline was built with ARCHIVE_WHISPER_BATCH=1")

    monkeypatch.setattr(faster_whisper, "BatchedInferencePipeline", refuse)
    segments: list[Segment] = []
    transcribe(model, audio, "en", [], segments.append, batch_size=batch)
    assert [(s.start, s.end, s.text) for s in segments] == [
        (s.start, s.end, s.text) for s in decoded[1]
    ]


def test_the_batch_size_comes_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("ARCHIVE_WHISPER_BATCH", "4")
    assert load_config(tmp_path)["WHISPER_BATCH"] == 4
    monkeypatch.delenv("ARCHIVE_WHISPER_BATCH")
    assert load_config(tmp_path)["WHISPER_BATCH"] is None  # the measured default
    assert engine.DEFAULT_BATCH > 1
