"""The numpy voice encoder against Resemblyzer itself, and its safe checkpoint reader.

The reference numbers in tests/fixtures/voice_encoder_reference.npz were made by
bench/make_voice_encoder_reference.py with Resemblyzer 0.1.4 on torch; see its
docstring for what each key holds. The weights come from the resemblyzer
package installed with ``pip install --no-deps resemblyzer==0.1.4``.
"""

from __future__ import annotations

import io
import pickle
import sys
import zipfile
from collections.abc import Callable
from functools import cache
from pathlib import Path

import numpy as np
import pytest

from archive.transcription.torch_checkpoint import UnsafeCheckpointError, load_checkpoint
from archive.transcription.voice_encoder import (
    EncoderWeights,
    VoiceEncoder,
    mel_filterbank,
    mel_spectrogram,
    normalize_volume,
)

# Whole utterances through the encoder: 78 s on the loaded machine.
pytestmark = pytest.mark.slow

REFERENCE = Path(__file__).resolve().parent.parent / "fixtures" / "voice_encoder_reference.npz"
UTTERANCES = ["stereo_left", "stereo_right", "jfk", "jfk_quiet"]


@cache
def reference() -> dict[str, np.ndarray]:
    with np.load(REFERENCE) as data:
        return {key: data[key] for key in data.files}


@cache
def encoder() -> VoiceEncoder:
    return VoiceEncoder()


@cache
def embedding(name: str) -> np.ndarray:
    return encoder().embed_utterance(wav(name))


def wav(name: str) -> np.ndarray:
    """The exact float32 samples that Resemblyzer was given (before its volume
    normalisation, which the numpy encoder does itself)."""
    ref = reference()
    if name == "jfk_quiet":  # derived as in the reference script, not stored
        pcm = np.round(ref["wav_jfk"] / int(ref["quiet_divisor"])).astype(np.int16)
    else:
        pcm = ref[f"wav_{name}"]
    return pcm.astype(np.float32) / np.float32(32768)


def voiced(samples: np.ndarray, threshold: float = 0.05) -> np.ndarray:
    """From the first to the last 10 ms frame louder than ``threshold`` of the
    loudest: the encoder's callers pass voiced audio, and the right channel of
    the stereo fixture falls silent after 2.6 s."""
    frames = samples[: len(samples) // 160 * 160].reshape(-1, 160)
    rms = np.sqrt(np.mean(frames**2, axis=1))
    loud = np.flatnonzero(rms > threshold * rms.max())
    return samples[loud[0] * 160 : (loud[-1] + 1) * 160]


def test_mel_filterbank_matches_librosa() -> None:
    np.testing.assert_allclose(mel_filterbank(), reference()["mel_filterbank"], rtol=1e-6, atol=0)


def test_mel_spectrogram_matches_resemblyzer() -> None:
    ours = mel_spectrogram(normalize_volume(wav("jfk")))
    theirs = reference()["mel_jfk_head"]
    assert ours.shape == (1 + len(wav("jfk")) // 160, 40)
    assert np.max(np.abs(ours[: len(theirs)] - theirs)) < 1e-5 * theirs.max()


@pytest.mark.parametrize("name", UTTERANCES)
def test_volume_normalisation_matches_resemblyzer(name: str) -> None:
    samples = wav(name)
    peak = int(np.argmax(np.abs(samples)))
    gain = normalize_volume(samples)[peak] / samples[peak]
    assert gain == pytest.approx(float(reference()[f"gain_{name}"]), rel=1e-5)


@pytest.mark.parametrize("name", UTTERANCES)
def test_utterance_embedding_matches_resemblyzer(name: str) -> None:
    ours = embedding(name)
    theirs = reference()[f"embed_{name}"]
    assert ours.shape == (256,) and ours.dtype == np.float32
    assert np.linalg.norm(ours) == pytest.approx(1.0, abs=1e-5)
    assert float(ours @ theirs) > 0.999


def test_partial_embeddings_match_resemblyzer() -> None:
    ours = encoder().embed_partials(wav("jfk"))
    theirs = reference()["partials_jfk"]
    assert ours.shape == theirs.shape
    assert np.min(np.sum(ours * theirs, axis=1)) > 0.999


def test_batch_size_does_not_change_the_embedding() -> None:
    small_batches = VoiceEncoder(batch_size=3).embed_utterance(wav("jfk"))
    assert float(small_batches @ embedding("jfk")) > 0.99999


def test_utterances_embedded_together_equal_each_alone() -> None:
    names = ["stereo_left", "stereo_right", "jfk"]
    together = VoiceEncoder(batch_size=8).embed_utterances([wav(n) for n in names])
    assert together.shape == (3, 256)
    for name, together_one in zip(names, together, strict=True):
        assert float(together_one @ reference()[f"embed_{name}"]) > 0.999
        assert float(together_one @ embedding(name)) > 0.99999
    assert VoiceEncoder().embed_utterances([]).shape == (0, 256)


def test_two_voices_are_less_alike_than_each_voice_with_itself() -> None:
    def whole_and_halves(name: str) -> list[np.ndarray]:
        samples = voiced(wav(name))
        half = len(samples) // 2
        return [encoder().embed_utterance(s) for s in (samples, samples[:half], samples[half:])]

    left, left_a, left_b = whole_and_halves("stereo_left")
    right, right_a, right_b = whole_and_halves("stereo_right")
    same_voice = min(float(left_a @ left_b), float(right_a @ right_b))
    other_voice = max(float(a @ b) for a in (left_a, left_b) for b in (right_a, right_b))
    assert float(left @ right) < same_voice - 0.05
    assert other_voice < same_voice - 0.05


def test_embed_frames_batch_is_unit_length_and_non_negative() -> None:
    mels = mel_spectrogram(wav("jfk"))[None, :160]
    embeds = encoder().embed_frames_batch(np.concatenate([mels, mels]))
    assert embeds.shape == (2, 256)
    assert np.all(embeds >= 0)
    np.testing.assert_allclose(np.linalg.norm(embeds, axis=1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(embeds[0], embeds[1])


@pytest.mark.parametrize(
    "bad", [np.zeros((2, 16000), np.float32), np.zeros(0, np.float32), np.full(10, np.nan)]
)
def test_embed_utterance_refuses_what_is_not_a_mono_wav(bad: np.ndarray) -> None:
    with pytest.raises(ValueError):
        encoder().embed_utterance(bad)


def test_silence_is_not_scaled_to_nan() -> None:
    assert np.all(normalize_volume(np.zeros(1600, np.float32)) == 0)


def test_pretrained_weights_load_without_torch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)  # any `import torch` now fails
    had_resemblyzer = "resemblyzer" in sys.modules
    weights = EncoderWeights.load()
    assert len(weights.layers) == 3
    assert weights.layers[0].w_input.shape == (40, 1024)
    assert weights.linear_weight.shape == (256, 256)
    assert had_resemblyzer or "resemblyzer" not in sys.modules


def test_zip_format_checkpoint_is_read(tmp_path: Path) -> None:
    ref = reference()
    path = tmp_path / "tiny.pt"
    path.write_bytes(ref["zip_checkpoint"].tobytes())
    checkpoint = load_checkpoint(path)
    assert checkpoint["step"] == 7
    state = checkpoint["model_state"]
    for key in ("contiguous", "offset_view", "transposed", "doubles", "longs"):
        expected = ref[f"zip_expected_{key}"]
        assert state[key].dtype == expected.dtype
        np.testing.assert_array_equal(state[key], expected)


def malicious_pickle(module: str, name: str, argument: str) -> bytes:
    """A protocol-0 pickle that calls ``module.name(argument)`` when loaded."""
    return f"c{module}\n{name}\n(S'{argument}'\ntR.".encode()


def as_legacy_checkpoint(payload: bytes) -> bytes:
    """``payload`` as the object tree of a legacy-format torch checkpoint."""
    sys_info = {"protocol_version": 1001, "little_endian": True, "type_sizes": {}}
    header = b"".join(pickle.dumps(x, protocol=2) for x in (0x1950A86A20F9469CFC6C, 1001, sys_info))
    return header + payload + pickle.dumps([], protocol=2)


def as_zip_checkpoint(payload: bytes) -> bytes:
    """``payload`` as the data.pkl of a zip-format torch checkpoint."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("tiny/data.pkl", payload)
        archive.writestr("tiny/byteorder", "little")
    return buffer.getvalue()


@pytest.mark.parametrize("wrap", [as_legacy_checkpoint, as_zip_checkpoint, lambda p: p])
@pytest.mark.parametrize(
    ("module", "name", "argument"),
    [
        ("os", "system", "touch {marker}"),
        ("builtins", "eval", "open(r'{marker}', 'w')"),
        ("torch", "load", "{marker}"),
    ],
)
def test_loader_refuses_a_pickle_asking_for_a_disallowed_global(
    tmp_path: Path, wrap: Callable[[bytes], bytes], module: str, name: str, argument: str
) -> None:
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pt"
    path.write_bytes(wrap(malicious_pickle(module, name, argument.format(marker=marker))))
    with pytest.raises(UnsafeCheckpointError, match=rf"global {module}\.{name}\b"):
        load_checkpoint(path)
    assert not marker.exists()


def test_refusal_is_an_unpickling_error() -> None:
    # Callers that already handle a bad pickle handle this one too.
    assert issubclass(UnsafeCheckpointError, pickle.UnpicklingError)
