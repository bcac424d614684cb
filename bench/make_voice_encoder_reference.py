"""Make tests/fixtures/voice_encoder_reference.npz from Resemblyzer itself.

Run once, by hand, in a THROWAWAY virtual environment that has PyTorch; the
archive never needs this script, torch, librosa or webrtcvad::

    python3.11 -m venv /tmp/refvenv
    /tmp/refvenv/bin/pip install torch==2.13.0
    /tmp/refvenv/bin/pip install resemblyzer==0.1.4 soundfile "setuptools<81"
    /tmp/refvenv/bin/python bench/make_voice_encoder_reference.py

(``setuptools<81`` because webrtcvad, which resemblyzer imports, still imports
``pkg_resources``.)  The fixture was made with torch 2.13.0+cpu, librosa 0.11.0,
numpy 2.4.6, scipy 1.17.1.

Why a fixture: ``archive.transcription.voice_encoder`` reimplements the encoder
in numpy, and the only way to show it is the same model is to compare against
the original on the same samples. The inputs are stored as int16 and the
reference is computed on exactly ``int16 / 32768`` float32 samples, so the test
feeds the numpy encoder bit-identical audio (no float16/int16 rounding in the
comparison).

What is compared: Resemblyzer's ``preprocess_wav`` minus its webrtcvad silence
trimming, i.e. ``normalize_volume(wav, -30, increase_only=True)`` and then
``VoiceEncoder("cpu").embed_utterance(wav)`` with its defaults (partials of 160
frames, rate 1.3, min_coverage 0.75). The numpy encoder's ``embed_utterance``
does the volume normalisation itself, so the test passes the raw samples.

Keys of the npz:

- ``wav_<name>`` int16 input samples at 16 kHz, ``<name>`` in ``stereo_left``,
  ``stereo_right`` (the two channels of stereo_diarization.wav) and ``jfk``
  (jfk.flac: 44.1 kHz stereo 24-bit, loaded by librosa at 16 kHz mono, then
  rounded to int16).
- ``gain_<name>``, ``embed_<name>`` also for ``jfk_quiet``: ``wav_jfk``
  rounded after division by ``quiet_divisor`` (20), not stored.
- ``gain_<name>`` float64: the factor Resemblyzer's ``normalize_volume`` applied.
- ``embed_<name>`` float32 (256,): Resemblyzer's utterance embedding.
- ``partials_jfk`` float32 (n, 256): Resemblyzer's partial embeddings for jfk.
- ``mel_jfk_head`` float32 (300, 40): Resemblyzer's mel spectrogram (first
  300 frames) of the volume-normalised jfk samples.
- ``mel_filterbank`` float32 (40, 201): ``librosa.filters.mel`` with the
  parameters Resemblyzer uses.
- ``zip_checkpoint`` uint8: the bytes of a tiny checkpoint written by
  ``torch.save`` in the (current) zip format, holding views with storage
  offsets, strides and shared storage, and ``zip_expected_<key>`` the arrays it
  holds; it tests the zip-format branch of the loader (pretrained.pt itself is
  the legacy format).
"""

from __future__ import annotations

import io
from collections import OrderedDict
from pathlib import Path

import librosa
import numpy as np
import soundfile as sf
import torch
from resemblyzer import VoiceEncoder, audio

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "tests" / "fixtures"
OUT = REPO / "tests" / "fixtures" / "voice_encoder_reference.npz"
SCALE = 32768.0
QUIET_DIVISOR = 20


def to_int16(wav: np.ndarray) -> np.ndarray:
    """Round float samples to int16, the stored (and then exact) form."""
    return np.clip(np.round(wav * SCALE), -32768, 32767).astype(np.int16)


def load_inputs() -> dict[str, np.ndarray]:
    """The int16 16 kHz inputs: both stereo channels and jfk resampled."""
    stereo, sr = sf.read(FIXTURES / "stereo_diarization.wav", dtype="int16")
    assert sr == 16000 and stereo.ndim == 2
    jfk, _ = librosa.load(FIXTURES / "jfk.flac", sr=16000, mono=True)
    return {
        "stereo_left": np.ascontiguousarray(stereo[:, 0]),
        "stereo_right": np.ascontiguousarray(stereo[:, 1]),
        "jfk": to_int16(jfk),
    }


def quiet(pcm: np.ndarray) -> np.ndarray:
    """jfk made 26 dB quieter, so that the volume normalisation has work to do.

    The fixture's recordings are all louder than -30 dBFS, where Resemblyzer
    leaves the volume alone; the test derives this input from ``wav_jfk`` with
    the same expression instead of storing it.
    """
    return np.round(pcm / QUIET_DIVISOR).astype(np.int16)


def zip_checkpoint() -> tuple[bytes, dict[str, np.ndarray]]:
    """A tiny zip-format checkpoint with awkward tensor layouts, and its arrays."""
    base = torch.arange(60, dtype=torch.float32).reshape(6, 10) / 7
    state = OrderedDict(
        contiguous=base,
        offset_view=base[2:5],  # shares base's storage, storage_offset 20
        transposed=base.t(),  # stride (1, 10)
        doubles=torch.linspace(-1, 1, 5, dtype=torch.float64),
        longs=torch.tensor([3, -2, 1 << 40]),
    )
    buffer = io.BytesIO()
    torch.save({"model_state": state, "step": 7}, buffer)
    expected = {f"zip_expected_{k}": v.numpy().copy() for k, v in state.items()}
    return buffer.getvalue(), expected


def main() -> None:
    encoder = VoiceEncoder("cpu")
    result: dict[str, np.ndarray] = {}
    inputs = load_inputs()
    inputs["jfk_quiet"] = quiet(inputs["jfk"])
    for name, pcm in inputs.items():
        wav = pcm.astype(np.float32) / np.float32(SCALE)
        normed = audio.normalize_volume(wav, audio.audio_norm_target_dBFS, increase_only=True)
        peak = int(np.argmax(np.abs(wav)))
        if name != "jfk_quiet":
            result[f"wav_{name}"] = pcm
        result[f"gain_{name}"] = np.float64(normed[peak]) / np.float64(wav[peak])
        embed, partials, _ = encoder.embed_utterance(normed, return_partials=True)
        result[f"embed_{name}"] = embed.astype(np.float32)
        if name == "jfk":
            result["partials_jfk"] = partials.astype(np.float32)
            result["mel_jfk_head"] = audio.wav_to_mel_spectrogram(normed)[:300]
        print(
            f"{name}: {len(pcm) / 16000:.2f} s, gain {result[f'gain_{name}']:.4f}, "
            f"{len(partials)} partials"
        )
    result["quiet_divisor"] = np.int64(QUIET_DIVISOR)
    result["mel_filterbank"] = librosa.filters.mel(sr=16000, n_fft=400, n_mels=40)
    blob, expected = zip_checkpoint()
    result["zip_checkpoint"] = np.frombuffer(blob, dtype=np.uint8)
    result.update(expected)
    np.savez_compressed(OUT, **result)
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
