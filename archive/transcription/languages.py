"""The languages of a recording: the interview's list, and windows of speech cut at
pauses, each decoded in the most probable listed language (see ``engine``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from archive.transcription.decoding_settings import SAMPLE_RATE, VAD_MIN_SILENCE_MS

if TYPE_CHECKING:  # faster_whisper is imported lazily: it pulls onnxruntime and ctranslate2
    from faster_whisper import WhisperModel


def language_list(language: str | Sequence[str] | None) -> list[str]:
    """The languages as a list of codes: "ru, kk" or ["ru", "kk"] or None (= [])."""
    if language is None:
        return []
    items = language.replace(";", ",").split(",") if isinstance(language, str) else language
    seen: dict[str, None] = {}
    for item in items:
        code = str(item).strip().lower()
        if code:
            seen.setdefault(code, None)
    return list(seen)


#: Language windows: at most Whisper's own 30 s. A window closes at a pause of at
#: least LANGUAGE_PAUSE_SECONDS once it holds MIN_WINDOW_SPEECH_SECONDS of speech, so
#: a change of speaker (and of language) usually starts a new window, while a
#: sentence or two, too short to tell Russian from Kazakh reliably, does not.
WINDOW_SECONDS = 30.0
LANGUAGE_PAUSE_SECONDS = 1.0
MIN_WINDOW_SPEECH_SECONDS = 8.0


class LanguageWindow(NamedTuple):
    """A stretch of ``audio`` (samples) and the language chosen for it."""

    start: int
    end: int
    language: str
    probability: float
    speech_seconds: float


LanguageRun = LanguageWindow  # consecutive windows of one language, merged


def language_windows(
    model: WhisperModel, audio: np.ndarray, languages: Sequence[str] | None
) -> list[LanguageWindow]:
    """Cut ``audio`` into windows of speech at pauses and choose each one's language.

    Speech is found with the same Silero VAD as the decoding uses. Each window's
    log-mel features go through the encoder once, and ``detect_language`` on that
    encoder output gives the probability of every language; those of ``languages``
    are kept and renormalised (all languages when None), and the best is the window's.
    The windows cover the audio without gaps (each boundary is in the middle of the
    pause between two windows), so decoding each one loses no word.
    """
    # Imported at job time: faster_whisper and ctranslate2 pull in onnxruntime and
    # CUDA probing, which the web processes that import this module never need.
    from faster_whisper.audio import pad_or_trim
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    total = int(audio.shape[0])
    chunks = get_speech_timestamps(
        audio, VadOptions(min_silence_duration_ms=VAD_MIN_SILENCE_MS), sampling_rate=SAMPLE_RATE
    )
    spans = _window_spans([(int(c["start"]), int(c["end"])) for c in chunks])
    if not spans:
        spans = [[(0, total)]]
    extractor = model.feature_extractor
    windows = []
    for index, span in enumerate(spans):
        speech = np.concatenate([audio[a:b] for a, b in span])[: extractor.n_samples]
        features = pad_or_trim(extractor(speech)[..., : extractor.nb_max_frames])
        encoder_output = model.encode(features)
        probabilities = {
            token[2:-2]: float(p) for token, p in model.model.detect_language(encoder_output)[0]
        }
        lang, probability = choose_language(probabilities, languages)
        start = 0 if index == 0 else (spans[index - 1][-1][1] + span[0][0]) // 2
        end = total if index == len(spans) - 1 else (span[-1][1] + spans[index + 1][0][0]) // 2
        seconds = sum(b - a for a, b in span) / SAMPLE_RATE
        windows.append(LanguageWindow(start, end, lang, probability, seconds))
    return windows


def choose_language(
    probabilities: dict[str, float], languages: Sequence[str] | None
) -> tuple[str, float]:
    """The most probable of ``languages`` (all when None), with its probability
    renormalised over them. A listed language the model does not know counts as 0."""
    if languages:
        allowed = {lang: probabilities.get(lang, 0.0) for lang in languages}
    else:
        allowed = probabilities
    best = max(allowed, key=allowed.__getitem__)
    total = sum(allowed.values())
    return best, (allowed[best] / total if total > 0 else 1.0 / len(allowed))


def _window_spans(chunks: list[tuple[int, int]]) -> list[list[tuple[int, int]]]:
    """Group VAD speech chunks (sample spans) into windows: a window spans at most
    WINDOW_SECONDS, and closes at a pause of LANGUAGE_PAUSE_SECONDS or more once it
    holds MIN_WINDOW_SPEECH_SECONDS of speech. A chunk longer than a window is split."""
    limit = int(WINDOW_SECONDS * SAMPLE_RATE)
    pause = int(LANGUAGE_PAUSE_SECONDS * SAMPLE_RATE)
    enough = int(MIN_WINDOW_SPEECH_SECONDS * SAMPLE_RATE)
    pieces = [(a, min(a + limit, end)) for start, end in chunks for a in range(start, end, limit)]
    spans: list[list[tuple[int, int]]] = []
    current: list[tuple[int, int]] = []
    for a, b in pieces:
        if current:
            spoken = sum(y - x for x, y in current)
            if b - current[0][0] > limit or (a - current[-1][1] >= pause and spoken >= enough):
                spans.append(current)
                current = []
        current.append((a, b))
    if current:
        spans.append(current)
    return spans


def language_runs(windows: list[LanguageWindow]) -> list[LanguageRun]:
    """Merge neighbouring windows of the same language, to decode each run at once."""
    runs: list[LanguageRun] = []
    for window in windows:
        if runs and runs[-1].language == window.language:
            last = runs[-1]
            seconds = last.speech_seconds + window.speech_seconds
            probability = (
                last.probability * last.speech_seconds + window.probability * window.speech_seconds
            ) / max(seconds, 1e-9)
            runs[-1] = LanguageRun(last.start, window.end, last.language, probability, seconds)
        else:
            runs.append(window)
    return runs
