"""Nothing the narrator did not say: hotwords, loops and speaker count.

Recordings: ``russian_narrator.flac`` (espeak-ng's Russian voice: "Меня зовут
Гульнара Бекова. Пятого января отключили интернет. ...") and
``two_synthetic_voices.flac`` (a male interviewer, en-us, and a female narrator,
en+f2, in six turns); see tests/fixtures/README.md.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from archive.recordings.audio import decode
from archive.transcription import diarization
from archive.transcription.engine import Segment, load_model, transcribe
from archive.transcription.guards import (
    compression_ratio,
    hotword_tokens_of,
    hotwords_help,
    is_phrase_loop,
    normalise_text,
    suspect_reason,
)
from tests.fixtures import FIXTURES

# Real tiny.en and ``base`` jobs.
pytestmark = pytest.mark.slow

RUSSIAN_NAMES = ["Гульнара Бекова", "Тимур Ахметов"]
RUSSIAN_PSEUDONYMS = ["Светлана", "Айгуль"]
#: Seconds of each turn of two_synthetic_voices.flac: interviewer, narrator, ...
TURNS = [6.434563, 9.112937, 3.207187, 12.45, 3.138625, 13.131813]
FULL_MOON = " ".join(["The full moon of the world, and"] * 30)


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory):
    cache = tmp_path_factory.mktemp("models")
    loaded: dict[str, object] = {}

    def get(name: str):
        if name not in loaded:
            loaded[name] = load_model(name, cache, device="cpu", threads=2)
        return loaded[name]

    return get


def _text(model, audio, language, hotwords) -> tuple[str, list[Segment]]:
    segments: list[Segment] = []
    transcribe(model, audio, language, hotwords, segments.append)
    return normalise_text(" ".join(s.text for s in segments)), segments


# -- finding 1: names and pseudonyms as hotwords ---------------------------------


def test_pseudonyms_are_never_given_to_the_model(app, make_user):
    from archive import interviews, unit_of_work

    interview = interviews.create_interview(
        make_user("interviewer"),
        {
            "title": "Almaty, January",
            "vocabulary": "Almaty, Kazakhtelecom",
            "speakers": [
                {"pseudonym": "Svetlana", "role": "narrator", "real_name": "Gulnara Bekova"},
                {"pseudonym": "Aigul", "role": "other", "real_name": "Timur Akhmetov"},
            ],
        },
    )
    unit_of_work.commit()
    words = interviews.hotwords(interview)
    assert {"Almaty", "Kazakhtelecom", "Gulnara Bekova", "Timur Akhmetov"} <= set(words)
    assert "Svetlana" not in words and "Aigul" not in words


def test_names_as_hotwords_do_not_replace_russian_speech_with_names(models):
    """With the real names and the (unspoken) pseudonyms as hotwords, base wrote only
    "гульнара бекова тимур ахметов светлана айгуль ..." before the guard."""
    audio = decode(FIXTURES / "russian_narrator.flac")
    text, segments = _text(models("base"), audio, "ru", RUSSIAN_NAMES + RUSSIAN_PSEUDONYMS)
    assert "светлана" not in text and "айгуль" not in text
    primed = hotword_tokens_of(RUSSIAN_NAMES + RUSSIAN_PSEUDONYMS)
    assert all(suspect_reason(s, primed) != "hotwords" for s in segments)


def test_the_job_primes_the_model_only_where_names_were_measured_to_help(models):
    """bench/fidelity.py: names as hotwords never hurt English; in Russian base once
    answered a 14-second turn with nothing but a neighbour's name."""
    assert hotwords_help(models("base"), "en")
    assert not hotwords_help(models("base"), "ru")
    assert not hotwords_help(models("base"), None)
    assert hotwords_help(models("tiny.en"), None)  # it hears English only


# -- finding 2: loops ----------------------------------------------------------------


def test_a_seven_word_loop_is_a_loop():
    norm = normalise_text(FULL_MOON)
    assert is_phrase_loop(norm)
    assert compression_ratio(norm) > 2.4
    segment = Segment(0.0, 13.0, FULL_MOON, -0.5, 0.1)
    assert suspect_reason(segment, frozenset()) == "loop"


@pytest.mark.parametrize(
    ("text", "start", "end", "hotwords", "reason"),
    [
        ("My name is Gulnara Bekova.", 0.0, 2.5, ["Gulnara Bekova", "Svetlana"], None),
        (
            "Gulnara Bekova Svetlana Gulnara Bekova.",
            0.0,
            3.0,
            ["Gulnara Bekova", "Svetlana"],
            "hotwords",
        ),
        ("And so my fellow Americans, ask not what your country can do", 0.0, 1.0, [], "too_fast"),
        ("And so my fellow Americans, ask not what your country can do", 0.0, 5.0, [], None),
        ("No, no, no. I did not see him again.", 0.0, 3.0, [], None),
    ],
)
def test_suspect_segments(text, start, end, hotwords, reason):
    segment = Segment(start, end, text, -0.3, 0.1)
    assert suspect_reason(segment, hotword_tokens_of(hotwords)) == reason


# -- finding 3: two voices became one -------------------------------------------------


def _attribution(words, labels) -> float:
    """Share of speech time given to the right voice; a word belongs to the turn whose
    speech (less the 0.6 s pad of silence after it) is nearest its middle."""
    from bench.fidelity import turn_of

    truth = [turn_of((w.start + w.end) / 2, TURNS) % 2 for w in words]
    seconds = np.array([w.end - w.start for w in words])
    same = np.array([a == b for a, b in zip(labels, truth, strict=True)])
    return float(max(seconds[same].sum(), seconds[~same].sum()) / seconds.sum())


@pytest.mark.parametrize(
    ("model", "expected"), list(itertools.product(["tiny.en", "base"], [2, None]))
)
def test_a_male_and_a_female_voice_in_turns_are_two_speakers(models, model, expected):
    audio = decode(FIXTURES / "two_synthetic_voices.flac")
    _, segments = _text(models(model), audio, "en", [])
    words = [w for s in segments for w in s.words]
    result = diarization.diarize(audio, [(w.start, w.end) for w in words], expected)
    assert result.speaker_count == 2
    assert _attribution(words, result.labels) >= 0.95
    assert result.centroids.shape == (2, diarization.EMBEDDING_SIZE)
