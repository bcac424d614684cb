"""Speaker separation on real voices: channels, clustering, known speakers, runs.

The voices are those of the fixtures: the two channels of
``stereo_diarization.wav`` (one person each, recorded apart) and ``jfk.flac``
(one person). A two-voice mono recording is built from the two channels, so
the true speaker of every moment is known.
"""

from __future__ import annotations

from functools import cache
from itertools import permutations

import numpy as np
import pytest

from archive.recordings.audio import decode
from archive.transcription.diarization import (
    _smooth,
    assign_to_known,
    channels_are_separate,
    diarize,
    split_runs,
)
from archive.transcription.engine import load_model, transcribe
from archive.transcription.voice_encoder import VoiceEncoder
from tests.fixtures import FIXTURES

# Voices through the encoder: a minute on the loaded machine.
pytestmark = pytest.mark.slow

SR = 16_000

# jfk.flac's words as tiny.en times them (engine.transcribe, beam 5, VAD on):
# "And so my fellow Americans, ask not what your country can do for you,
# ask what you can do for your country."
JFK_WORDS = [
    (0.0, 0.76), (0.76, 1.06), (1.06, 1.46), (1.46, 1.76), (1.76, 2.26), (2.58, 3.88),
    (3.88, 4.56), (4.85, 5.71), (5.71, 6.13), (6.13, 6.33), (6.33, 6.75), (6.75, 7.01),
    (7.01, 7.27), (7.27, 7.61), (8.27, 8.67), (8.67, 8.95), (8.95, 9.27), (9.27, 9.49),
    (9.49, 9.73), (9.73, 9.93), (9.93, 10.23), (10.23, 10.47),
]  # fmt: skip


@cache
def encoder() -> VoiceEncoder:
    return VoiceEncoder()


@cache
def stereo() -> np.ndarray:
    return decode(FIXTURES / "stereo_diarization.wav", channels=2)


@cache
def jfk() -> np.ndarray:
    return decode(FIXTURES / "jfk.flac")


def voiced(samples: np.ndarray, drop_db: float = 35.0) -> np.ndarray:
    """From the first to the last 10 ms frame within ``drop_db`` of the loudest."""
    frames = samples[: len(samples) // 160 * 160].reshape(-1, 160).astype(np.float64)
    level = 10 * np.log10(np.mean(frames**2, axis=1) + 1e-12)
    loud = np.flatnonzero(level > level.max() - drop_db)
    return samples[loud[0] * 160 : (loud[-1] + 1) * 160]


@cache
def two_voices() -> tuple[np.ndarray, list[tuple[float, float, int]]]:
    """Left sentence, 0.5 s pause, right sentence, pause, left, right: the
    audio and the true turns (start, end, voice 0 = left, 1 = right)."""
    left, right = voiced(stereo()[0]), voiced(stereo()[1])  # right is silent after ~2.6 s
    pause = np.zeros(SR // 2, dtype=np.float32)
    parts, turns, t = [pause], [], 0.5
    for voice, sentence in [(0, left), (1, right), (0, left * 0.7), (1, right * 1.3)]:
        parts += [sentence, pause]
        turns.append((t, t + len(sentence) / SR, voice))
        t += (len(sentence) + len(pause)) / SR
    return np.concatenate(parts).astype(np.float32), turns


@pytest.fixture(scope="module")
def two_voice_words(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[float, float]]:
    """The built recording's words as the real engine times them (tiny.en)."""
    model = load_model("tiny.en", tmp_path_factory.mktemp("models"), device="cpu")
    segments = []
    transcribe(model, two_voices()[0], "en", [], segments.append)
    return [(w.start, w.end) for segment in segments for w in segment.words]


def right_speaker_share(
    words: list[tuple[float, float]], labels: list[int], turns: list[tuple[float, float, int]]
) -> float:
    """Share of word time on the true voice, clusters mapped to voices at best."""
    k = max(labels) + 1
    time_on = np.zeros((k, 2))
    for (start, end), label in zip(words, labels, strict=True):
        for t0, t1, voice in turns:
            time_on[label, voice] += max(0.0, min(end, t1) - max(start, t0))
    best = max(sum(time_on[c, v] for c, v in enumerate(p)) for p in permutations(range(2), k))
    return best / time_on.sum()


# --- channels ---------------------------------------------------------------


def test_stereo_fixture_has_one_voice_per_channel() -> None:
    assert channels_are_separate(stereo())


def test_identical_channels_are_not_separate() -> None:
    both = decode(FIXTURES / "jfk.flac", channels=2)
    assert both.shape[0] == 2
    assert not channels_are_separate(both)
    assert not channels_are_separate(np.stack([both[0], -both[0]]))  # polarity flipped
    assert not channels_are_separate(np.stack([both[0], 0.25 * both[0]]))  # 12 dB down


def test_a_silent_channel_is_not_separate() -> None:
    left = stereo()[0]
    assert not channels_are_separate(np.stack([left, np.zeros_like(left)]))
    hiss = np.random.default_rng(0).normal(0, 1e-4, left.shape).astype(np.float32)
    assert not channels_are_separate(np.stack([hiss, left]))
    assert not channels_are_separate(np.zeros((2, SR), dtype=np.float32))


def test_channels_must_be_two() -> None:
    with pytest.raises(ValueError):
        channels_are_separate(jfk())


# --- diarize ----------------------------------------------------------------


@pytest.mark.parametrize("expected", [None, 2])
def test_a_monologue_is_one_speaker(expected: int | None) -> None:
    result = diarize(jfk(), JFK_WORDS, expected, encoder())
    assert result.labels == [0] * len(JFK_WORDS)
    assert result.centroids.shape == (1, 256)
    assert np.linalg.norm(result.centroids[0]) == pytest.approx(1.0, abs=1e-5)


@pytest.mark.parametrize("expected", [2, None])
def test_two_voices_taking_turns(expected: int | None, two_voice_words: list) -> None:
    audio, turns = two_voices()
    result = diarize(audio, two_voice_words, expected, encoder())
    assert len(result.labels) == len(two_voice_words) >= 30
    assert result.speaker_count == 2 and result.centroids.shape == (2, 256)
    assert result.labels[0] == 0 and set(result.labels) == {0, 1}  # numbered by first appearance
    assert right_speaker_share(two_voice_words, result.labels, turns) >= 0.9
    # The speaker changes three times, so there are four runs.
    assert len(split_runs(result.labels)) == 4
    # The centroids are the voices: each is closest to its own channel.
    left, right = encoder().embed_utterances([voiced(stereo()[0]), voiced(stereo()[1])])
    assert float(result.centroids[0] @ left) > float(result.centroids[0] @ right)
    assert float(result.centroids[1] @ right) > float(result.centroids[1] @ left)


def test_no_words_no_speakers() -> None:
    result = diarize(jfk(), [], None, encoder())
    assert result.labels == [] and result.speaker_count == 0
    assert result.centroids.shape == (0, 256)


def test_words_outside_the_audio_are_clipped() -> None:
    result = diarize(jfk()[: 3 * SR], [(0.3, 1.2), (1.2, 2.4), (5.0, 6.0)], None, encoder())
    assert result.labels == [0, 0, 0]


def test_expected_speakers_must_be_positive() -> None:
    with pytest.raises(ValueError):
        diarize(jfk(), JFK_WORDS, 0, encoder())


# --- smoothing --------------------------------------------------------------


def test_a_stray_word_does_not_flip_the_speaker() -> None:
    spans = [(i * 0.3, i * 0.3 + 0.28) for i in range(12)]  # continuous speech
    labels = [0] * 5 + [1] + [0] * 6
    scores = np.array([[0.8, 0.6]] * 12)
    scores[5] = [0.6, 0.7]
    assert _smooth(labels, spans, scores) == [0] * 12


def test_a_short_answer_between_pauses_is_kept() -> None:
    spans = [(i * 0.3, i * 0.3 + 0.28) for i in range(6)]
    spans += [(2.5, 2.8)]  # "Yes." alone, with a clear voice of its own
    spans += [(3.5 + i * 0.3, 3.5 + i * 0.3 + 0.28) for i in range(6)]
    labels = [0] * 6 + [1] + [0] * 6
    scores = np.array([[0.85, 0.6]] * 13)
    scores[6] = [0.55, 0.8]
    assert _smooth(labels, spans, scores) == labels
    scores[6] = [0.7, 0.72]  # too little evidence: given to the neighbours
    assert _smooth(labels, spans, scores) == [0] * 13


def test_a_short_run_at_a_change_joins_the_neighbour_it_sounds_like() -> None:
    spans = [(i * 0.3, i * 0.3 + 0.28) for i in range(9)]
    labels = [0, 0, 0, 0, 2, 1, 1, 1, 1]
    scores = np.array([[0.9, 0.5, 0.4]] * 4 + [[0.5, 0.7, 0.75]] + [[0.5, 0.9, 0.4]] * 4)
    assert _smooth(labels, spans, scores) == [0, 0, 0, 0, 1, 1, 1, 1, 1]


# --- known speakers ---------------------------------------------------------


def test_assign_to_known_matches_a_repeated_voice_only() -> None:
    audio, _ = two_voices()
    session_two = diarize(audio, [(t0, t1) for t0, t1, _ in two_voices()[1]], 2, encoder())
    assert session_two.speaker_count == 2
    # Stored from an earlier session: the left voice's second half, and jfk.
    left = voiced(stereo()[0])
    known_left = encoder().embed_utterance(left[len(left) // 2 :])
    known_jfk = encoder().embed_utterance(voiced(jfk()))
    assert assign_to_known(session_two.centroids, [known_jfk, None, known_left], 0.75) == [2, None]
    assert assign_to_known(session_two.centroids, [], 0.75) == [None, None]


def test_assign_to_known_is_one_to_one_and_greedy() -> None:
    def unit(*values: float) -> np.ndarray:
        vector = np.zeros(256, dtype=np.float32)
        vector[: len(values)] = values
        return vector / np.linalg.norm(vector)

    new = np.stack([unit(1, 0.1), unit(1, 0.3), unit(0, 1)])
    known = [unit(1, 0), None, unit(0.2, 1)]
    # Both of the first two are closest to known[0]: the closer one gets it,
    # the other has no second choice above the threshold and is a new speaker.
    assert assign_to_known(new, known, 0.9) == [0, None, 2]
    assert assign_to_known(new, known, 0.999) == [None, None, None]


# --- runs -------------------------------------------------------------------


def test_split_runs() -> None:
    assert split_runs([0, 0, 1, 1, 1, 0]) == [(0, 2, 0), (2, 5, 1), (5, 6, 0)]
    assert split_runs([3]) == [(0, 1, 3)]
    assert split_runs([]) == []
