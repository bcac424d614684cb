"""Files sealed at rest: AES-256-GCM in chunks, so a large file is sealed and opened
streaming, never whole in memory.

A ready bag is kept for its reader until it expires; built for a custodian it holds
what was said as spoken, so the disk must not show it. Layout::

    MAGIC (8 bytes) | file nonce (8 bytes) | chunks: length (4 bytes, big end) + ciphertext

Each chunk's nonce is the file nonce and its number; its associated data says
whether it is the last, so a file cut short, reordered or spliced fails to open.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

MAGIC = b"ARCSEAL1"
CHUNK = 1024 * 1024
_HEADER = len(MAGIC) + 8


class SealedFileError(ValueError):
    """The file is not sealed with this key, or was changed or cut short."""


def _nonce(file_nonce: bytes, number: int) -> bytes:
    return file_nonce + struct.pack(">I", number)


def _aad(number: int, last: bool) -> bytes:
    return struct.pack(">I?", number, last)


def seal(source: Path, target: Path, key: bytes) -> Path:
    """Write ``source`` sealed to ``target`` (through a ``.part`` file, replaced
    into place once complete)."""
    aes, file_nonce = AESGCM(key), os.urandom(8)
    partial = target.with_name(target.name + ".part")
    try:
        with open(source, "rb") as plain, open(partial, "wb") as out:
            out.write(MAGIC + file_nonce)
            number, chunk = 0, plain.read(CHUNK)
            while True:
                following = plain.read(CHUNK)
                last = not following
                sealed = aes.encrypt(_nonce(file_nonce, number), chunk, _aad(number, last))
                out.write(struct.pack(">I", len(sealed)) + sealed)
                if last:
                    break
                number, chunk = number + 1, following
            out.flush()
            os.fsync(out.fileno())
        os.replace(partial, target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return target


def plain_size(path: Path) -> int:
    """The size of what ``path`` opens to, from its size alone (every chunk but the
    last is ``CHUNK`` long)."""
    size = path.stat().st_size - _HEADER
    whole = CHUNK + 4 + 16
    full, rest = divmod(size, whole)
    if rest == 0:  # the last chunk is a full one
        return full * CHUNK
    return full * CHUNK + rest - 4 - 16


def open_sealed(path: Path, key: bytes) -> Iterator[bytes]:
    """The plain bytes of a sealed file, chunk by chunk. The file is opened now (a
    file removed after this call is still read whole) and closed at the end;
    ``SealedFileError`` now for a file that is not sealed, later for one changed."""
    handle = open(path, "rb")  # noqa: SIM115 (closed by the generator)
    try:
        size = os.fstat(handle.fileno()).st_size
        header = handle.read(_HEADER)
        if len(header) != _HEADER or not header.startswith(MAGIC):
            raise SealedFileError("not a sealed file")
    except BaseException:
        handle.close()
        raise
    return _chunks(handle, header[len(MAGIC) :], size, AESGCM(key))


def _chunks(handle, file_nonce: bytes, size: int, aes: AESGCM) -> Iterator[bytes]:
    with handle:
        number, last = 0, False
        while not last:
            length = handle.read(4)
            if len(length) != 4:
                raise SealedFileError("the sealed file was cut short")
            sealed = handle.read(struct.unpack(">I", length)[0])
            last = handle.tell() >= size
            try:
                yield aes.decrypt(_nonce(file_nonce, number), sealed, _aad(number, last))
            except InvalidTag:
                raise SealedFileError("the sealed file was changed") from None
            number += 1
