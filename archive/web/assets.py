"""Static files under content-hashed URLs, cached for a year; pages stay uncached.

``url_for("static", filename=...)`` gains ``?v=`` and the first 12 hex digits of
the file's SHA-256 (a ``url_defaults`` hook, so templates need no change). A
request that carries the current hash is answered with ``Cache-Control: public,
max-age=31536000, immutable``: browsers and proxies keep the file and never ask
again, and a changed file gets a new URL. A request without the hash, or with an
older one, gets the current file with ``no-cache`` (revalidated by its ETag), so a
stale URL never pins stale content. The hash is of the content, not the file's
time, so every web node of a deployment makes the same URLs.

ES modules (everything under ``js/modules/``) import each other by relative
paths (``import { clock } from "../lib/clock.js"``), which a ``?v=`` on the entry
module would not reach. Their URLs carry instead one hash of the whole module tree
as a path segment, ``/static/@<tree>/js/modules/editor/main.js``: a relative
import resolves under the same ``@<tree>/`` and so is as versioned as the entry
module, and changing any module changes every module's URL. No import map is
needed (it would be an inline script, which the CSP forbids).

Only the static files are cacheable: pages keep ``no-store`` (``security.py``).
"""

from __future__ import annotations

import hashlib
import os
import stat
import threading
from pathlib import PurePosixPath

from cachetools import LRUCache
from flask import Flask, current_app, request
from werkzeug.security import safe_join

YEAR = 365 * 24 * 3600
HASH_CHARS = 12
MODULES = "js/modules"

# path -> ((mtime_ns, size), hash): a file is hashed again only when it changes.
# Bounded (there are a few dozen static files) and locked: cachetools' caches are not
# thread-safe, and gunicorn's threads share this one.
_hashes: LRUCache[str, tuple[tuple[int, int], str]] = LRUCache(maxsize=1024)
_hashes_lock = threading.Lock()


def asset_hash(static_folder: str, filename: str) -> str | None:
    """The short content hash of a static file; None when there is no such file."""
    path = safe_join(static_folder, filename)
    if path is None:
        return None
    try:
        info = os.stat(path)
    except OSError:
        return None
    if not stat.S_ISREG(info.st_mode):
        return None
    stamp = (info.st_mtime_ns, info.st_size)
    with _hashes_lock:
        cached = _hashes.get(path)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    with open(path, "rb") as handle:
        digest = hashlib.sha256(handle.read()).hexdigest()[:HASH_CHARS]
    with _hashes_lock:
        _hashes[path] = (stamp, digest)
    return digest


def module_tree_hash(static_folder: str) -> str:
    """One short hash over every file of the module tree, its paths and contents."""
    base = os.path.join(static_folder, MODULES)
    lines = []
    for folder, dirs, files in os.walk(base):
        dirs.sort()
        for name in sorted(files):
            relative = os.path.relpath(os.path.join(folder, name), static_folder)
            filename = PurePosixPath(*relative.split(os.sep)).as_posix()
            lines.append(f"{filename} {asset_hash(static_folder, filename)}\n")
    return hashlib.sha256("".join(lines).encode()).hexdigest()[:HASH_CHARS]


def _is_module(filename: str) -> bool:
    return filename.startswith(MODULES + "/")


def _split_tree(filename: str) -> tuple[str | None, str]:
    """``@<tree>/js/modules/x.js`` -> ``(tree, "js/modules/x.js")``."""
    if filename.startswith("@") and "/" in filename:
        tree, rest = filename[1:].split("/", 1)
        return tree, rest
    return None, filename


def _add_version(endpoint: str, values: dict) -> None:
    if endpoint != "static" or "v" in values or "filename" not in values:
        return
    if _is_module(values["filename"]):
        values["filename"] = f"@{module_tree_hash(current_app.static_folder)}/{values['filename']}"
        return
    digest = asset_hash(current_app.static_folder, values["filename"])
    if digest is not None:
        values["v"] = digest


def _static(filename: str):
    tree, filename = _split_tree(filename)
    response = current_app.send_static_file(filename)
    if tree is not None:
        current = module_tree_hash(current_app.static_folder) if _is_module(filename) else None
        fresh = tree == current
    else:
        digest = asset_hash(current_app.static_folder, filename)
        fresh = digest is not None and request.args.get("v") == digest
    if fresh:
        response.cache_control.no_cache = None
        response.cache_control.public = True
        response.cache_control.max_age = YEAR
        response.cache_control.immutable = True
    else:
        response.cache_control.no_cache = True
        response.cache_control.max_age = None
    return response


def init_app(app: Flask) -> None:
    app.url_defaults(_add_version)
    app.view_functions["static"] = _static
