"""Reading a torch checkpoint without torch (for ``voice_encoder``'s pretrained weights).

A checkpoint is a pickle, and a pickle can run any code, so it is read by an
unpickler that admits only the handful of globals a tensor checkpoint needs and
turns torch storages into numpy arrays: torch's legacy format (which Resemblyzer's
``pretrained.pt`` uses) and the zip format of torch >= 1.6.
"""

from __future__ import annotations

import collections
import pickle
import struct
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np
from numpy.typing import NDArray

_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
_LEGACY_PROTOCOL = 1001

Float32Array = NDArray[np.float32]


class UnsafeCheckpointError(pickle.UnpicklingError):
    """A checkpoint asked for something a plain tensor checkpoint never needs.

    Raised before the global is resolved, so nothing it names ever runs.
    """


class CheckpointFormatError(ValueError):
    """The file is not a torch checkpoint this reader understands."""


@dataclass(frozen=True)
class _StorageRef:
    """A torch storage named by a checkpoint; its bytes are read afterwards."""

    key: str
    dtype: np.dtype
    numel: int


@dataclass(frozen=True)
class _TensorRef:
    """A tensor as a view (offset, shape, strides in elements) into a storage."""

    storage: _StorageRef
    offset: int
    shape: tuple[int, ...]
    stride: tuple[int, ...]


@dataclass(frozen=True)
class _StorageType:
    """Stands in for ``torch.FloatStorage`` and friends inside the pickle."""

    name: str
    dtype: np.dtype


# The numpy dtype of each torch storage class a checkpoint may name. bfloat16
# and the quantised types have no numpy equivalent and are refused.
_STORAGE_DTYPES: dict[str, np.dtype] = {
    "FloatStorage": np.dtype("<f4"),
    "DoubleStorage": np.dtype("<f8"),
    "HalfStorage": np.dtype("<f2"),
    "LongStorage": np.dtype("<i8"),
    "IntStorage": np.dtype("<i4"),
    "ShortStorage": np.dtype("<i2"),
    "CharStorage": np.dtype("i1"),
    "ByteStorage": np.dtype("u1"),
    "BoolStorage": np.dtype("?"),
}


def _rebuild_tensor(
    storage: _StorageRef,
    storage_offset: int,
    size: tuple[int, ...],
    stride: tuple[int, ...],
    *_ignored: Any,
) -> _TensorRef:
    """Stand-in for ``torch._utils._rebuild_tensor_v2``.

    The extra arguments (requires_grad, backward hooks, metadata) mean nothing
    for inference and are dropped.
    """
    if not isinstance(storage, _StorageRef):
        raise CheckpointFormatError("a tensor in the checkpoint is not backed by a storage")
    return _TensorRef(storage, int(storage_offset), tuple(size), tuple(stride))


def _rebuild_parameter(data: _TensorRef, *_ignored: Any) -> _TensorRef:
    """Stand-in for ``torch._utils._rebuild_parameter``: a Parameter is its data."""
    return data


def _allowed_globals() -> dict[tuple[str, str], Any]:
    """Every global a tensor checkpoint may name, and what it becomes here."""
    allowed: dict[tuple[str, str], Any] = {
        ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
        ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
        ("collections", "OrderedDict"): collections.OrderedDict,
    }
    for name, dtype in _STORAGE_DTYPES.items():
        allowed[("torch", name)] = _StorageType(name, dtype)
    return allowed


class _RestrictedUnpickler(pickle.Unpickler):
    """Unpickles a torch checkpoint's object tree with no code of its choosing.

    ``find_class`` answers only from an allow-list of inert stand-ins;
    ``persistent_load`` turns torch's storage references into ``_StorageRef``
    and remembers each, so that the storages can be read (or skipped) later.
    """

    _ALLOWED = _allowed_globals()

    def __init__(self, stream: IO[bytes]) -> None:
        super().__init__(stream)
        self.storages: dict[str, _StorageRef] = {}

    def find_class(self, module: str, name: str) -> Any:
        try:
            return self._ALLOWED[(module, name)]
        except KeyError:
            raise UnsafeCheckpointError(
                f"refusing to load checkpoint: it asks for the global {module}.{name}, "
                "which a tensor checkpoint never needs"
            ) from None

    def persistent_load(self, pid: Any) -> _StorageRef:
        # Legacy: ('storage', type, key, location, numel, view_metadata);
        # zip: ('storage', type, key, location, numel).
        if not (isinstance(pid, tuple) and len(pid) in (5, 6) and pid[0] == "storage"):
            raise UnsafeCheckpointError(f"refusing unknown persistent id {pid!r:.80}")
        storage_type, key, numel = pid[1], str(pid[2]), int(pid[4])
        if not isinstance(storage_type, _StorageType):
            raise CheckpointFormatError(f"unsupported storage type {storage_type!r:.80}")
        if len(pid) == 6 and pid[5] is not None:
            raise CheckpointFormatError("storage views (torch < 0.4 checkpoints) are not supported")
        if numel < 0:
            raise CheckpointFormatError("negative storage size")
        ref = self.storages.setdefault(key, _StorageRef(key, storage_type.dtype, numel))
        if ref.dtype != storage_type.dtype:
            raise CheckpointFormatError(f"storage {key} is named with two types")
        return ref


def _unpickle(data: IO[bytes]) -> tuple[Any, dict[str, _StorageRef]]:
    """One pickle from ``data`` through the restricted unpickler, and its storages."""
    unpickler = _RestrictedUnpickler(data)
    return unpickler.load(), unpickler.storages


def _tensor_to_array(tensor: _TensorRef, storages: dict[str, NDArray[Any]]) -> NDArray[Any]:
    """A contiguous native-endian copy of ``tensor``'s view of its storage."""
    storage = storages[tensor.storage.key]
    shape, stride, offset = tensor.shape, tensor.stride, tensor.offset
    if len(shape) != len(stride) or min(shape + stride + (offset,), default=0) < 0:
        raise CheckpointFormatError("bad tensor shape, stride or offset")
    if 0 in shape:
        return np.zeros(shape, dtype=storage.dtype.newbyteorder("="))
    last = offset + sum((n - 1) * s for n, s in zip(shape, stride, strict=True))
    if last >= storage.size:
        raise CheckpointFormatError("a tensor reaches outside its storage")
    view = np.lib.stride_tricks.as_strided(
        storage[offset:],
        shape=shape,
        strides=tuple(s * storage.itemsize for s in stride),
        writeable=False,
    )
    return np.array(view, dtype=storage.dtype.newbyteorder("="), copy=True)


def _tensors(tree: Any) -> Iterator[_TensorRef]:
    """Every tensor in a tree of dicts, lists and tuples."""
    if isinstance(tree, _TensorRef):
        yield tree
    elif isinstance(tree, dict):
        for value in tree.values():
            yield from _tensors(value)
    elif isinstance(tree, (list, tuple)):
        for value in tree:
            yield from _tensors(value)


def _materialise(tree: Any, storages: dict[str, NDArray[Any]]) -> Any:
    """``tree`` with every tensor replaced by a numpy array."""
    if isinstance(tree, _TensorRef):
        return _tensor_to_array(tree, storages)
    if isinstance(tree, dict):
        return type(tree)((key, _materialise(value, storages)) for key, value in tree.items())
    if isinstance(tree, list):
        return [_materialise(value, storages) for value in tree]
    if isinstance(tree, tuple):
        return tuple(_materialise(value, storages) for value in tree)
    return tree


def _storage_array(raw: bytes, ref: _StorageRef) -> NDArray[Any]:
    """The elements of one storage, checked against the size the pickle gave."""
    if len(raw) != ref.numel * ref.dtype.itemsize:
        raise CheckpointFormatError(f"storage {ref.key} is truncated")
    return np.frombuffer(raw, dtype=ref.dtype)


def _read_legacy(stream: IO[bytes], select: Callable[[Any], Any]) -> Any:
    """Read torch's pre-1.6 format: five pickles, then the raw storages.

    Layout: magic number, protocol version, system info, the object tree, the
    list of storage keys; then for each key in that order an int64 element
    count and the elements, little-endian. Storages that the selected subtree
    does not use (in pretrained.pt the optimiser state, two thirds of the
    file) are skipped, not read.
    """
    if _unpickle(stream)[0] != _LEGACY_MAGIC:
        raise CheckpointFormatError("not a torch checkpoint (bad magic number)")
    if _unpickle(stream)[0] != _LEGACY_PROTOCOL:
        raise CheckpointFormatError("unsupported torch legacy protocol version")
    sys_info = _unpickle(stream)[0]
    if not (isinstance(sys_info, dict) and sys_info.get("little_endian")):
        raise CheckpointFormatError("big-endian torch checkpoints are not supported")
    tree, refs = _unpickle(stream)
    selected = select(tree)
    wanted = {t.storage.key for t in _tensors(selected)}
    keys = _unpickle(stream)[0]
    if not (isinstance(keys, list) and set(keys) == set(refs)):
        raise CheckpointFormatError("the storage key list does not match the tensors")
    storages: dict[str, NDArray[Any]] = {}
    for key in keys:
        header = stream.read(8)
        if len(header) != 8:
            raise CheckpointFormatError("checkpoint is truncated")
        (numel,) = struct.unpack("<q", header)
        ref = refs[key]
        if numel != ref.numel:
            raise CheckpointFormatError(f"storage {key} has {numel} elements, not {ref.numel}")
        if key in wanted:
            storages[key] = _storage_array(stream.read(numel * ref.dtype.itemsize), ref)
        else:
            stream.seek(numel * ref.dtype.itemsize, 1)
    return _materialise(selected, storages)


def _read_zip(archive: zipfile.ZipFile, select: Callable[[Any], Any]) -> Any:
    """Read torch's zip format (torch >= 1.6): ``<name>/data.pkl`` plus one
    member per storage, ``<name>/data/<key>``."""
    pickles = [n for n in archive.namelist() if n.endswith("/data.pkl") and n.count("/") == 1]
    if len(pickles) != 1:
        raise CheckpointFormatError("a zip checkpoint must hold exactly one <name>/data.pkl")
    prefix = pickles[0][: -len("data.pkl")]
    byteorder = f"{prefix}byteorder"
    if byteorder in archive.namelist() and archive.read(byteorder).strip() != b"little":
        raise CheckpointFormatError("big-endian torch checkpoints are not supported")
    with archive.open(pickles[0]) as data:
        tree, refs = _unpickle(data)
    selected = select(tree)
    storages: dict[str, NDArray[Any]] = {}
    for key in {t.storage.key for t in _tensors(selected)}:
        try:
            raw = archive.read(f"{prefix}data/{key}")
        except KeyError:
            raise CheckpointFormatError(f"storage {key} is missing") from None
        storages[key] = _storage_array(raw[: refs[key].numel * refs[key].dtype.itemsize], refs[key])
    return _materialise(selected, storages)


def load_checkpoint(path: Path, select: Callable[[Any], Any] = lambda tree: tree) -> Any:
    """Load a torch checkpoint as numpy arrays, without torch and without
    letting the pickle run code.

    ``select`` picks the part of the object tree wanted (say
    ``lambda c: c["model_state"]``), so that the storages of the rest are not
    read. Raises ``UnsafeCheckpointError`` for a pickle that names any global
    outside the allow-list, ``CheckpointFormatError`` for anything malformed.
    """
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            return _read_zip(archive, select)
    with open(path, "rb") as stream:
        return _read_legacy(stream, select)
