"""Importing a Whisper model onto an air-gapped machine, from a folder or a tar archive
copied there: every tar member checked before it is unpacked (no absolute paths, no
``..``, no links or devices), and the files checked against their manifest or the
pinned hash (see ``model_store``).
"""

from __future__ import annotations

import shutil
import tarfile
import tempfile
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

from archive.transcription.model_catalogue import (
    _NAME,
    BUNDLED,
    CATALOGUE,
    MODEL_FILES,
    InstalledModel,
    verify_model,
)
from archive.transcription.model_staging import (
    _clean_staging,
    _commit,
    _copy_hashing,
    _languages,
    _models_root,
)
from archive.transcription.models import (
    _CHUNK,
    MANIFEST_NAME,
    REQUIRED_FILES,
    ModelError,
    ModelIntegrityError,
    ModelNotFoundError,
    _exclusive_lock,
    read_manifest,
)


def import_model(
    source: Path,
    cache_dir: Path,
    name: str | None = None,
    replace: bool = False,
) -> InstalledModel:
    """Install a model folder, or a .tar/.tar.gz of one, under ``cache_dir/models/``.

    The files are copied (and hashed) into a staging folder; when the source carries an
    ``archive-model.json`` (what ``models download`` writes) every file must match it;
    otherwise, for a catalogue name, model.bin must match the pinned SHA-256. The name
    is ``name``, else the manifest's, else the folder's.
    """
    source = Path(source)
    root = _models_root(cache_dir)
    with tempfile.TemporaryDirectory(prefix=".unpack-", dir=root) as unpack:
        if source.is_dir():
            folder = source
        elif source.is_file() and tarfile.is_tarfile(source):
            try:
                folder = _safe_extract(source, Path(unpack))
            except (tarfile.TarError, EOFError, FileExistsError) as exc:
                raise ModelIntegrityError(
                    f"{source} cannot be unpacked ({type(exc).__name__}: {exc}); the copy is "
                    "damaged or not a model archive. Nothing was installed."
                ) from exc
        else:
            raise ModelNotFoundError(
                f"{source} is neither a model folder nor a .tar/.tar.gz archive of one."
            )
        incoming = _incoming_manifest(folder)
        chosen = name or (incoming or {}).get("name") or _strip_suffixes(source)
        _check_name(chosen)
        missing = [f for f in REQUIRED_FILES if not (folder / f).is_file()]
        if missing:
            raise ModelNotFoundError(
                f"{source} lacks {', '.join(missing)}; a CTranslate2 Whisper model needs "
                f"{', '.join(REQUIRED_FILES)} (and its vocabulary file)."
            )
        if not any((folder / f).is_file() for f in ("vocabulary.txt", "vocabulary.json")):
            raise ModelNotFoundError(f"{source} lacks vocabulary.txt or vocabulary.json.")
        with _exclusive_lock(root / f".{chosen}.lock"):
            _clean_staging(root, chosen)
            target = root / chosen
            if target.exists() and not replace:
                raise ModelError(
                    f"{chosen} is already installed in {target}; add --replace to replace it."
                )
            staging = Path(tempfile.mkdtemp(prefix=f".staging-{chosen}+", dir=root))
            try:
                model = staging / "model"
                model.mkdir()
                files = {}
                for filename in MODEL_FILES:
                    if (folder / filename).is_file():
                        files[filename] = _copy_hashing(folder / filename, model / filename)
                checked = _check_import(files, incoming, chosen, source)
                manifest = {
                    "format": 1,
                    "name": chosen,
                    "languages": _languages(model),
                    "source": {
                        "kind": "import",
                        "from": str(source),
                        **{
                            k: v
                            for k, v in (incoming or {}).get("source", {}).items()
                            if k != "kind"
                        },
                    },
                    "checked": checked,
                    "installed_at": datetime.now(UTC).isoformat(timespec="seconds"),
                    "files": files,
                }
                _commit(model, manifest, target, replace)
            finally:
                shutil.rmtree(staging, ignore_errors=True)
    return verify_model(target)


def _check_import(files: dict, incoming: dict | None, name: str, source: Path) -> str:
    if incoming is not None:
        listed = incoming.get("files") or {}
        for filename, entry in listed.items():
            if filename not in files:
                raise ModelIntegrityError(f"{source}: {filename} is in its manifest but missing.")
            if files[filename] != {"size": entry.get("size"), "sha256": entry.get("sha256")}:
                raise ModelIntegrityError(
                    f"{source}: {filename} does not match its manifest (size or SHA-256); "
                    "the copy is damaged. Nothing was installed."
                )
        unlisted = sorted(set(files) - set(listed))
        if unlisted:
            raise ModelIntegrityError(f"{source}: {', '.join(unlisted)} not in its manifest.")
        return "SHA-256 checked against the manifest it came with"
    item = CATALOGUE.get(name)
    if item and item.model_sha256:
        if files["model.bin"]["sha256"] != item.model_sha256:
            raise ModelIntegrityError(
                f"{source}: model.bin is not the published {name} ({item.repo}@"
                f"{item.revision[:12]}): its SHA-256 differs from the pinned one. Nothing "
                "was installed; import it under another name if it is another model."
            )
        return "model.bin SHA-256 checked against the archive's pinned digest"
    return "no manifest came with it: SHA-256 recorded at import, not checked"


def _safe_extract(archive: Path, into: Path) -> Path:
    """Extract regular files and folders only: no absolute paths, no ``..``, no links
    or devices. Returns the folder holding model.bin (the root or one folder in it)."""
    with tarfile.open(archive) as tar:
        members = tar.getmembers()
        for member in members:
            path = PurePosixPath(member.name)
            if path.is_absolute() or ".." in path.parts or member.name.startswith(("/", "\\")):
                raise ModelIntegrityError(
                    f"{archive} was refused: member {member.name!r} would be written "
                    "outside the folder it is unpacked into."
                )
            if not (member.isfile() or member.isdir()):
                raise ModelIntegrityError(
                    f"{archive} was refused: member {member.name!r} is a link or special file."
                )
        for member in members:
            dest = into.joinpath(*PurePosixPath(member.name).parts)
            if member.isdir():
                dest.mkdir(parents=True, exist_ok=True)
                continue
            dest.parent.mkdir(parents=True, exist_ok=True)
            handle = tar.extractfile(member)
            assert handle is not None
            with handle, open(dest, "xb") as out:
                shutil.copyfileobj(handle, out, _CHUNK)
    if (into / "model.bin").is_file():
        return into
    folders = [p for p in into.iterdir() if p.is_dir()]
    if len(folders) == 1 and (folders[0] / "model.bin").is_file():
        return folders[0]
    raise ModelNotFoundError(
        f"{archive} holds no model.bin at its top or in a single folder inside it."
    )


def _incoming_manifest(folder: Path) -> dict | None:
    if not (folder / MANIFEST_NAME).is_file():
        return None
    return read_manifest(folder)


def _strip_suffixes(source: Path) -> str:
    name = source.name
    for suffix in (".tar.gz", ".tgz", ".tar"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def _check_name(name: str) -> None:
    if name in BUNDLED:
        raise ModelError(f"{name!r} is a bundled model's name; choose another with --name.")
    if not _NAME.match(name):
        raise ModelError(
            f"{name!r} is not a usable model name: lower-case letters, digits, '.', '_' "
            "and '-', starting with a letter or digit (choose one with --name)."
        )
