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

Parts: ``model_catalogue`` (what may be installed, what is: listing and verifying),
``model_staging`` (the staging folder and the final rename), ``model_import``; the
download is here. Everything in ``__all__`` is importable from this module.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from archive.transcription.model_catalogue import (
    CATALOGUE,
    DEFAULT_ENDPOINT,
    MODEL_FILES,
    Downloadable,
    InstalledModel,
    ModelDownloadError,
    list_models,
    verify_model,
)
from archive.transcription.model_import import import_model
from archive.transcription.model_staging import _clean_staging, _commit, _languages, _models_root
from archive.transcription.models import (
    _CHUNK,
    REQUIRED_FILES,
    ModelError,
    ModelIntegrityError,
    ModelNotFoundError,
    _exclusive_lock,
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
