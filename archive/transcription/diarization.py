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

FloatArray = NDArray[np.float32]

# --------------------------------------------------------------------------
# Channels
# --------------------------------------------------------------------------

#: Analysis frame for channel levels: 50 ms is short enough that a frame
#: mostly holds one talker, long enough for a stable level.
CHANNEL_FRAME_SECONDS = 0.05
#: A frame holds sound when its louder channel is within this many dB of the
#: recording's loud level (95th percentile of frame levels)...
ACTIVITY_RANGE_DB = 35.0
#: ...and above this absolute level, so that hiss in a silent file is no speech.
ACTIVITY_FLOOR_DBFS = -60.0
#: A channel "has its own voice" in a frame when it is this much louder than
#: the other. Microphone bleed between lapel or headset microphones is usually
#: 15-30 dB down; a stereo microphone pair differs by a few dB at most.
DOMINANCE_DB = 10.0
#: Each channel must be the dominant one in at least this share of the frames
#: with sound (and in MIN_OWN_FRAMES of them). Low, because an interviewer may
#: speak for only a few percent of an interview; the fixture's right-hand
#: voice, which mostly overlaps the left, dominates in 8% of its frames.
MIN_OWN_SHARE = 0.03
MIN_OWN_FRAMES = 5
#: Above this waveform correlation over the frames with sound the channels
#: carry the same signal (a duplicated or merely attenuated mono recording).
MAX_CHANNEL_CORRELATION = 0.5
#: Levels are computed a block at a time so a two-hour file needs no copies.
_CHANNEL_BLOCK_FRAMES = 1200  # 60 s

# --------------------------------------------------------------------------
# Voice clustering
# --------------------------------------------------------------------------

#: Embedding windows are the encoder's own partial length (160 mel frames).
WINDOW_SECONDS = PARTIAL_FRAMES * HOP_LENGTH / SAMPLING_RATE  # 1.6 s
#: Step between windows inside a stretch of speech: each moment of speech lies
#: in about two windows; two hours of speech are ~9,600 windows (~1 min of CPU).
WINDOW_HOP_SECONDS = 0.75
#: Words closer than this belong to one stretch of speech; a longer pause is
#: where turns usually change, so no window is laid across it.
REGION_GAP_SECONDS = 0.3
#: Long stretches are cut into pieces of at most this length, so that the mel
#: spectrogram of one piece stays small (about 4 MB).
MAX_REGION_SECONDS = 30.0
#: Windows shorter than this (a lone "yes") give unreliable embeddings: they
#: do not shape the clusters, they only add (weak) evidence to their words.
MIN_RELIABLE_SECONDS = 1.0
#: When the number of speakers is not given it is estimated between 1 and this.
MAX_SPEAKERS = 6
#: Clusters first found by k-means, before merging: more than there are
#: speakers, so that a speaker who talks little gets a cluster of their own
#: instead of being absorbed by a talkative one.
INITIAL_CLUSTERS = 10
KMEANS_RESTARTS = 3
KMEANS_ITERATIONS = 30
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
#: Two clusters whose median pitch (``pitch.py``) differs by more than this
#: many octaves are not one voice, however close the encoder hears them: a man
#: and a woman differ by most of an octave, the clusters of one voice by a few
#: semitones of intonation (up to half an octave between the clusters of one
#: real voice in the fixtures, where a simple pitch tracker errs most), and it
#: only vetoes merges by choice, never the ones that bring the count down to
#: the expected number. Measured (bench/fidelity.py): a male and a female
#: espeak-ng voice, whose clusters the encoder scored 0.77-0.90, were joined
#: when their number was not given (attribution 0.75); with the rule, two
#: speakers and 0.975. Pitch is a veto only: it never splits a voice.
PITCH_GAP_OCTAVES = 0.7
#: A cluster with less than this many seconds of (reliable) windows is
#: merged into its nearest first: less than two windows is no speaker.
MIN_SPEAKER_WINDOW_SECONDS = 2.5
#: Prior for the within-cluster similarity of a cluster too small to measure
#: it (one window), and its weight in (window-seconds)^2.
PRIOR_WITHIN_SIMILARITY = 0.75
PRIOR_WEIGHT = WINDOW_SECONDS**2
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


def channels_are_separate(stereo: np.ndarray) -> bool:
    """True when a (2, n) 16 kHz recording has one microphone per person.

    Then each channel can be transcribed or attributed as one speaker, which
    is exact where voice clustering guesses. The test, on 50 ms frames that
    hold sound:

    * each channel must carry a voice of its own: be at least DOMINANCE_DB
      louder than the other in some of the frames (MIN_OWN_SHARE). This rules
      out a silent (or hiss-only) channel and a stereo microphone pair, whose
      channels differ by a few dB only;
    * the waveforms must be weakly correlated (MAX_CHANNEL_CORRELATION): a
      mono recording saved as two identical, inverted or attenuated channels
      correlates near +-1 however the levels compare.
    """
    audio = np.asarray(stereo)
    if audio.ndim != 2 or audio.shape[0] != 2:
        raise ValueError(f"stereo audio must have shape (2, n), not {audio.shape}")
    frame = round(CHANNEL_FRAME_SECONDS * SAMPLING_RATE)
    n_frames = audio.shape[1] // frame
    if n_frames == 0:
        return False

    cross = np.empty(n_frames, dtype=np.float64)
    energy = np.empty((2, n_frames), dtype=np.float64)
    for first in range(0, n_frames, _CHANNEL_BLOCK_FRAMES):
        last = min(first + _CHANNEL_BLOCK_FRAMES, n_frames)
        block = audio[:, first * frame : last * frame].astype(np.float64)
        block = block.reshape(2, last - first, frame)
        block -= block.mean(axis=2, keepdims=True)  # DC offset is no signal
        energy[:, first:last] = np.einsum("cfs,cfs->cf", block, block)
        cross[first:last] = np.einsum("fs,fs->f", block[0], block[1])
    levels = 10.0 * np.log10(energy / frame + 1e-12)  # dBFS; digital silence is -120

    loudest = levels.max(axis=0)
    loud_level = float(np.percentile(loudest, 95))
    active = loudest > max(ACTIVITY_FLOOR_DBFS, loud_level - ACTIVITY_RANGE_DB)
    n_active = int(active.sum())
    if n_active < MIN_OWN_FRAMES:
        return False

    difference = levels[0, active] - levels[1, active]
    own = (int(np.sum(difference >= DOMINANCE_DB)), int(np.sum(difference <= -DOMINANCE_DB)))
    if min(own) < max(MIN_OWN_FRAMES, MIN_OWN_SHARE * n_active):
        return False

    left, right = energy[0, active].sum(), energy[1, active].sum()
    correlation = abs(cross[active].sum()) / math.sqrt(left * right) if left * right > 0 else 0.0
    return correlation < MAX_CHANNEL_CORRELATION


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


@dataclass
class _Windows:
    """Embedded windows of speech: (N, 256) embeddings, their spans, weights."""

    embeddings: FloatArray
    starts: NDArray[np.float64]
    ends: NDArray[np.float64]
    #: log2 of each window's median F0 (NaN where unvoiced); set by ``diarize``.
    pitch: NDArray[np.float64] | None = None

    @property
    def weights(self) -> NDArray[np.float64]:
        """Seconds of audio in each window: a short window is weaker evidence."""
        return self.ends - self.starts


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


def _normalised(vectors: np.ndarray) -> FloatArray:
    """Rows scaled to unit length (a zero row stays zero)."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return (vectors / np.where(norms == 0, 1, norms)).astype(np.float32)


def _cluster(windows: _Windows, max_speakers: int, threshold: float) -> FloatArray:
    """Cluster the windows; returns the (k, 256) unit-length centroids.

    Only windows of at least MIN_RELIABLE_SECONDS shape the clusters (all of
    them when there are no such windows); the others are assigned afterwards.
    """
    x = windows.embeddings
    weights = windows.weights
    reliable = weights >= MIN_RELIABLE_SECONDS
    if not reliable.any():
        reliable = np.ones(len(x), dtype=bool)
    xr, wr = x[reliable], weights[reliable]
    pitch = windows.pitch[reliable] if windows.pitch is not None else np.full(len(xr), np.nan)

    n_initial = min(len(xr), max(INITIAL_CLUSTERS, max_speakers))
    assignment = _best_kmeans(xr, wr, n_initial)
    assignment = _agglomerate(xr, wr, pitch, assignment, max_speakers, threshold)
    return _centroids(xr, wr, assignment)


def _cluster_sums(
    x: FloatArray, w: NDArray[np.float64], assignment: NDArray[np.intp]
) -> NDArray[np.float64]:
    """(k, 256) weighted sum of each cluster 0..max(assignment): one matrix
    product with the one-hot assignment (np.add.at is far slower)."""
    k = int(assignment.max()) + 1
    one_hot = np.zeros((k, len(x)), dtype=np.float64)
    one_hot[assignment, np.arange(len(x))] = w
    return one_hot @ x.astype(np.float64)


def _centroids(x: FloatArray, w: NDArray[np.float64], assignment: NDArray[np.intp]) -> FloatArray:
    """Unit-length weighted mean of each cluster 0..max(assignment)."""
    return _normalised(_cluster_sums(x, w, assignment))


def _best_kmeans(x: FloatArray, w: NDArray[np.float64], k: int) -> NDArray[np.intp]:
    """Weighted spherical k-means, best of KMEANS_RESTARTS seeded runs
    (deterministic: the same audio always gives the same speakers)."""
    best, best_score = np.zeros(len(x), dtype=np.intp), -np.inf
    if k <= 1:
        return best
    for seed in range(KMEANS_RESTARTS):
        assignment, score = _kmeans(x, w, k, np.random.default_rng(seed))
        if score > best_score:
            best, best_score = assignment, score
    return best


def _kmeans(
    x: FloatArray, w: NDArray[np.float64], k: int, rng: np.random.Generator
) -> tuple[NDArray[np.intp], float]:
    """One k-means++-seeded run of spherical k-means; O(N k) per iteration."""
    centres = [int(rng.choice(len(x), p=w / w.sum()))]
    distance = np.maximum(1.0 - x @ x[centres[0]], 0.0) * w
    for _ in range(1, k):
        if distance.sum() <= 0:
            break
        centres.append(int(rng.choice(len(x), p=distance / distance.sum())))
        distance = np.minimum(distance, np.maximum(1.0 - x @ x[centres[-1]], 0.0) * w)
    assignment = _compact(np.argmax(x @ x[centres].T, axis=1))
    for _ in range(KMEANS_ITERATIONS):
        new = _compact(np.argmax(x @ _centroids(x, w, assignment).T, axis=1))
        if np.array_equal(new, assignment):
            break
        assignment = new
    centroids = _centroids(x, w, assignment)
    score = float(np.sum(w * np.einsum("nd,nd->n", x, centroids[assignment])))
    return assignment, score


def _corrected_similarity(
    sums: NDArray[np.float64], masses: NDArray[np.float64], self_weights: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Similarity of clusters, corrected for how noisy each one's mean is.

    The mean of a cluster's windows is shorter than 1 by the windows' noise,
    so the plain cosine of two cluster means grows with cluster size even for
    one voice. Instead: the mean similarity between the windows of A and of B
    (m_A . m_B, m the weighted mean) divided by the geometric mean of the
    mean similarity among the windows of A and among those of B (self-pairs
    excluded). It is near 1 for two random halves of one voice whatever their
    size, lower for two voices. A cluster of one window borrows a prior
    within-similarity (PRIOR_WITHIN_SIMILARITY) instead of a measurement.
    """
    means = sums / masses[:, None]
    between = means @ means.T
    squared = np.einsum("kd,kd->k", sums, sums)
    within = (squared - self_weights + PRIOR_WEIGHT * PRIOR_WITHIN_SIMILARITY) / (
        masses**2 - self_weights + PRIOR_WEIGHT
    )
    within = np.clip(within, 1e-6, None)
    return between / np.sqrt(np.outer(within, within))


def _agglomerate(
    x: FloatArray,
    w: NDArray[np.float64],
    pitch: NDArray[np.float64],
    assignment: NDArray[np.intp],
    max_speakers: int,
    threshold: float,
) -> NDArray[np.intp]:
    """Merge clusters, most similar first, while there are more than
    ``max_speakers`` or while two are as similar as one voice to itself
    (corrected similarity >= ``threshold``).

    A cluster of less than MIN_SPEAKER_WINDOW_SECONDS of windows is merged
    into its nearest before anything else: one odd window (a cough, a window
    across a turn change) is no speaker, and left alone it would take the
    place of a real one when merging down to ``max_speakers``.

    After each round of merging the windows are reassigned to the nearest
    centroid (a few k-means steps), which moves windows that the first,
    finer clustering had placed on the wrong side.
    """
    while True:
        k = int(assignment.max()) + 1
        sums = _cluster_sums(x, w, assignment)
        masses = np.bincount(assignment, weights=w, minlength=k)
        self_weights = np.bincount(assignment, weights=w * w, minlength=k)
        merged = False
        while k > 1:
            similarity = _corrected_similarity(sums, masses, self_weights)
            np.fill_diagonal(similarity, -np.inf)
            smallest = int(np.argmin(masses))
            if masses[smallest] < MIN_SPEAKER_WINDOW_SECONDS:
                a, b = smallest, int(np.argmax(similarity[smallest]))
            else:
                if k <= max_speakers:  # merging by choice, not to reach max_speakers
                    vetoed = _pitch_gaps(pitch, assignment, k) > PITCH_GAP_OCTAVES
                    similarity = np.where(vetoed, -np.inf, similarity)
                a, b = np.unravel_index(int(np.argmax(similarity)), similarity.shape)
                if k <= max_speakers and similarity[a, b] < threshold:
                    break
            a, b = min(a, b), max(a, b)
            sums[a] += sums[b]
            masses[a] += masses[b]
            self_weights[a] += self_weights[b]
            sums, masses, self_weights = (
                np.delete(v, b, axis=0) for v in (sums, masses, self_weights)
            )
            assignment = np.where(assignment == b, a, assignment)
            assignment = np.where(assignment > b, assignment - 1, assignment)
            k -= 1
            merged = True
        if not merged or k == 1:
            return assignment
        assignment = _refine(x, w, assignment)


def _pitch_gaps(
    pitch: NDArray[np.float64], assignment: NDArray[np.intp], k: int
) -> NDArray[np.float64]:
    """(k, k) octaves between the clusters' median pitches; 0 where one has none."""
    medians = np.full(k, np.nan)
    for cluster in range(k):
        voiced = pitch[(assignment == cluster) & np.isfinite(pitch)]
        if voiced.size:
            medians[cluster] = np.median(voiced)
    gaps = np.abs(medians[:, None] - medians[None, :])
    return np.nan_to_num(gaps, nan=0.0)


def _refine(
    x: FloatArray, w: NDArray[np.float64], assignment: NDArray[np.intp]
) -> NDArray[np.intp]:
    """A few k-means steps from the given clusters; empty clusters are dropped."""
    for _ in range(KMEANS_ITERATIONS):
        new = _compact(np.argmax(x @ _centroids(x, w, assignment).T, axis=1))
        if np.array_equal(new, assignment):
            break
        assignment = new
    return assignment


def _compact(assignment: NDArray[np.intp]) -> NDArray[np.intp]:
    """Cluster numbers made 0..k-1 with no gaps (an emptied cluster is dropped)."""
    return np.unique(assignment, return_inverse=True)[1].reshape(-1)


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
