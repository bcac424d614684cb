"""Who spoke when: speaker separation for a transcript, in numpy alone.

Two situations, two tools (DESIGN.md, "The transcription pipeline"):

* A stereo recording made with one microphone per person already holds the
  answer: each channel is one voice. ``channels_are_separate`` tells such a
  recording from ordinary stereo (a stereo microphone pair, or a mono recording
  saved with two identical channels), where the channels hold the same voices.
* Otherwise the voices are told apart by their sound: ``diarize`` embeds short
  windows of the speech with the GE2E voice encoder (``voice_encoder.py``),
  clusters the embeddings, and gives every word of the transcript the speaker
  of the windows around it.

``assign_to_known`` then matches the clusters of a new recording to the
speakers an interview already has (by their stored centroids), and
``split_runs`` cuts a label sequence into runs, where a segment is split.

Nothing here knows Flask, the database or faster-whisper: inputs are numpy
arrays and word time spans, outputs are plain lists and arrays.

How the numbers were chosen: by bench/speaker_attribution.py, on recordings
built from the fixtures' three real voices and timed by tiny.en and base.
There, the noise-corrected similarity (``_corrected_similarity``) of two
voices' clusters was 0.55-0.71, that of the two halves of one voice split by
k-means 0.76-0.93; MERGE_THRESHOLD (0.75) lies between. Three voices are few:
these are thresholds that work on real speech, not field-tested error rates.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from archive.transcription.channels import channels_are_separate
from archive.transcription.clustering import (
    WINDOW_SECONDS,
    FloatArray,
    _cluster,
    _normalised,
    _Windows,
)
from archive.transcription.pitch import window_pitch
from archive.transcription.voice_encoder import (
    AUDIO_NORM_TARGET_DBFS,
    EMBEDDING_SIZE,
    HOP_LENGTH,
    PARTIAL_FRAMES,
    SAMPLING_RATE,
    VoiceEncoder,
    mel_spectrogram,
)

__all__ = [
    "KNOWN_SPEAKER_THRESHOLD",
    "Diarization",
    "assign_to_known",
    "channels_are_separate",
    "diarize",
    "split_runs",
]

# --------------------------------------------------------------------------
# Windows, merging and smoothing (the clustering itself: ``clustering.py``)
# --------------------------------------------------------------------------

#: Step between windows inside a stretch of speech: each moment of speech lies
#: in about two windows; two hours of speech are ~9,600 windows (~1 min of CPU).
WINDOW_HOP_SECONDS = 0.75
#: Words closer than this belong to one stretch of speech; a longer pause is
#: where turns usually change, so no window is laid across it.
REGION_GAP_SECONDS = 0.3
#: Long stretches are cut into pieces of at most this length, so that the mel
#: spectrogram of one piece stays small (about 4 MB).
MAX_REGION_SECONDS = 30.0
#: When the number of speakers is not given it is estimated between 1 and this.
MAX_SPEAKERS = 6
#: Two clusters whose noise-corrected similarity reaches this are one voice.
#: Measured (bench/speaker_attribution.py, tiny.en and base word times): one
#: voice split in two by k-means 0.76-0.93 (the lowest: the two halves of one
#: short sentence, repeated), two voices 0.55-0.71. Real voices of the same
#: sex and age can come closer than the fixtures' pair; that is the price of
#: not splitting a monologue.
MERGE_THRESHOLD = 0.75
#: Stricter when the interview says how many people speak: fewer speakers
#: than expected needs strong evidence. Wrongly joining interviewer and
#: narrator costs the reviewer the whole transcript; wrongly splitting one
#: voice costs one "same person" merge. A monologue still comes out as one
#: (jfk: 0.90-0.91 at the last merge with tiny.en and base word times, the
#: narrated fixture 0.93), and the pipeline flags it for review.
EXPECTED_MERGE_THRESHOLD = 0.87
#: Smoothing: a run of words shorter than both of these is given to its
#: neighbours, so one stray word does not flip the speaker.
MIN_RUN_SECONDS = 1.0
MIN_RUN_WORDS = 3
#: ...unless it stands alone between pauses and its words prefer their own
#: speaker by at least this much (mean similarity difference). Real one- or
#: two-word answers in the benchmark scored +0.16 to +0.24.
SHORT_TURN_MARGIN = 0.1

#: Default for ``assign_to_known``: plain cosine of two speaker centroids. A
#: voice recorded in two sessions scores lower than within one session.
KNOWN_SPEAKER_THRESHOLD = 0.75


# --------------------------------------------------------------------------
# Diarization
# --------------------------------------------------------------------------


@dataclass
class Diarization:
    """The speakers of one recording's words.

    ``labels[i]`` is the speaker of word ``i`` (0..k-1, numbered in order of
    first appearance); ``centroids[j]`` is the L2-normalised mean voice
    embedding of speaker ``j``, (k, 256) float32, to be stored with the
    speaker and matched against later recordings (``assign_to_known``).
    """

    labels: list[int]
    centroids: FloatArray

    @property
    def speaker_count(self) -> int:
        """How many speakers were found."""
        return int(self.centroids.shape[0])


def diarize(
    audio: np.ndarray,
    words: Sequence[tuple[float, float]],
    expected_speakers: int | None,
    encoder: VoiceEncoder | None = None,
) -> Diarization:
    """Give each word a speaker by clustering voice embeddings of ``audio``.

    ``audio``: 16 kHz mono float32. ``words``: each word's (start, end) in
    seconds, in transcript order (``engine.Word`` tuples work as they are).
    ``expected_speakers``: how many people the interview lists, or None to
    estimate it (1..MAX_SPEAKERS).

    Steps, and why:

    1. Windows of WINDOW_SECONDS every WINDOW_HOP_SECONDS over the stretches
       of speech the words span, never across a pause of REGION_GAP_SECONDS,
       so silence is not embedded and few windows mix two turns. They are
       embedded in batches (the LSTM is several times faster per window in
       batches of dozens).
    2. Spherical k-means into INITIAL_CLUSTERS (more than there are
       speakers), then the two most similar clusters are merged, repeatedly:
       while there are more than ``expected_speakers`` (or MAX_SPEAKERS), and
       after that while two clusters are as similar as one voice is to itself
       (MERGE_THRESHOLD, or the stricter EXPECTED_MERGE_THRESHOLD when the
       number was given: fewer than expected needs strong evidence). So a
       monologue comes out as one speaker even when two were expected. Two
       clusters whose median pitches are more than PITCH_GAP_OCTAVES apart
       are not merged for sounding alike, which keeps a man and a woman apart
       where the voice encoder alone hears them as close.
    3. Each word gets the speaker whose centroid its overlapping windows are
       most similar to (weighted by overlap), then runs shorter than
       MIN_RUN_SECONDS and MIN_RUN_WORDS are given to their neighbours,
       unless they stand alone between pauses and clearly sound like their
       own speaker (``_smooth``).

    The centroids are those of the clusters that kept words, numbered like
    the labels. Words with no audio under them (all of zero length) get one
    speaker with a zero centroid, which matches no known speaker.

    Cost: embedding dominates; clustering is O(windows x clusters). Measured
    on 2 cores: 0.2 s (OpenBLAS on two threads, idle machine) to 0.35 s (one
    thread) per minute of audio; an hour of speech took 20 s on one thread.
    Memory is bounded by the encoder's batch, not the recording's length.
    """
    if expected_speakers is not None and expected_speakers < 1:
        raise ValueError("expected_speakers must be at least 1 (or None to estimate it)")
    audio = _checked_audio(audio)
    spans = _word_spans(words, len(audio) / SAMPLING_RATE)
    if not spans:
        return Diarization([], np.zeros((0, EMBEDDING_SIZE), dtype=np.float32))

    windows = _embed_windows(audio, spans, encoder or VoiceEncoder())
    if len(windows.embeddings) == 0:  # all words of zero length, or outside the audio
        return _one_speaker(len(spans), np.zeros(EMBEDDING_SIZE, dtype=np.float32))
    windows.pitch = np.log2(window_pitch(audio, windows.starts, windows.ends))

    if expected_speakers is None:
        centroids = _cluster(windows, MAX_SPEAKERS, MERGE_THRESHOLD)
    else:
        centroids = _cluster(windows, expected_speakers, EXPECTED_MERGE_THRESHOLD)
    if len(centroids) == 1:
        return _one_speaker(len(spans), centroids[0])

    scores = _word_scores(spans, windows, windows.embeddings @ centroids.T)
    labels = _smooth(list(np.argmax(scores, axis=1)), spans, scores)
    return _renumber(labels, centroids)


def _checked_audio(audio: np.ndarray) -> FloatArray:
    """Mono float32, finite: what the encoder needs."""
    audio = np.asarray(audio)
    if audio.ndim != 1:
        raise ValueError(f"audio must be mono (1-D), not of shape {audio.shape}")
    if np.issubdtype(audio.dtype, np.integer):
        raise ValueError("audio must be float in [-1, 1], not integer PCM")
    audio = audio.astype(np.float32, copy=False)
    if not np.all(np.isfinite(audio)):
        raise ValueError("audio holds NaN or infinite samples")
    return audio


def _word_spans(words: Sequence[tuple[float, float]], duration: float) -> list[tuple[float, float]]:
    """Each word's (start, end) clipped to the audio, with end >= start."""
    spans = []
    for word in words:
        start = min(max(float(word[0]), 0.0), duration)
        end = min(max(float(word[1]), start), duration)
        spans.append((start, end))
    return spans


def _one_speaker(n_words: int, centroid: FloatArray) -> Diarization:
    return Diarization([0] * n_words, _normalised(centroid[None, :]))


def _speech_regions(spans: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Stretches of speech: word spans joined across pauses shorter than
    REGION_GAP_SECONDS, each cut into pieces of at most MAX_REGION_SECONDS."""
    regions: list[list[float]] = []
    for start, end in sorted(spans):
        if end <= start:
            continue
        if regions and start - regions[-1][1] < REGION_GAP_SECONDS:
            regions[-1][1] = max(regions[-1][1], end)
        else:
            regions.append([start, end])
    pieces = []
    for start, end in regions:
        count = math.ceil((end - start) / MAX_REGION_SECONDS)
        edges = np.linspace(start, end, count + 1)
        pieces.extend(zip(edges[:-1].tolist(), edges[1:].tolist(), strict=True))
    return pieces


def _window_starts(start: float, end: float) -> NDArray[np.float64]:
    """Start times of the windows over one region: evenly spread so the first
    starts at its start and the last ends at its end (one window when the
    region is no longer than a window)."""
    length = end - start
    if length <= WINDOW_SECONDS:
        return np.array([start])
    count = math.ceil((length - WINDOW_SECONDS) / WINDOW_HOP_SECONDS) + 1
    return start + np.linspace(0.0, length - WINDOW_SECONDS, count)


def _region_mels(
    audio: FloatArray, regions: list[tuple[float, float]]
) -> Iterator[tuple[float, float, FloatArray]]:
    """(start, end, mel) of every window of every region.

    The mel spectrogram of each region is computed once; a window shorter
    than WINDOW_SECONDS is zero-padded at the end, as Resemblyzer pads. Each
    window is then brought to AUDIO_NORM_TARGET_DBFS, up or down (the mel is
    power, so a gain g scales it by g^2). Resemblyzer only raises quiet
    utterances, but the encoder is not level-invariant: on the fixtures,
    levelling every window both ways raised the least similarity between two
    turns of one voice from 0.64 to 0.77 (jfk, who shouts some words), and
    left different voices as far apart (0.68). Per window rather than per
    stretch, because a quiet interviewer and a loud narrator can share a
    stretch of speech with no pause between them.
    """
    window_samples = PARTIAL_FRAMES * HOP_LENGTH
    target_rms = 10.0 ** (AUDIO_NORM_TARGET_DBFS / 20.0)
    for start, end in regions:
        first, last = round(start * SAMPLING_RATE), round(end * SAMPLING_RATE)
        wav = audio[first:last]
        mel = mel_spectrogram(np.pad(wav, (0, max(0, window_samples - len(wav)))))
        for window_start in _window_starts(start, end):
            frame = round(float(window_start - start) * SAMPLING_RATE / HOP_LENGTH)
            frame = max(0, min(frame, len(mel) - PARTIAL_FRAMES))
            samples = wav[frame * HOP_LENGTH : frame * HOP_LENGTH + window_samples]
            rms = (
                float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))
                if len(samples)
                else 0.0
            )
            gain = target_rms / rms if rms > 0 else 1.0
            yield (
                float(window_start),
                min(float(window_start) + WINDOW_SECONDS, end),
                mel[frame : frame + PARTIAL_FRAMES] * np.float32(gain * gain),
            )


def _embed_windows(
    audio: FloatArray, spans: list[tuple[float, float]], encoder: VoiceEncoder
) -> _Windows:
    """Embed every window, a batch at a time so memory stays bounded."""
    starts: list[float] = []
    ends: list[float] = []
    chunks: list[FloatArray] = []
    batch: list[FloatArray] = []
    for start, end, mel in _region_mels(audio, _speech_regions(spans)):
        starts.append(start)
        ends.append(end)
        batch.append(mel)
        if len(batch) == encoder.batch_size:
            chunks.append(encoder.embed_frames_batch(np.stack(batch)))
            batch = []
    if batch:
        chunks.append(encoder.embed_frames_batch(np.stack(batch)))
    embeddings = (
        np.concatenate(chunks) if chunks else np.zeros((0, EMBEDDING_SIZE), dtype=np.float32)
    )
    return _Windows(embeddings, np.asarray(starts), np.asarray(ends))


def _word_scores(
    spans: list[tuple[float, float]], windows: _Windows, similarity: NDArray[np.float32]
) -> NDArray[np.float64]:
    """(words, k): each word's similarity to each speaker, the mean over the
    windows that overlap it weighted by overlap (the nearest window for a word
    under no window: one timed as an instant inside a pause)."""
    order = np.argsort(windows.starts, kind="stable")
    starts, ends = windows.starts[order], windows.ends[order]
    similarity = similarity[order]
    centres = (starts + ends) / 2
    scores = np.zeros((len(spans), similarity.shape[1]), dtype=np.float64)
    for index, (start, end) in enumerate(spans):
        end = max(end, start + 1e-3)  # a word timed as an instant still lies in windows
        first = int(np.searchsorted(starts, start - WINDOW_SECONDS, side="left"))
        last = int(np.searchsorted(starts, end, side="right"))
        overlap = np.minimum(ends[first:last], end) - np.maximum(starts[first:last], start)
        overlap = np.maximum(overlap, 0.0)
        if overlap.sum() > 0:
            scores[index] = overlap @ similarity[first:last] / overlap.sum()
        else:
            nearest = int(np.argmin(np.abs(centres - (start + end) / 2)))
            scores[index] = similarity[nearest]
    return scores


def _smooth(
    labels: list[int], spans: list[tuple[float, float]], scores: NDArray[np.float64]
) -> list[int]:
    """Give runs shorter than MIN_RUN_SECONDS and MIN_RUN_WORDS to a neighbour.

    A word's evidence is the windows around it, which spill over its
    neighbours, so a one- or two-word run inside someone's speech is far more
    often noise than a reply. Such a run joins its neighbours when both are
    one speaker, else the neighbour whose speaker its words score higher for;
    the shortest run goes first. Kept is a short run that stands alone between
    pauses of REGION_GAP_SECONDS and whose words clearly prefer their own
    speaker (SHORT_TURN_MARGIN): a "yes" or "really?" between two answers.

    The runs are a linked list with a heap of the short ones, so a long
    transcript costs O(n log n), not a rescan per change.
    """
    runs = split_runs(labels)
    if len(runs) <= 1:
        return list(labels)
    first = [run[0] for run in runs]
    last = [run[1] for run in runs]
    label = [run[2] for run in runs]
    prev = list(range(-1, len(runs) - 1))
    nxt = list(range(1, len(runs) + 1))
    nxt[-1] = -1
    alive = [True] * len(runs)

    def duration(i: int) -> float:
        return spans[last[i] - 1][1] - spans[first[i]][0]

    def is_short(i: int) -> bool:
        return last[i] - first[i] < MIN_RUN_WORDS and duration(i) < MIN_RUN_SECONDS

    def stands_alone(i: int) -> bool:
        before = first[i] == 0 or spans[first[i]][0] - spans[first[i] - 1][1] >= REGION_GAP_SECONDS
        after = (
            last[i] == len(spans) or spans[last[i]][0] - spans[last[i] - 1][1] >= REGION_GAP_SECONDS
        )
        if not (before and after) or scores.shape[1] < 2:
            return False
        own = scores[first[i] : last[i], label[i]]
        others = np.delete(scores[first[i] : last[i]], label[i], axis=1).max(axis=1)
        return float(np.mean(own - others)) >= SHORT_TURN_MARGIN

    def absorb(keep: int, gone: int) -> None:
        """Run ``gone`` (adjacent to ``keep``) becomes part of ``keep``."""
        first[keep], last[keep] = min(first[keep], first[gone]), max(last[keep], last[gone])
        alive[gone] = False
        if prev[gone] == keep:
            nxt[keep] = nxt[gone]
            if nxt[gone] >= 0:
                prev[nxt[gone]] = keep
        else:
            prev[keep] = prev[gone]
            if prev[gone] >= 0:
                nxt[prev[gone]] = keep

    heap = [(duration(i), i) for i in range(len(runs)) if is_short(i)]
    heapq.heapify(heap)
    while heap:
        _, i = heapq.heappop(heap)
        if not alive[i] or not is_short(i) or stands_alone(i):
            continue
        neighbours = [j for j in (prev[i], nxt[i]) if j >= 0]
        if not neighbours:
            continue
        target = max(neighbours, key=lambda j: scores[first[i] : last[i], label[j]].sum())
        absorb(target, i)
        for j in (prev[target], nxt[target]):  # A B A: the two As are now one run
            if j >= 0 and label[j] == label[target]:
                absorb(target, j)
        if is_short(target):
            heapq.heappush(heap, (duration(target), target))

    smoothed = list(labels)
    for i in range(len(runs)):
        if alive[i]:
            smoothed[first[i] : last[i]] = [label[i]] * (last[i] - first[i])
    return smoothed


def _renumber(labels: list[int], centroids: FloatArray) -> Diarization:
    """Number speakers by first appearance; drop clusters no word kept."""
    order: dict[int, int] = {}
    for label in labels:
        order.setdefault(int(label), len(order))
    kept = sorted(order, key=order.__getitem__)
    return Diarization([order[int(label)] for label in labels], centroids[kept])


# --------------------------------------------------------------------------
# Known speakers, runs
# --------------------------------------------------------------------------


def assign_to_known(
    centroids: np.ndarray,
    known: list[np.ndarray | None],
    threshold: float = KNOWN_SPEAKER_THRESHOLD,
) -> list[int | None]:
    """Match new clusters to an interview's existing speakers, one to one.

    ``centroids``: (k, 256) of a new recording; ``known``: the stored centroid
    of each existing speaker (None for one without a voice on record, who is
    never matched). Returns, per new cluster, the index into ``known`` of its
    speaker, or None for a new speaker. Pairs are taken greedily, most
    similar first, and only at or above ``threshold`` (cosine), so two
    clusters never become one speaker and a new voice is not forced onto an
    old one.
    """
    new = _normalised(np.asarray(centroids, dtype=np.float32).reshape(-1, EMBEDDING_SIZE))
    result: list[int | None] = [None] * len(new)
    candidates = [(j, vector) for j, vector in enumerate(known) if vector is not None]
    if not candidates or len(new) == 0:
        return result
    old = _normalised(
        np.stack([np.asarray(v, dtype=np.float32).reshape(EMBEDDING_SIZE) for _, v in candidates])
    )
    similarity = new @ old.T
    taken: set[int] = set()
    for flat in np.argsort(-similarity, axis=None, kind="stable"):
        i, j = np.unravel_index(int(flat), similarity.shape)
        if similarity[i, j] < threshold:
            break
        if result[i] is None and j not in taken:
            result[i] = candidates[j][0]
            taken.add(int(j))
    return result


def split_runs(labels: Sequence[int]) -> list[tuple[int, int, int]]:
    """(first_index, end_index_exclusive, label) of each run of equal labels,
    in order: where a segment's words change speaker, the segment is split."""
    runs: list[tuple[int, int, int]] = []
    first = 0
    for index in range(1, len(labels) + 1):
        if index == len(labels) or labels[index] != labels[first]:
            runs.append((first, index, int(labels[first])))
            first = index
    return runs
