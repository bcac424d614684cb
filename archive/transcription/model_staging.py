"""Installing a model folder whole: a staging folder beside the final one, its files
copied with their hashes, a manifest, fsync, and one ``rename`` (see ``model_store``).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

from archive.recordings.storage import fsync_dir
from archive.transcription.models import (
    _CHUNK,
    MANIFEST_NAME,
    ModelError,
    installed_folder,
)

#: English-only Whisper vocabularies have 51,864 tokens, multilingual ones 51,865
#: (51,866 for large-v3); CTranslate2 decides ``is_multilingual`` the same way.
_MULTILINGUAL_VOCABULARY = 51_865


def _models_root(cache_dir: Path) -> Path:
    root = installed_folder(Path(cache_dir))
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ModelError(f"Cannot create the model folder {root}: {exc}") from exc
    return root


def _clean_staging(root: Path, name: str) -> None:
    """Remove what an interrupted download or import of ``name`` left (under its lock)."""
    for leftover in root.glob(f".staging-{name}+*"):
        shutil.rmtree(leftover, ignore_errors=True)


def _copy_hashing(source: Path, dest: Path) -> dict:
    digest = hashlib.sha256()
    size = 0
    with open(source, "rb") as src, open(dest, "xb") as out:
        while chunk := src.read(_CHUNK):
            out.write(chunk)
            digest.update(chunk)
            size += len(chunk)
        out.flush()
        os.fsync(out.fileno())
    return {"size": size, "sha256": digest.hexdigest()}


def _commit(model: Path, manifest: dict, target: Path, replace: bool) -> None:
    """Write the manifest, fsync everything, and rename the folder into place."""
    for path in model.iterdir():
        os.chmod(path, 0o644)
        with open(path, "rb") as handle:
            os.fsync(handle.fileno())
    manifest_path = model / MANIFEST_NAME
    with open(manifest_path, "x", encoding="utf-8") as handle:
        json.dump(manifest, handle, indent=2, sort_keys=True)
        handle.write("\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.chmod(manifest_path, 0o644)
    fsync_dir(model)
    old = None
    if target.exists():
        if not replace:  # pragma: no cover - checked under the lock before
            raise ModelError(f"{target} exists.")
        old = target.with_name(f".staging-{target.name}+old")
        shutil.rmtree(old, ignore_errors=True)
        os.replace(target, old)
    os.replace(model, target)
    fsync_dir(target.parent)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _languages(folder: Path) -> str:
    count = 0
    if (folder / "vocabulary.json").is_file():
        try:
            count = len(json.loads((folder / "vocabulary.json").read_text(encoding="utf-8")))
        except (OSError, ValueError):
            count = 0
    elif (folder / "vocabulary.txt").is_file():
        with open(folder / "vocabulary.txt", "rb") as handle:
            count = sum(1 for _ in handle)
    if not count:
        return "?"
    return "multilingual" if count >= _MULTILINGUAL_VOCABULARY else "English only"


def _folder_size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.iterdir() if p.is_file())
