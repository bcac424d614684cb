"""Speaker embeddings from Resemblyzer's pretrained voice encoder, in numpy alone.

Speaker separation of a mono recording clusters voice embeddings. Resemblyzer
ships a good small GE2E encoder (``pretrained.pt``, a 3-layer LSTM over 40 mel
bands, then Linear 256->256, ReLU and L2 normalisation), but running it the
Resemblyzer way needs PyTorch, librosa, scipy and webrtcvad at run time. This
module runs the same network with numpy only:

- the weights are read from the installed ``resemblyzer`` package, which is
  installed with ``pip install --no-deps resemblyzer==0.1.4`` so that torch
  never arrives, and is found with ``importlib.util.find_spec`` so that it is
  never imported (importing it imports torch);
- the checkpoint is a pickle, and a pickle can run any code, so it is read by an
  unpickler that admits only the handful of globals a tensor checkpoint needs
  and turns torch storages into numpy arrays (both torch's legacy format, which
  ``pretrained.pt`` uses, and the zip format of torch >= 1.6 are read);
- the mel front end reimplements ``resemblyzer.audio.wav_to_mel_spectrogram``,
  that is ``librosa.feature.melspectrogram`` with librosa >= 0.10 defaults.

What matches Resemblyzer 0.1.4 (checked by tests/transcription/test_voice_encoder.py
against embeddings that Resemblyzer computed with torch 2.13, librosa 0.11):

- ``VoiceEncoder.embed_utterance(wav)`` equals ``normalize_volume(wav, -30,
  increase_only=True)`` followed by Resemblyzer's ``embed_utterance`` (same
  partial slicing, rate 1.3, min_coverage 0.75, zero padding, mean of the
  partial embeddings, L2 normalised), i.e. ``preprocess_wav`` of a 16 kHz wav
  WITHOUT its webrtcvad silence trimming: the caller passes voiced audio.
  Agreement is to float32 rounding, not bitwise (sums run in another order,
  the volume gain is computed in float64): on the fixtures 1 - cosine
  similarity < 1e-7 and no component differs by more than 3e-7.
- ``mel_spectrogram`` equals ``wav_to_mel_spectrogram`` of librosa >= 0.10,
  whose STFT pads the centred frames with zeros; librosa < 0.10 padded by
  reflection, which changes the first and last two frames only.
- ``mel_filterbank`` equals ``librosa.filters.mel(sr=16000, n_fft=400, n_mels=40)``
  (Slaney mel scale, htk=False, Slaney area normalisation).

Deliberate differences: resampling is not done here (the wav must already be
16 kHz mono float in [-1, 1]); a digitally silent wav is returned unscaled by
``normalize_volume`` where Resemblyzer would divide by zero and return NaNs.

Speed: the three LSTM layers are ~32 GFLOP per minute of audio (each frame
lies in about two 1.6 s partials), almost all of it float32 matrix products;
about 0.55 s of one core per minute of audio with OpenBLAS on one thread. On
a busy 2-core machine OpenBLAS's own threads made it 2-4 times slower, and on
an idle one two threads made it 1.7x faster: the transcription job holds them to
the worker's own thread count (``pipeline.cpu_threads``). To embed many
short speaker turns, ``embed_utterances`` batches their partials together.
"""

from __future__ import annotations

import importlib.util
import itertools
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from archive.transcription.torch_checkpoint import CheckpointFormatError, load_checkpoint

log = logging.getLogger(__name__)

SAMPLING_RATE = 16_000
N_FFT = 400  # 25 ms window
HOP_LENGTH = 160  # 10 ms step
N_MELS = 40
PARTIAL_FRAMES = 160  # 1.6 s per partial utterance
HIDDEN_SIZE = 256
EMBEDDING_SIZE = 256
NUM_LAYERS = 3
AUDIO_NORM_TARGET_DBFS = -30.0
INT16_MAX = 2**15 - 1  # Resemblyzer scales by 32767, not 32768, for its dBFS

# Partials are pushed through the LSTM in batches of at most this many: it
# bounds memory for hour-long recordings (a batch's input projections are
# 160 x batch x 1024 float32, 84 MB at 128) while keeping the matrix products
# large enough to be fast (the 77 partials of a minute go in one batch).
DEFAULT_BATCH_SIZE = 128


Float32Array = NDArray[np.float32]


# --------------------------------------------------------------------------
# The weights
# --------------------------------------------------------------------------


def pretrained_weights_path() -> Path:
    """Where the installed ``resemblyzer`` package keeps ``pretrained.pt``.

    Found through the import system's spec, not by importing the package:
    ``import resemblyzer`` imports torch, which the archive does not install.
    """
    spec = importlib.util.find_spec("resemblyzer")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "the resemblyzer package is not installed; "
            "install it without its dependencies: pip install --no-deps resemblyzer==0.1.4"
        )
    for location in spec.submodule_search_locations:
        candidate = Path(location) / "pretrained.pt"
        if candidate.is_file():
            return candidate
    raise FileNotFoundError("the resemblyzer package has no pretrained.pt")


@dataclass(frozen=True)
class _LstmLayer:
    """One LSTM layer, its gates rearranged for a single tanh per time step.

    PyTorch orders the gate rows i, f, g, o. Here they are ordered i, f, o, g
    and the rows of the three sigmoid gates are halved, because
    sigmoid(x) = (tanh(x / 2) + 1) / 2: one ``tanh`` over all four gates then
    serves, and halving is exact in binary floating point. The two biases
    are summed once.
    """

    w_input: Float32Array  # (input_size, 4 * hidden), transposed for x @ w
    w_hidden: Float32Array  # (hidden, 4 * hidden)
    bias: Float32Array  # (4 * hidden,)


def _lstm_layer(state: dict[str, NDArray[Any]], index: int) -> _LstmLayer:
    """Layer ``index`` of a ``torch.nn.LSTM`` state dict, rearranged."""
    hidden = HIDDEN_SIZE
    order = np.r_[0 : 2 * hidden, 3 * hidden : 4 * hidden, 2 * hidden : 3 * hidden]
    scale = np.ones(4 * hidden, dtype=np.float32)
    scale[: 3 * hidden] = 0.5

    def gates(name: str) -> Float32Array:
        return np.asarray(state[f"lstm.{name}_l{index}"], dtype=np.float32)[order]

    bias = (gates("bias_ih") + gates("bias_hh")) * scale
    return _LstmLayer(
        w_input=np.ascontiguousarray((gates("weight_ih") * scale[:, None]).T),
        w_hidden=np.ascontiguousarray((gates("weight_hh") * scale[:, None]).T),
        bias=bias.astype(np.float32),
    )


@dataclass(frozen=True)
class EncoderWeights:
    """The voice encoder's parameters as numpy arrays, ready to run."""

    layers: tuple[_LstmLayer, ...]
    linear_weight: Float32Array  # (hidden, embedding), transposed for h @ w
    linear_bias: Float32Array

    @classmethod
    def from_state_dict(cls, state: dict[str, NDArray[Any]]) -> EncoderWeights:
        """Build from Resemblyzer's ``model_state`` (its extra GE2E similarity
        parameters are training-only and ignored, as Resemblyzer does)."""
        expected = {
            "lstm.weight_ih_l0": (4 * HIDDEN_SIZE, N_MELS),
            "linear.weight": (EMBEDDING_SIZE, HIDDEN_SIZE),
        }
        for name, shape in expected.items():
            if name not in state or np.shape(state[name]) != shape:
                raise CheckpointFormatError(f"{name} is missing or not of shape {shape}")
        return cls(
            layers=tuple(_lstm_layer(state, i) for i in range(NUM_LAYERS)),
            linear_weight=np.ascontiguousarray(np.asarray(state["linear.weight"], np.float32).T),
            linear_bias=np.asarray(state["linear.bias"], dtype=np.float32),
        )

    @classmethod
    def load(cls, path: Path | None = None) -> EncoderWeights:
        """Load from ``path``, by default Resemblyzer's own ``pretrained.pt``."""
        path = Path(path) if path is not None else pretrained_weights_path()
        state = load_checkpoint(path, select=_model_state)
        log.debug("loaded voice encoder weights from %s", path)
        return cls.from_state_dict(state)


def _model_state(checkpoint: Any) -> Any:
    """The model's state dict inside a Resemblyzer checkpoint."""
    if isinstance(checkpoint, dict) and "model_state" in checkpoint:
        return checkpoint["model_state"]
    raise CheckpointFormatError("the checkpoint has no model_state")


@lru_cache(maxsize=1)
def _pretrained_weights() -> EncoderWeights:
    """The packaged weights, read once per process (about 50 ms)."""
    return EncoderWeights.load()


# --------------------------------------------------------------------------
# Audio front end
# --------------------------------------------------------------------------


def _hz_to_mel(hz: NDArray[np.float64]) -> NDArray[np.float64]:
    """Slaney's mel scale (librosa's default, htk=False): linear below 1 kHz,
    logarithmic above."""
    f_sp = 200.0 / 3
    min_log_hz, min_log_mel, logstep = 1000.0, 1000.0 / f_sp, np.log(6.4) / 27.0
    linear = hz / f_sp
    logarithmic = min_log_mel + np.log(np.maximum(hz, min_log_hz) / min_log_hz) / logstep
    return np.where(hz >= min_log_hz, logarithmic, linear)


def _mel_to_hz(mel: NDArray[np.float64]) -> NDArray[np.float64]:
    """Inverse of ``_hz_to_mel``."""
    f_sp = 200.0 / 3
    min_log_hz, min_log_mel, logstep = 1000.0, 1000.0 / f_sp, np.log(6.4) / 27.0
    linear = mel * f_sp
    logarithmic = min_log_hz * np.exp(logstep * (mel - min_log_mel))
    return np.where(mel >= min_log_mel, logarithmic, linear)


@lru_cache(maxsize=1)
def mel_filterbank() -> Float32Array:
    """``librosa.filters.mel(sr=16000, n_fft=400, n_mels=40)``: triangles
    between n_mels + 2 points equally spaced in Slaney mels from 0 Hz to
    Nyquist, each scaled to unit area (norm="slaney"). Shape (40, 201)."""
    fft_freqs = np.fft.rfftfreq(N_FFT, d=1.0 / SAMPLING_RATE)
    edges = _mel_to_hz(
        np.linspace(_hz_to_mel(np.array(0.0)), _hz_to_mel(np.array(SAMPLING_RATE / 2)), N_MELS + 2)
    )
    widths = np.diff(edges)
    ramps = edges[:, None] - fft_freqs[None, :]
    lower = -ramps[:-2] / widths[:-1, None]
    upper = ramps[2:] / widths[1:, None]
    # Rounded to float32 before the area normalisation, as librosa does (it
    # fills a float32 array), so that the result is bit-identical.
    triangles = np.maximum(0.0, np.minimum(lower, upper)).astype(np.float32)
    weights = (triangles * (2.0 / (edges[2:] - edges[:-2]))[:, None]).astype(np.float32)
    weights.flags.writeable = False
    return weights


@lru_cache(maxsize=1)
def _hann_window() -> Float32Array:
    """The periodic Hann window of ``scipy.signal.get_window("hann", 400)``,
    which librosa's STFT uses."""
    n = np.arange(N_FFT)
    window = (0.5 - 0.5 * np.cos(2.0 * np.pi * n / N_FFT)).astype(np.float32)
    window.flags.writeable = False
    return window


def mel_spectrogram(wav: Float32Array) -> Float32Array:
    """Power mel spectrogram, (1 + len(wav) // 160, 40) float32, not log.

    As librosa's ``melspectrogram(y, sr=16000, n_fft=400, hop_length=160,
    n_mels=40)``: frames centred on every 160th sample, the signal padded with
    n_fft / 2 zeros at each end (librosa >= 0.10), Hann window, |rfft|^2,
    then the mel filterbank.
    """
    padded = np.pad(np.asarray(wav, dtype=np.float32), N_FFT // 2)
    frames = np.lib.stride_tricks.sliding_window_view(padded, N_FFT)[::HOP_LENGTH]
    spectrum = np.fft.rfft(frames * _hann_window(), axis=1)
    power = spectrum.real**2 + spectrum.imag**2
    return (power.astype(np.float32) @ mel_filterbank().T).astype(np.float32)


def normalize_volume(
    wav: Float32Array, target_dbfs: float = AUDIO_NORM_TARGET_DBFS, increase_only: bool = True
) -> Float32Array:
    """Scale ``wav`` to ``target_dbfs`` RMS, as Resemblyzer's ``normalize_volume``.

    The encoder was trained on audio normalised this way, so quiet recordings
    are raised to -30 dBFS (and, with ``increase_only``, loud ones left alone).
    Unlike Resemblyzer, digital silence is returned unchanged instead of NaN.
    """
    wav = np.asarray(wav, dtype=np.float32)
    rms = float(np.sqrt(np.mean(np.square(wav, dtype=np.float64)))) * INT16_MAX
    if rms == 0.0:
        return wav
    change_db = target_dbfs - 20.0 * np.log10(rms / INT16_MAX)
    if change_db < 0 and increase_only:
        return wav
    return (wav * np.float32(10.0 ** (change_db / 20.0))).astype(np.float32)


# --------------------------------------------------------------------------
# The network
# --------------------------------------------------------------------------


def _run_lstm_layer(layer: _LstmLayer, inputs: Float32Array, keep_sequence: bool) -> Float32Array:
    """One LSTM layer over a time-major batch, (time, batch, features).

    The input projections of all time steps are one matrix product; only the
    recurrent product stays in the time loop, and every per-step array is a
    contiguous slice (hence time-major). Returns (time, batch, hidden) when
    ``keep_sequence`` (the next layer's input), else the last step's hidden
    state (batch, hidden).
    """
    steps, batch, _ = inputs.shape
    hidden = HIDDEN_SIZE
    projected = (inputs.reshape(steps * batch, -1) @ layer.w_input).reshape(steps, batch, -1)
    projected += layer.bias
    c = np.zeros((batch, hidden), dtype=np.float32)
    h = np.zeros((batch, hidden), dtype=np.float32)
    outputs = np.empty((steps, batch, hidden), dtype=np.float32) if keep_sequence else None
    gates = np.empty((batch, 4 * hidden), dtype=np.float32)
    scratch = np.empty((batch, hidden), dtype=np.float32)
    for t in range(steps):
        np.matmul(h, layer.w_hidden, out=gates)
        gates += projected[t]
        np.tanh(gates, out=gates)
        sigmoids = gates[:, : 3 * hidden]  # i, f, o: (tanh(x / 2) + 1) / 2
        sigmoids *= 0.5
        sigmoids += 0.5
        c *= gates[:, hidden : 2 * hidden]  # forget
        np.multiply(gates[:, :hidden], gates[:, 3 * hidden :], out=scratch)  # input * cell
        c += scratch
        h = outputs[t] if outputs is not None else h
        np.tanh(c, out=h)
        h *= gates[:, 2 * hidden : 3 * hidden]  # output
    return outputs if outputs is not None else h


def _l2_normalise(vectors: Float32Array) -> Float32Array:
    """Rows scaled to unit length (a zero row stays zero, not NaN)."""
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return (vectors / np.where(norms == 0, 1, norms)).astype(np.float32)


def _partial_starts(n_samples: int, rate: float, min_coverage: float) -> list[int]:
    """First mel frame of each 160-frame partial, as Resemblyzer's
    ``compute_partial_slices``: one every ``1 / rate`` seconds over the whole
    wav, the last one kept only if at least ``min_coverage`` of it is audio
    (and always at least one)."""
    if not 0 < min_coverage <= 1:
        raise ValueError("min_coverage must be in (0, 1]")
    n_frames = int(np.ceil((n_samples + 1) / HOP_LENGTH))
    frame_step = int(np.round((SAMPLING_RATE / rate) / HOP_LENGTH))
    if not 0 < frame_step <= PARTIAL_FRAMES:
        raise ValueError(
            f"rate must be between {SAMPLING_RATE / HOP_LENGTH / PARTIAL_FRAMES} "
            f"and {SAMPLING_RATE / HOP_LENGTH}"
        )
    starts = list(range(0, max(1, n_frames - PARTIAL_FRAMES + frame_step + 1), frame_step))
    coverage = (n_samples - starts[-1] * HOP_LENGTH) / (PARTIAL_FRAMES * HOP_LENGTH)
    if coverage < min_coverage and len(starts) > 1:
        starts.pop()
    return starts


class VoiceEncoder:
    """Resemblyzer's GE2E speaker encoder, run with numpy.

    Embeddings are 256 float32 values, non-negative and of unit length, so the
    cosine similarity of two is their dot product; same-speaker pairs score
    high (typically > 0.8), different speakers lower.
    """

    def __init__(self, weights: EncoderWeights | None = None, batch_size: int = DEFAULT_BATCH_SIZE):
        """``weights`` default to the pretrained ones of the installed resemblyzer
        package, loaded once per process and shared by all encoders."""
        self.weights = weights if weights is not None else _pretrained_weights()
        self.batch_size = max(1, int(batch_size))

    def embed_frames_batch(self, mels: Float32Array) -> Float32Array:
        """Embeddings of a batch of equally long mel spectrograms.

        ``mels`` is (batch, frames, 40) as made by ``mel_spectrogram``; returns
        (batch, 256): the last hidden state of the top LSTM layer, through the
        linear layer and ReLU, L2-normalised (Resemblyzer's ``forward``).
        """
        x = np.asarray(mels, dtype=np.float32)
        if x.ndim != 3 or x.shape[2] != N_MELS:
            raise ValueError(f"mels must be (batch, frames, {N_MELS}), not {x.shape}")
        if x.shape[0] == 0 or x.shape[1] == 0:
            raise ValueError("mels must hold at least one frame")
        x = np.ascontiguousarray(x.transpose(1, 0, 2))  # time-major
        layers = self.weights.layers
        for layer in layers[:-1]:
            x = _run_lstm_layer(layer, x, keep_sequence=True)
        last_hidden = _run_lstm_layer(layers[-1], x, keep_sequence=False)
        raw = np.maximum(last_hidden @ self.weights.linear_weight + self.weights.linear_bias, 0)
        return _l2_normalise(raw)

    def embed_partials(
        self, wav: Float32Array, rate: float = 1.3, min_coverage: float = 0.75
    ) -> Float32Array:
        """Embeddings of the 1.6 s partial utterances of ``wav``, (n, 256).

        The wav is volume-normalised, zero-padded to cover the last partial,
        and cut as Resemblyzer's ``embed_utterance`` does; useful for
        diarization, where each partial is a short window of one voice.
        """
        return self._embed_mels(_partial_mels(wav, rate, min_coverage))

    def embed_utterance(
        self, wav: Float32Array, rate: float = 1.3, min_coverage: float = 0.75
    ) -> Float32Array:
        """The speaker embedding of one utterance, (256,) float32.

        ``wav``: 16 kHz mono float in [-1, 1], already voiced (no silence
        trimming happens here). The mean of the partial embeddings, L2-normalised,
        as Resemblyzer's ``embed_utterance`` after ``normalize_volume``.
        """
        partials = self.embed_partials(wav, rate=rate, min_coverage=min_coverage)
        return _l2_normalise(partials.mean(axis=0))

    def embed_utterances(
        self, wavs: Sequence[Float32Array], rate: float = 1.3, min_coverage: float = 0.75
    ) -> Float32Array:
        """``embed_utterance`` of each wav, (len(wavs), 256), computed together.

        The partials of all the wavs share batches: a few-second speaker turn
        has one to three partials, and the LSTM is several times faster per
        partial in batches of dozens than alone.
        """
        if not wavs:
            return np.zeros((0, EMBEDDING_SIZE), dtype=np.float32)
        per_wav = [_partial_mels(wav, rate, min_coverage) for wav in wavs]
        partials = self._embed_mels(np.concatenate(per_wav))
        bounds = np.cumsum([0] + [len(m) for m in per_wav])
        means = [partials[start:stop].mean(axis=0) for start, stop in itertools.pairwise(bounds)]
        return _l2_normalise(np.stack(means))

    def _embed_mels(self, mels: Float32Array) -> Float32Array:
        """``embed_frames_batch`` in batches of at most ``batch_size``, which
        bounds the memory an hour of audio needs."""
        return np.concatenate(
            [
                self.embed_frames_batch(mels[chunk])
                for chunk in _even_chunks(len(mels), self.batch_size)
            ]
        )


def _partial_mels(wav: Float32Array, rate: float, min_coverage: float) -> Float32Array:
    """The (n, 160, 40) mel spectrograms of the partials of one utterance."""
    wav = _checked_wav(wav)
    starts = _partial_starts(len(wav), rate, min_coverage)
    needed = (starts[-1] + PARTIAL_FRAMES) * HOP_LENGTH
    if needed >= len(wav):
        wav = np.pad(wav, (0, needed - len(wav)))
    mel = mel_spectrogram(normalize_volume(wav))
    return mel[np.asarray(starts)[:, None] + np.arange(PARTIAL_FRAMES)]


def _checked_wav(wav: Float32Array) -> Float32Array:
    """``wav`` as 1-D float32, refusing what would give a meaningless embedding."""
    wav = np.asarray(wav, dtype=np.float32)
    if wav.ndim != 1:
        raise ValueError(f"wav must be mono (1-D), not of shape {wav.shape}")
    if wav.size == 0:
        raise ValueError("wav is empty")
    if not np.all(np.isfinite(wav)):
        raise ValueError("wav holds NaN or infinite samples")
    return wav


def _even_chunks(count: int, most: int) -> Iterator[slice]:
    """``range(count)`` as consecutive slices of at most ``most``, of near-equal
    sizes (77 partials go as 39 + 38, not 64 + 13: a tiny last batch is slow)."""
    if count <= 0:
        return
    size = -(-count // -(-count // most))
    for start in range(0, count, size):
        yield slice(start, min(start + size, count))
