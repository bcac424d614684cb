"""Clustering the voice embeddings of a recording's windows into speakers: weighted
k-means with restarts, then merging clusters by noise-corrected similarity, with
pitch as a veto (see ``diarization`` for how the numbers were chosen).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from archive.transcription.voice_encoder import (
    HOP_LENGTH,
    PARTIAL_FRAMES,
    SAMPLING_RATE,
)

FloatArray = NDArray[np.float32]

#: Embedding windows are the encoder's own partial length (160 mel frames).
WINDOW_SECONDS = PARTIAL_FRAMES * HOP_LENGTH / SAMPLING_RATE  # 1.6 s
#: Windows shorter than this (a lone "yes") give unreliable embeddings: they
#: do not shape the clusters, they only add (weak) evidence to their words.
MIN_RELIABLE_SECONDS = 1.0
#: Clusters first found by k-means, before merging: more than there are
#: speakers, so that a speaker who talks little gets a cluster of their own
#: instead of being absorbed by a talkative one.
INITIAL_CLUSTERS = 10
KMEANS_RESTARTS = 3
KMEANS_ITERATIONS = 30
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
