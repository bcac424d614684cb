"""Files sealed at rest (ready bags): they open to what was sealed, and to nothing
else once changed, cut short or opened with another key."""

from __future__ import annotations

import os

import pytest

from archive.exports import sealed


@pytest.mark.parametrize("size", [0, 5, sealed.CHUNK, sealed.CHUNK + 7, 3 * sealed.CHUNK])
def test_a_sealed_file_opens_to_what_was_sealed(tmp_path, size):
    key, data = os.urandom(32), os.urandom(size)
    (tmp_path / "plain").write_bytes(data)
    target = sealed.seal(tmp_path / "plain", tmp_path / "sealed", key)
    assert b"".join(sealed.open_sealed(target, key)) == data
    assert sealed.plain_size(target) == size
    assert not (tmp_path / "sealed.part").exists()


def test_the_disk_does_not_show_what_was_sealed(tmp_path):
    (tmp_path / "plain").write_bytes(b"Gulnara Bekova said so. " * 1000)
    target = sealed.seal(tmp_path / "plain", tmp_path / "sealed", os.urandom(32))
    assert b"Gulnara" not in target.read_bytes()


@pytest.mark.parametrize("damage", ["flip", "cut", "drop_last", "other_key"])
def test_a_changed_or_cut_file_does_not_open(tmp_path, damage):
    key = os.urandom(32)
    (tmp_path / "plain").write_bytes(os.urandom(2 * sealed.CHUNK + 100))
    target = sealed.seal(tmp_path / "plain", tmp_path / "sealed", key)
    raw = bytearray(target.read_bytes())
    if damage == "flip":
        raw[len(raw) // 2] ^= 1
    elif damage == "cut":
        raw = raw[:-10]
    elif damage == "drop_last":  # whole chunks only: the one before is not marked last
        raw = raw[: len(raw) - (100 + 4 + 16)]
    else:
        key = os.urandom(32)
    target.write_bytes(bytes(raw))
    with pytest.raises(sealed.SealedFileError):
        b"".join(sealed.open_sealed(target, key))


def test_a_plain_file_is_refused_at_once(tmp_path):
    (tmp_path / "plain.zip").write_bytes(b"PK\x03\x04 not sealed")
    with pytest.raises(sealed.SealedFileError):
        sealed.open_sealed(tmp_path / "plain.zip", os.urandom(32))
