"""BagIt packages (RFC 8493, made with the Library of Congress ``bagit`` library).

    bag/
      bagit.txt  bag-info.txt  manifest-sha256.txt  manifest-sha512.txt  tagmanifest-*.txt
      data/transcript.txt .srt .vtt .json .docx .ohms.xml
      data/audio/part-01.mp3 ...      the access copies given, renamed by their order
      data/metadata.json              the interview's metadata (no transcript text)
      data/agreement.txt              access level and audio permission, nothing else

Audio files are renamed ``part-NN`` (keeping the extension) so that nothing of the
caller's file names enters the bag.

``bagit.make_bag`` changes the process's working directory while it runs; bags are
made one at a time under a lock, and callers that run beside other threads should
use absolute paths. The archive makes them in the worker (``transcripts.bags``).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
import zipfile
from pathlib import Path

import bagit

from archive.exports import to_json
from archive.exports.common import ORGANIZATION
from archive.exports.formats import FORMATS
from archive.exports.model import ExportDocument

CHECKSUMS = ("sha256", "sha512")
AGREEMENT_MEANINGS = {
    "sealed": "staff and the interviewer of record only",
    "catalogue": "metadata and summary visible to all, content to staff",
    "on_request": "content for researchers with an approved, unexpired grant",
    "open": "everyone",
    "none": "no audio is made available",
    "redacted": "access copy with redacted passages silenced",
    "full": "the whole access copy",
}
_lock = threading.Lock()


def metadata(doc: ExportDocument, audio: list[str]) -> dict:
    """The interview's metadata for ``data/metadata.json``: everything but the segments."""
    data = to_json.to_dict(doc)
    del data["segments"]
    data["format"] = "testimony-archive/bag-metadata"
    data["audio"] = audio
    data["transcripts"] = [f"transcript.{fmt}" for fmt in FORMATS]
    return data


def agreement_text(doc: ExportDocument) -> str:
    def line(label: str, value: str) -> str:
        meaning = AGREEMENT_MEANINGS.get(value)
        return f"{label}: {value}" + (f" ({meaning})" if meaning else "")

    return (
        line("Access level", doc.access_level)
        + "\n"
        + line("Audio permission", doc.audio_permission)
        + "\n"
    )


def write_bag(doc: ExportDocument, directory: Path, listening_copies: list[Path]) -> Path:
    """Makes a bag of the interview in ``directory`` (which must not exist, or be
    empty) and returns its path. On failure nothing is left behind."""
    directory = Path(directory).absolute()
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        raise FileExistsError(f"{directory} exists and is not an empty directory")
    created = not directory.exists()
    directory.mkdir(parents=True, exist_ok=True)
    try:
        for fmt, render in FORMATS.items():
            (directory / f"transcript.{fmt}").write_bytes(render(doc))
        audio = []
        if listening_copies:
            (directory / "audio").mkdir()
        for number, source in enumerate(listening_copies, start=1):
            name = f"part-{number:02d}{Path(source).suffix.lower()}"
            shutil.copyfile(source, directory / "audio" / name)
            audio.append(f"audio/{name}")
        (directory / "metadata.json").write_bytes(
            (json.dumps(metadata(doc, audio), ensure_ascii=False, indent=2) + "\n").encode("utf-8")
        )
        (directory / "agreement.txt").write_bytes(agreement_text(doc).encode("utf-8"))
        info = {
            "Source-Organization": ORGANIZATION,
            "External-Identifier": str(doc.interview_id),
        }
        with _lock:
            bagit.make_bag(str(directory), bag_info=info, checksums=list(CHECKSUMS))
    except BaseException:
        if created:
            shutil.rmtree(directory, ignore_errors=True)
        else:
            for child in directory.iterdir():
                shutil.rmtree(child) if child.is_dir() else child.unlink()
        raise
    return directory


def zip_bag(directory: Path) -> Path:
    """``<directory>.zip`` beside the bag, its entries under ``<bag name>/``. Audio is
    stored as it is (already compressed); the rest is deflated. Written atomically."""
    directory = Path(directory).absolute()
    if not (directory / "bagit.txt").is_file():
        raise ValueError(f"{directory} is not a bag")
    target = directory.with_name(directory.name + ".zip")
    fd, temporary = tempfile.mkstemp(
        prefix=f".{directory.name}.", suffix=".zip", dir=directory.parent
    )
    try:
        with os.fdopen(fd, "wb") as raw, zipfile.ZipFile(raw, "w") as archive:
            for path in sorted(p for p in directory.rglob("*") if p.is_file()):
                relative = path.relative_to(directory)
                stored = relative.parts[:2] == ("data", "audio")
                archive.write(
                    path,
                    f"{directory.name}/{relative.as_posix()}",
                    compress_type=zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED,
                )
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return target
