"""A local HTTP server that answers like the Hugging Face Hub, for huggingface_hub 2.4.

It serves what ``HfApi.model_info(repo, revision=..., files_metadata=True)`` and
``hf_hub_download(repo, file, revision=..., endpoint=...)`` ask for:

* ``GET /api/models/{repo}/revision/{rev}?blobs=True``: the commit (``sha``) and
  ``siblings`` with ``size``, ``blobId`` (git blob id) and, for LFS files,
  ``lfs: {sha256, size, pointerSize}``.
* ``HEAD /{repo}/resolve/{rev}/{file}``: ``X-Repo-Commit`` (required, or the client
  says the endpoint is not a hub), ``ETag`` (the git blob id; for LFS files the
  SHA-256, also in ``X-Linked-Etag``), ``X-Linked-Size`` for LFS files and
  ``Content-Length``. The real hub answers LFS files with a redirect to its CDN
  carrying those headers; answering 200 here is what the client then reads too.
* ``GET`` of the same path: the bytes, honouring ``Range: bytes=N-`` (resumes).

``mode`` makes it misbehave on ``model.bin``: ``"corrupt"`` sends other bytes than
listed, ``"cut"`` sends half and drops the connection (then answers 503), ``"hold"``
sends half and waits until ``release`` is set (a process killed mid-download).
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

LFS = {"model.bin"}


def git_blob_id(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


class FakeHub:
    def __init__(self) -> None:
        self.repos: dict[str, tuple[str, dict[str, bytes]]] = {}
        self.requests: list[str] = []
        self.mode: str | None = None
        self.half_sent = threading.Event()
        self.release = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}"

    def add_repo(self, repo: str, commit: str, folder: Path) -> None:
        files = {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}
        files["README.md"] = b"---\nlicense: mit\n---\nA CTranslate2 conversion.\n"
        self.repos[repo] = (commit, files)

    def __enter__(self) -> FakeHub:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.release.set()
        self._server.shutdown()
        self._server.server_close()

    def _handler(self):
        hub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                self._answer(body=True)

            def do_HEAD(self) -> None:
                self._answer(body=False)

            def _answer(self, body: bool) -> None:
                hub.requests.append(f"{self.command} {self.path}")
                path = self.path.split("?", 1)[0]
                api = re.fullmatch(r"/api/models/(.+)/revision/([^/]+)", path)
                if api:
                    return self._info(api.group(1), api.group(2))
                resolve = re.fullmatch(r"/(.+)/resolve/([^/]+)/([^/]+)", path)
                if resolve:
                    return self._file(*resolve.groups(), body=body)
                self._send(404, {"X-Error-Code": "RepoNotFound"}, b"not found")

            def _lookup(self, repo: str, revision: str):
                if repo not in hub.repos:
                    self._send(404, {"X-Error-Code": "RepoNotFound"}, b"no such repo")
                    return None
                commit, files = hub.repos[repo]
                if revision not in (commit, "main"):
                    self._send(404, {"X-Error-Code": "RevisionNotFound"}, b"no such revision")
                    return None
                return commit, files

            def _info(self, repo: str, revision: str) -> None:
                found = self._lookup(repo, revision)
                if found is None:
                    return
                commit, files = found
                siblings = []
                for name, data in files.items():
                    entry = {"rfilename": name, "size": len(data), "blobId": git_blob_id(data)}
                    if name in LFS:
                        sha256 = hashlib.sha256(data).hexdigest()
                        entry["lfs"] = {"sha256": sha256, "size": len(data), "pointerSize": 134}
                        entry["blobId"] = git_blob_id(
                            f"version https://git-lfs.github.com/spec/v1\noid sha256:{sha256}\n"
                            f"size {len(data)}\n".encode()
                        )
                    siblings.append(entry)
                document = {"id": repo, "modelId": repo, "sha": commit, "siblings": siblings}
                self._send(200, {"Content-Type": "application/json"}, json.dumps(document).encode())

            def _file(self, repo: str, revision: str, name: str, body: bool) -> None:
                found = self._lookup(repo, revision)
                if found is None:
                    return
                commit, files = found
                if name not in files:
                    self._send(404, {"X-Error-Code": "EntryNotFound", "X-Repo-Commit": commit}, b"")
                    return
                data = files[name]
                headers = {"X-Repo-Commit": commit, "Accept-Ranges": "bytes"}
                if name in LFS:
                    sha256 = hashlib.sha256(data).hexdigest()
                    headers.update(
                        {"ETag": f'"{sha256}"', "X-Linked-Etag": f'"{sha256}"'}
                        | {"X-Linked-Size": str(len(data))}
                    )
                else:
                    headers["ETag"] = f'"{git_blob_id(data)}"'
                if not body:
                    self._send(200, headers, b"", length=len(data))
                    return
                misbehave = hub.mode if name == "model.bin" else None
                if misbehave in ("cut", "hold") and hub.half_sent.is_set():
                    self._send(503, {"X-Repo-Commit": commit}, b"service unavailable")
                    return
                if misbehave == "corrupt":
                    data = data[:1000] + bytes([data[1000] ^ 0xFF]) + data[1001:]
                start = 0
                match = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range", ""))
                if match:
                    start = int(match.group(1))
                    headers["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
                status = 206 if match else 200
                if misbehave in ("cut", "hold"):
                    self.send_response(status)
                    for key, value in headers.items():
                        self.send_header(key, value)
                    self.send_header("Content-Length", str(len(data) - start))
                    self.end_headers()
                    self.wfile.write(data[start : len(data) // 2])
                    self.wfile.flush()
                    hub.half_sent.set()
                    if misbehave == "hold":
                        hub.release.wait(60)
                    self.close_connection = True
                    return
                self._send(status, headers, data[start:])

            def _send(self, status: int, headers: dict, data: bytes, length=None) -> None:
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(data) if length is None else length))
                self.end_headers()
                if data:
                    self.wfile.write(data)

        return Handler
