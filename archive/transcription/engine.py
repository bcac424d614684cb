"""A thin wrapper around faster-whisper tuned for long interview recordings.

Why these settings (faster-whisper 1.2.1):

* ``vad_filter`` with 500 ms minimum silence: Silero VAD (bundled as
  ``faster_whisper/assets/silero_vad_v6.onnx``, run by onnxruntime, no download) cuts
  out pauses, which is where Whisper invents text; 500 ms keeps turn changes apart.
* ``condition_on_previous_text=False``: conditioning on the previous window is the
  usual trigger of runaway repetition loops in hour-long audio.
* ``no_speech_threshold``, ``log_prob_threshold``, ``compression_ratio_threshold``
  (temperature fallback for gibberish or loops) and
  ``hallucination_silence_threshold`` (skip text invented over silent gaps; it needs
  word timestamps) guard against hallucination; a repeated-phrase filter below drops
  what still gets through.
* ``word_timestamps=True``: redaction silences words in the audio by their times.
* ``hotwords``: the interview's vocabulary and speakers' real names (never
  pseudonyms, which nobody says), sent as a prompt (``<|startofprev|>`` + words) to
  every 30 s window. They help the model spell names so that redaction finds them,
  but they can also pull it into writing nothing but the names: every kept segment
  is checked (``suspect_reason``: mostly hotwords, a loop, faster than speech) and a
  suspect one is decoded again without hotwords, with temperature fallback; what is
  still suspect then is kept with its reason (``Segment.suspect``), for an archivist
  to check; readers, search and exports leave it out until then.

* Languages: an interview lists the languages spoken in it ("ru, kk"). The audio
  is cut at pauses into windows of at most 30 s, the model's language
  probabilities for each window are restricted to those languages and
  renormalised, and each window is decoded in the best of them, never in a
  language nobody listed (``language_windows``). Without a list, the choice is
  among all of Whisper's languages, and its confidence is reported so that staff
  can see a doubtful guess: base once took a Russian recording for Latin.

Segments go to a callback as they are decoded so the caller can store them and
report progress. This module knows nothing of Flask or the database.
"""

from __future__ import annotations

import copy
import logging
import os
import re
import unicodedata
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Literal, NamedTuple

import numpy as np

from archive.transcription.models import resolve_model

if TYPE_CHECKING:  # faster_whisper is imported lazily: it pulls onnxruntime and ctranslate2
    from faster_whisper import WhisperModel

log = logging.getLogger(__name__)

SAMPLE_RATE = 16_000

Device = Literal["auto", "cpu", "cuda"]

#: Hallucination guards. The first three are faster-whisper's (and Whisper's) own
#: defaults, set explicitly so an upgrade cannot change them silently.
NO_SPEECH_THRESHOLD = 0.6
LOG_PROB_THRESHOLD = -1.0
COMPRESSION_RATIO_THRESHOLD = 2.4
#: Seconds of silence around a suspected hallucination before it is skipped.
HALLUCINATION_SILENCE_THRESHOLD = 2.0
VAD_MIN_SILENCE_MS = 500

#: Long recordings are transcribed in pieces of at most this many seconds, because
#: faster-whisper computes VAD and log-mel features for the whole array at once: peak
#: memory grows ~1.1 MiB per second of audio (a 2 h interview would need ~8 GB).
#: Measured with tiny.en on 10 min of speech: one piece peaked at 876 MiB RSS,
#: 300 s pieces at 669 MiB, whatever the total length.
CHUNK_SECONDS = 300.0
#: Each cut is placed at the quietest 100 ms in the last this-many seconds before the
#: nominal boundary, so that it falls in a pause rather than inside a word.
CUT_SEARCH_SECONDS = 30.0
_CUT_FRAME = SAMPLE_RATE // 10

#: A duplicate of the previous segment is dropped only from this many words up:
#: "Yes." answered by "Yes." is ordinary conversation, a repeated sentence is a loop.
MIN_WORDS_FOR_DUPLICATE = 3
#: Longest phrase (in words) considered for a loop, and how often it must repeat.
#: base on a Russian recording detected as Latin looped on a 7-word phrase ("the full
#: moon of the world, and ..." thirty times): 12 leaves room above that.
MAX_LOOP_PHRASE_WORDS = 12
MIN_LOOP_REPEATS = 3
#: A single word must repeat more often to count ("no, no, no" is real speech).
MIN_LOOP_REPEATS_ONE_WORD = 5
#: A segment whose words are at least this share of the hotwords (names and
#: vocabulary), from MIN_WORDS_FOR_HOTWORD_CHECK words up, is suspect: measured with
#: base on a Russian recording, names and pseudonyms as hotwords gave nothing but the
#: names ("Светлана Сейтказиева Светлана Айгуль ..."), WER 0.86 against 0.59 without.
HOTWORD_SHARE = 0.6
MIN_WORDS_FOR_HOTWORD_CHECK = 3
#: Faster than anyone speaks: letters per second of segment time (conversational
#: Russian and English run at 10-15; JFK's address at 10). A segment stamped far
#: shorter than its text is a decoding that ran on.
MAX_LETTERS_PER_SECOND = 25.0
#: gzip ratio of a segment's text from which it is a loop (Whisper's own measure and
#: threshold, applied here to each kept segment rather than to the 30 s window).
SEGMENT_COMPRESSION_RATIO = COMPRESSION_RATIO_THRESHOLD
MIN_CHARS_FOR_COMPRESSION_CHECK = 60
#: The re-decoding of a suspect segment: no hotwords, no prompt, temperature fallback.
REDECODE_TEMPERATURES = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
REDECODE_MARGIN_SECONDS = 0.2


class Word(NamedTuple):
    """One word with its time span (seconds from the start of the audio)."""

    start: float
    end: float
    word: str
    probability: float


@dataclass
class Segment:
    """A decoded stretch of speech, as plain data (no faster-whisper types)."""

    start: float
    end: float
    text: str
    avg_logprob: float
    no_speech_prob: float
    words: list[Word] = field(default_factory=list)
    #: Why it is still doubted after being decoded again (see ``suspect_reason``).
    suspect: str | None = None
    #: The language it was decoded in (see ``language_windows``).
    language: str | None = None


@dataclass
class TranscriptionInfo:
    """What was transcribed, and how much the repetition filter threw away."""

    language: str
    language_probability: float
    duration: float
    duration_after_vad: float
    segments_kept: int = 0
    segments_dropped: int = 0
    #: Suspect segments decoded again without hotwords (see ``suspect_reason``), how
    #: many were still suspect and kept with the mark, and what was dropped, by reason.
    segments_redecoded: int = 0
    segments_suspect: int = 0
    dropped_reasons: dict[str, int] = field(default_factory=dict)
    #: Seconds of speech decided for each language (see ``language_windows``); the
    #: overall ``language`` is the one with most speech, ``language_probability`` the
    #: speech-weighted mean probability of the chosen language over the windows (1.0
    #: when a single language was given).
    language_seconds: dict[str, float] = field(default_factory=dict)
    #: The languages the windows were decided among; None when over all of them.
    languages_given: tuple[str, ...] | None = None


def default_threads() -> int:
    """CPU threads for CTranslate2: the CPUs this process may run on.

    ``sched_getaffinity`` respects taskset/cpusets, where ``os.cpu_count()`` reports
    the whole host.
    """
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # pragma: no cover - non-Linux
        return max(1, os.cpu_count() or 1)


def _pick_device(device: Device) -> tuple[str, str]:
    """Return (device, compute_type): float16 on a CUDA GPU, int8 on CPU."""
    # Imported at job time: faster_whisper and ctranslate2 pull in onnxruntime and
    # CUDA probing, which the web processes that import this module never need.
    import ctranslate2

    if device not in ("auto", "cpu", "cuda"):
        raise ValueError(f"device must be 'auto', 'cpu' or 'cuda', not {device!r}")
    cuda_count = ctranslate2.get_cuda_device_count()
    if device == "cuda" and cuda_count == 0:
        raise RuntimeError("device='cuda' was asked for but CTranslate2 sees no CUDA device")
    if device == "cuda" or (device == "auto" and cuda_count > 0):
        supported = ctranslate2.get_supported_compute_types("cuda")
        return "cuda", "float16" if "float16" in supported else "int8"
    return "cpu", "int8"


def load_model(
    name: str,
    cache_dir: Path,
    device: Device = "auto",
    threads: int | None = None,
) -> WhisperModel:
    """Load a Whisper model from local disk only (see models.resolve_model).

    The model is large and slow to load, so a worker loads it once and reuses it.
    With ``device="auto"`` a GPU is tried first and checked with one encoder pass:
    CTranslate2 4.8.5 loads CUDA 12's ``libcublas.so.12`` only at the first matrix
    product, so a machine whose GPU is visible but which lacks that library (CUDA 13
    only, say) would otherwise fail in the middle of the first job. On such a
    failure "auto" falls back to the CPU; an explicit "cuda" raises.
    """
    path = resolve_model(name, Path(cache_dir))
    dev, compute_type = _pick_device(device)
    cpu_threads = threads or default_threads()
    if dev == "cuda":
        try:
            model = _open(name, path, dev, compute_type, cpu_threads)
            _warm_up(model)
            return model
        except (RuntimeError, OSError) as exc:
            if device != "auto":
                raise
            log.warning("CUDA is visible but unusable (%s); using the CPU instead", exc)
    return _open(name, path, "cpu", "int8", cpu_threads)


@lru_cache(maxsize=2)
def cached_model(name: str, cache_dir: str, device: str, threads: int | None) -> WhisperModel:
    """``load_model``, once per process for each setting: a worker keeps the
    transcription and the translation model loaded between jobs."""
    return load_model(name, cache_dir, device=device, threads=threads)


def _open(name: str, path: Path, dev: str, compute_type: str, threads: int) -> WhisperModel:
    # Imported at job time: faster_whisper and ctranslate2 pull in onnxruntime and
    # CUDA probing, which the web processes that import this module never need.
    from faster_whisper import WhisperModel

    log.info(
        "Loading Whisper model %s from %s on %s (%s, %d threads)",
        name,
        path,
        dev,
        compute_type,
        threads,
    )
    # A directory path never reaches the Hub; local_files_only is belt and braces.
    return WhisperModel(
        str(path),
        device=dev,
        compute_type=compute_type,
        cpu_threads=threads,
        local_files_only=True,
    )


def _warm_up(model: WhisperModel) -> None:
    """One encoder pass over 30 s of silence: loads cuBLAS/cuDNN and the kernels now."""
    extractor = model.feature_extractor
    n_mels = extractor.mel_filters.shape[0]  # 80, or 128 for large-v3
    silence = np.zeros((n_mels, extractor.nb_max_frames), dtype=np.float32)
    model.encode(silence)


def transcribe(
    model: WhisperModel,
    audio: np.ndarray,
    language: str | Sequence[str] | None,
    hotwords: Sequence[str],
    on_segment: Callable[[Segment], None],
    *,
    beam_size: int = 5,
    chunk_seconds: float = CHUNK_SECONDS,
) -> TranscriptionInfo:
    """Transcribe 16 kHz mono float32 ``audio``, calling ``on_segment`` per kept segment.

    ``language`` is the interview's languages: one code ("ru"), a list (["ru", "kk"]),
    or None (not known). With one language every window is decoded in it. With
    several, the audio is cut into windows of at most 30 s at pauses
    (``language_windows``); the model's language probabilities for each window,
    restricted to the listed languages and renormalised, pick the language that
    window is decoded in. With none, faster-whisper's own multilingual mode detects
    the language of each 30 s decoding window among all of Whisper's, and the
    detections are noted (``_LanguageSpy``) for each segment and for the confidence.
    Each segment keeps its language (``Segment.language``); ``info.language`` is the
    one with most speech. An English-only model always hears "en".
    ``hotwords`` are joined with spaces into faster-whisper's ``hotwords`` prompt.
    Audio longer than ``chunk_seconds`` is processed in pieces cut in pauses (see
    CHUNK_SECONDS); segment and word times are always from the start of ``audio``.
    Returns the language, durations and filter counts.
    """
    audio = _check_audio(audio)
    languages = language_list(language)
    if not model.model.is_multilingual:
        if languages not in ([], ["en"]):
            log.warning("Model is English-only; ignoring languages %r and using 'en'", languages)
        languages = ["en"]
    hotword_text = " ".join(h.strip() for h in hotwords if h and h.strip()) or None
    hotword_tokens = hotword_tokens_of(hotwords)

    info = TranscriptionInfo(
        language=languages[0] if languages else "",
        language_probability=1.0 if len(languages) == 1 else 0.0,
        duration=audio.shape[0] / SAMPLE_RATE,
        duration_after_vad=0.0,
        languages_given=tuple(languages) or None,
    )
    weighted = 0.0
    guess = ("", 0.0)
    previous: str | None = None
    chunk_samples = max(int(chunk_seconds * SAMPLE_RATE), 60 * SAMPLE_RATE)
    for start, end in plan_chunks(audio, chunk_samples):
        piece = audio[start:end]
        if len(languages) == 1:
            runs = [LanguageRun(0, piece.shape[0], languages[0], 1.0, 0.0)]
        elif languages:
            runs = language_runs(language_windows(model, piece, languages))
        else:
            runs = [LanguageRun(0, piece.shape[0], "", 0.0, 0.0)]  # guessed as decoded
        for run in runs:
            offset = (start + run.start) / SAMPLE_RATE
            decoder, spy = (model, None) if run.language else _spying(model)
            segments, fw_info = decoder.transcribe(
                piece[run.start : run.end],
                **_decoding(run.language or None, beam_size),
                multilingual=spy is not None,
                hallucination_silence_threshold=HALLUCINATION_SILENCE_THRESHOLD,
                hotwords=hotword_text,
            )
            info.duration_after_vad += float(fw_info.duration_after_vad)
            guess = (fw_info.language, float(fw_info.language_probability))
            if spy is None:
                _count(info, run.language, run.speech_seconds or fw_info.duration_after_vad)
                weighted += run.probability * (run.speech_seconds or fw_info.duration_after_vad)
            for raw in segments:  # lazy: decoding happens as we iterate
                seg = _to_segment(raw, offset)
                if spy is None:
                    seg.language = run.language
                else:  # the language faster-whisper chose for this 30 s window
                    seg.language, probability = spy.current
                    _count(info, seg.language, seg.end - seg.start)
                    weighted += probability * (seg.end - seg.start)
                redecode = _Redecoder(model, audio, seg.language, beam_size)
                previous = _keep(seg, info, hotword_tokens, redecode, previous, on_segment)
    if len(languages) != 1:
        spoken = sum(info.language_seconds.values())
        if spoken:
            info.language = max(info.language_seconds, key=info.language_seconds.__getitem__)
            info.language_probability = weighted / spoken
        else:  # nothing was said: the first guess, for what it is worth
            info.language, info.language_probability = guess
    return info


def _count(info: TranscriptionInfo, language: str, seconds: float) -> None:
    info.language_seconds[language] = info.language_seconds.get(language, 0.0) + seconds


class _LanguageSpy:
    """Stands in for the CTranslate2 model inside a copy of the WhisperModel and
    notes the language faster-whisper's multilingual mode detects for each window
    (the last one detected is that of the segments being decoded)."""

    def __init__(self, inner) -> None:
        self._inner = inner
        self.current: tuple[str, float] = ("", 0.0)

    def __getattr__(self, name: str):
        return getattr(self._inner, name)

    def detect_language(self, *args, **kwargs):
        results = self._inner.detect_language(*args, **kwargs)
        token, probability = results[0][0]
        self.current = (token[2:-2], float(probability))
        return results


def _spying(model: WhisperModel) -> tuple[WhisperModel, _LanguageSpy]:
    """A shallow copy of ``model`` whose language detections are noted (the shared
    model itself is not touched, so other threads may go on using it)."""
    clone = copy.copy(model)
    spy = _LanguageSpy(model.model)
    clone.model = spy
    return clone, spy


def _keep(seg, info, hotword_tokens, redecode, previous, on_segment) -> str | None:
    """Check one decoded segment, re-decode it when suspect, pass on what is kept;
    returns the normalised text of the last kept segment (for the duplicate check)."""
    redecoded = suspect_reason(seg, hotword_tokens) is not None
    if redecoded:
        info.segments_redecoded += 1
    for candidate in redecode(seg) if redecoded else [seg]:
        candidate.language = seg.language
        norm = normalise_text(candidate.text)
        reason = "empty" if not norm else None
        if reason is None and is_duplicate(norm, previous):
            reason = "repeated"
        if reason is not None:
            _drop(info, candidate, reason)
            continue
        if redecoded:
            # Without hotwords now: what is still suspect is kept, marked, for
            # an archivist to check against the audio; readers do not see it.
            candidate.suspect = suspect_reason(candidate, frozenset())
            if candidate.suspect is not None:
                info.segments_suspect += 1
                log.info(
                    "Keeping a %s segment at %.2f-%.2f s, marked for review",
                    candidate.suspect,
                    candidate.start,
                    candidate.end,
                )
        previous = norm
        info.segments_kept += 1
        on_segment(candidate)
    return previous


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


def _decoding(language: str, beam_size: int) -> dict:
    """The settings every decoding shares (see the module's docstring for why)."""
    return {
        "language": language,
        "beam_size": beam_size,
        "vad_filter": True,
        "vad_parameters": {"min_silence_duration_ms": VAD_MIN_SILENCE_MS},
        "word_timestamps": True,
        "condition_on_previous_text": False,
        "no_speech_threshold": NO_SPEECH_THRESHOLD,
        "log_prob_threshold": LOG_PROB_THRESHOLD,
        "compression_ratio_threshold": COMPRESSION_RATIO_THRESHOLD,
    }


def _drop(info: TranscriptionInfo, seg: Segment, reason: str) -> None:
    # Times and the reason only: the text may hold a name (no transcript text in logs).
    log.info("Dropping a %s segment at %.2f-%.2f s", reason, seg.start, seg.end)
    info.segments_dropped += 1
    info.dropped_reasons[reason] = info.dropped_reasons.get(reason, 0) + 1


#: Languages in which the interview's names and vocabulary are given to the model as
#: hotwords. Measured by bench/fidelity.py with base: in English they never made the
#: word error rate worse (0.113 with and without on the two-voice interview; names
#: 0.145 against 0.161 on the first draft) and added no word; in Russian they helped
#: one recording (0.38 against 0.59) and wrecked another, where base answered a
#: 14-second turn with "Тимур Ахметов Тимур Ахметов" (0.98 against 0.74, even after
#: the guard re-decoded it). Until the bigger models are measured, other languages are
#: transcribed without them, and their names are found by the matcher.
HOTWORD_LANGUAGES = frozenset({"en"})


def hotwords_help(model: WhisperModel, language: str | Sequence[str] | None) -> bool:
    """Whether the interview's names and vocabulary should prime this model for
    these languages (all of them in HOTWORD_LANGUAGES; see there); an English-only
    model always hears English."""
    if not model.model.is_multilingual:
        return True
    languages = language_list(language)
    return bool(languages) and all(code in HOTWORD_LANGUAGES for code in languages)


def hotword_tokens_of(hotwords: Sequence[str]) -> frozenset[str]:
    """The normalised words of the hotwords, as ``suspect_reason`` compares them."""
    return frozenset(normalise_text(" ".join(hotwords)).split())


def suspect_reason(seg: Segment, hotword_tokens: frozenset[str]) -> str | None:
    """Why a decoded segment is likely not what was said, or None.

    - "loop": a phrase said over and over (``is_phrase_loop``), or text that gzip
      compresses like a loop does (Whisper's compression ratio);
    - "hotwords": mostly the names and vocabulary the model was primed with;
    - "too_fast": more letters per second than anyone speaks.
    A suspect segment is decoded again without hotwords; see ``transcribe``.
    """
    norm = normalise_text(seg.text)
    words = norm.split()
    if not words:
        return None
    if is_phrase_loop(norm) or (
        len(norm) >= MIN_CHARS_FOR_COMPRESSION_CHECK
        and compression_ratio(norm) > SEGMENT_COMPRESSION_RATIO
    ):
        return "loop"
    if hotword_tokens and len(words) >= MIN_WORDS_FOR_HOTWORD_CHECK:
        primed = sum(word in hotword_tokens for word in words)
        if primed >= HOTWORD_SHARE * len(words):
            return "hotwords"
    letters = sum(ch.isalpha() for ch in norm)
    if letters / max(seg.end - seg.start, 1.0) > MAX_LETTERS_PER_SECOND:
        return "too_fast"
    return None


def compression_ratio(text: str) -> float:
    """Bytes of ``text`` over bytes gzip makes of it: about 1.5 for speech, 3+ for loops."""
    data = text.encode("utf-8")
    return len(data) / len(zlib.compress(data))


class _Redecoder:
    """Decodes one segment's audio again, as Whisper's own fallback would but without
    the hotwords prompt: a fresh look at what was said there."""

    def __init__(self, model, audio, language, beam_size) -> None:
        self.model, self.audio = model, audio
        self.language, self.beam_size = language, beam_size

    def __call__(self, seg: Segment) -> list[Segment]:
        lo = max(0, int((seg.start - REDECODE_MARGIN_SECONDS) * SAMPLE_RATE))
        hi = min(self.audio.shape[0], int((seg.end + REDECODE_MARGIN_SECONDS) * SAMPLE_RATE))
        if hi - lo < SAMPLE_RATE // 10:
            return [seg]
        segments, _info = self.model.transcribe(
            self.audio[lo:hi],
            **_decoding(self.language, self.beam_size),
            temperature=REDECODE_TEMPERATURES,
            hotwords=None,
        )
        return [_to_segment(raw, lo / SAMPLE_RATE) for raw in segments]


def plan_chunks(audio: np.ndarray, chunk_samples: int) -> list[tuple[int, int]]:
    """Split ``audio`` into [start, end) pieces of at most ``chunk_samples``.

    Each cut is at the middle of the quietest 100 ms frame within CUT_SEARCH_SECONDS
    before the nominal boundary. Always returns at least one piece.
    """
    total = int(audio.shape[0])
    search = min(int(CUT_SEARCH_SECONDS * SAMPLE_RATE), chunk_samples // 2)
    pieces: list[tuple[int, int]] = []
    start = 0
    while total - start > chunk_samples:
        hi = start + chunk_samples
        lo = hi - search
        frames = (hi - lo) // _CUT_FRAME
        window = audio[lo : lo + frames * _CUT_FRAME].reshape(frames, _CUT_FRAME)
        energy = np.einsum("ij,ij->i", window, window)
        cut = lo + int(np.argmin(energy)) * _CUT_FRAME + _CUT_FRAME // 2
        pieces.append((start, cut))
        start = cut
    pieces.append((start, total))
    return pieces


def _check_audio(audio: np.ndarray) -> np.ndarray:
    """faster-whisper assumes 16 kHz mono float32; catch stereo or int PCM early."""
    if not isinstance(audio, np.ndarray) or audio.ndim != 1:
        raise ValueError("audio must be a 1-D numpy array (16 kHz mono)")
    if audio.dtype != np.float32:
        if np.issubdtype(audio.dtype, np.integer):
            raise ValueError("audio must be float32 in [-1, 1], not integer PCM")
        audio = audio.astype(np.float32)
    return audio


def _to_segment(raw: object, offset: float = 0.0) -> Segment:
    """Copy a faster-whisper segment into plain data, shifted by ``offset`` seconds."""
    words = [
        Word(float(w.start) + offset, float(w.end) + offset, w.word, float(w.probability))
        for w in (getattr(raw, "words", None) or [])
    ]
    return Segment(
        start=float(raw.start) + offset,  # type: ignore[attr-defined]
        end=float(raw.end) + offset,  # type: ignore[attr-defined]
        text=raw.text.strip(),  # type: ignore[attr-defined]
        avg_logprob=float(raw.avg_logprob),  # type: ignore[attr-defined]
        no_speech_prob=float(raw.no_speech_prob),  # type: ignore[attr-defined]
        words=words,
    )


_NON_WORD = re.compile(r"[^\w\s']+")


def normalise_text(text: str) -> str:
    """Lowercase, drop punctuation, collapse spaces: what "the same words" means."""
    text = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(_NON_WORD.sub(" ", text).split())


def is_duplicate(norm: str, previous: str | None) -> bool:
    """True when a segment repeats the previous kept one word for word (and is long
    enough that a repeat is more likely a decoding loop than a real echo)."""
    return (
        previous is not None and norm == previous and len(norm.split()) >= MIN_WORDS_FOR_DUPLICATE
    )


def is_phrase_loop(norm: str) -> bool:
    """True when a segment is mostly one short phrase said over and over.

    Looks for the longest stretch in which the words repeat with a period of 1 to
    MAX_LOOP_PHRASE_WORDS words. It is a loop when the phrase repeats at least
    MIN_LOOP_REPEATS times (MIN_LOOP_REPEATS_ONE_WORD for a single word, since
    "no, no, no" is real speech) and the stretch covers at least half the segment:
    "thank you thank you thank you", or tiny.en on German audio: "we had to focus on
    the rest of the rest of the rest of the rest of the rest".
    """
    words = norm.split()
    n = len(words)
    for size in range(1, MAX_LOOP_PHRASE_WORDS + 1):
        needed = MIN_LOOP_REPEATS_ONE_WORD if size == 1 else MIN_LOOP_REPEATS
        if n < needed * size:
            break
        run = best = 0
        for j in range(size, n):
            if words[j] == words[j - size]:
                run += 1
                best = max(best, run + size)
            else:
                run = 0
        if best >= needed * size and 2 * best >= n:
            return True
    return False
