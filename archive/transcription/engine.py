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

* Batched decoding (``batch_size`` > 1, ``ARCHIVE_WHISPER_BATCH``): faster-whisper's
  ``BatchedInferencePipeline`` cuts each run of one language at VAD pauses into
  chunks of at most 30 s of speech and decodes ``batch_size`` of them at once
  through the encoder and the beam search: on 2 CPU cores 1.67x faster than one
  30 s window after another on a quiet machine (1.4x with it shared), with no
  more word errors (``bench/pipeline_speed.py``, README's Numbers). It applies
  none of Whisper's own thresholds, so ``_batched_verdict`` does: a chunk the
  sequential decoder would have taken for silence (``no_speech_threshold`` with
  ``log_prob_threshold``) is dropped, and one it would have decoded again at a
  higher temperature (``log_prob_threshold``, ``compression_ratio_threshold``) is
  decoded again sequentially, with the hotwords and temperature fallback, exactly
  as the sequential path would. The language is chosen per window before decoding
  (``language_windows``, over all languages when none is given), so every batch is
  of one language. ``batch_size=1`` is the sequential path, unchanged.

Segments go to a callback as they are decoded so the caller can store them and
report progress. This module knows nothing of Flask or the database.
"""

from __future__ import annotations

import copy
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Literal, NamedTuple

import numpy as np

from archive.transcription.decoding_settings import (
    _CUT_FRAME,
    CHUNK_SECONDS,
    COMPRESSION_RATIO_THRESHOLD,
    CUT_SEARCH_SECONDS,
    DEFAULT_BATCH,
    HALLUCINATION_SILENCE_THRESHOLD,
    LOG_PROB_THRESHOLD,
    NO_SPEECH_THRESHOLD,
    REDECODE_MARGIN_SECONDS,
    REDECODE_TEMPERATURES,
    SAMPLE_RATE,
    VAD_MIN_SILENCE_MS,
)
from archive.transcription.guards import (
    hotword_tokens_of,
    is_duplicate,
    normalise_text,
    suspect_reason,
)

# The job asks ``engine.hotwords_help`` (pipeline.py): kept importable from here.
from archive.transcription.guards import hotwords_help as hotwords_help
from archive.transcription.languages import (
    LanguageRun,
    language_list,
    language_runs,
    language_windows,
)
from archive.transcription.models import resolve_model

if TYPE_CHECKING:  # faster_whisper is imported lazily: it pulls onnxruntime and ctranslate2
    from faster_whisper import WhisperModel

log = logging.getLogger(__name__)

Device = Literal["auto", "cpu", "cuda"]


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
    #: Batched segments that failed Whisper's own thresholds and were decoded again
    #: sequentially, as the sequential decoder would have (``_batched_verdict``).
    segments_fallback: int = 0
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
    batch_size: int = DEFAULT_BATCH,
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
    ``batch_size`` above 1 decodes each piece's runs of one language batched (see
    the module's docstring); 1 decodes one 30 s window after another.
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
    batched = batch_size > 1
    for start, end in plan_chunks(audio, chunk_samples):
        piece = audio[start:end]
        if len(languages) == 1:
            runs = [LanguageRun(0, piece.shape[0], languages[0], 1.0, 0.0)]
        elif languages or batched:  # a batch is of one language: choose it first
            runs = language_runs(language_windows(model, piece, languages or None))
        else:
            runs = [LanguageRun(0, piece.shape[0], "", 0.0, 0.0)]  # guessed as decoded
        for run in runs:
            offset = (start + run.start) / SAMPLE_RATE
            decoder, spy = (model, None) if run.language else _spying(model)
            segments, fw_info = _decoder(decoder, batch_size).transcribe(
                piece[run.start : run.end],
                **_decoding(run.language or None, beam_size, batch_size),
                multilingual=spy is not None,
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
                for kept in (
                    _batched_verdict(raw, seg, info, model, audio, hotword_text, beam_size)
                    if batched
                    else [seg]
                ):
                    redecode = _Redecoder(model, audio, seg.language, beam_size)
                    previous = _keep(kept, info, hotword_tokens, redecode, previous, on_segment)
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


def _decoding(language: str | None, beam_size: int, batch_size: int = 1) -> dict:
    """The settings every decoding shares (see the module's docstring for why).

    Batched, the thresholds are passed but unused by faster-whisper (it says so):
    ``_batched_verdict`` applies them; the hallucination-silence skip has no
    batched form, and within a chunk of VAD speech there is little silence to skip.
    ``without_timestamps=False`` lets the model cut a chunk into sentences as the
    sequential decoder does, rather than one segment of up to 30 s.
    """
    settings = {
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
    if batch_size > 1:
        settings.update(batch_size=batch_size, without_timestamps=False)
    else:
        settings["hallucination_silence_threshold"] = HALLUCINATION_SILENCE_THRESHOLD
    return settings


def _decoder(model: WhisperModel, batch_size: int):
    """The model itself (sequential), or a batched pipeline over it: made per run,
    since the pipeline keeps the last word's time between batches."""
    if batch_size <= 1:
        return model
    # Imported at job time: faster_whisper and ctranslate2 pull in onnxruntime and
    # CUDA probing, which the web processes that import this module never need.
    from faster_whisper import BatchedInferencePipeline

    return BatchedInferencePipeline(model)


def _batched_verdict(raw, seg: Segment, info, model, audio, hotword_text, beam_size):
    """Whisper's own thresholds on one batched segment, which faster-whisper's
    batched pipeline does not apply: silence is dropped, and what the sequential
    decoder would have decoded again at a higher temperature is decoded again so,
    sequentially, with the hotwords (``_Redecoder``). Returns what to keep."""
    low = raw.avg_logprob < LOG_PROB_THRESHOLD
    if low and raw.no_speech_prob > NO_SPEECH_THRESHOLD:
        _drop(info, seg, "no_speech")
        return []
    if low or raw.compression_ratio > COMPRESSION_RATIO_THRESHOLD:
        info.segments_fallback += 1
        redecode = _Redecoder(model, audio, seg.language, beam_size, hotword_text)
        again = redecode(seg)
        for candidate in again:
            candidate.language = seg.language
        return again
    return [seg]


def _drop(info: TranscriptionInfo, seg: Segment, reason: str) -> None:
    # Times and the reason only: the text may hold a name (no transcript text in logs).
    log.info("Dropping a %s segment at %.2f-%.2f s", reason, seg.start, seg.end)
    info.segments_dropped += 1
    info.dropped_reasons[reason] = info.dropped_reasons.get(reason, 0) + 1


class _Redecoder:
    """Decodes one segment's audio again, sequentially with temperature fallback, as
    Whisper's own fallback would: without the hotwords prompt for a suspect segment
    (a fresh look at what was said there), with them for a batched segment that
    failed Whisper's thresholds (``_batched_verdict``)."""

    def __init__(self, model, audio, language, beam_size, hotwords=None) -> None:
        self.model, self.audio = model, audio
        self.language, self.beam_size = language, beam_size
        self.hotwords = hotwords

    def __call__(self, seg: Segment) -> list[Segment]:
        lo = max(0, int((seg.start - REDECODE_MARGIN_SECONDS) * SAMPLE_RATE))
        hi = min(self.audio.shape[0], int((seg.end + REDECODE_MARGIN_SECONDS) * SAMPLE_RATE))
        if hi - lo < SAMPLE_RATE // 10:
            return [seg]
        segments, _info = self.model.transcribe(
            self.audio[lo:hi],
            **_decoding(self.language, self.beam_size),
            temperature=REDECODE_TEMPERATURES,
            hotwords=self.hotwords,
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
