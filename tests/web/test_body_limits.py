"""Refuse before reading: a request that may not send a body is answered from its
headers, before the body arrives, and nothing of it is written to disk.

Each test speaks HTTP over a socket to a live server: it announces a 30 MB upload,
sends the first 64 KiB and waits. An answer that comes while the rest is still
unsent was decided without reading the body.
"""

from __future__ import annotations

import socket
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from archive import interviews, unit_of_work
from archive.accounts import tokens

ANNOUNCED = 30 * 1024 * 1024
FIRST = 64 * 1024


def _partial_post(base: str, path: str, headers: dict, wait: float = 10.0) -> int | None:
    """POST ``path`` announcing 30 MB of multipart but sending 64 KiB; the status
    that came back while the rest was unsent, or None when the server waited."""
    boundary = uuid.uuid4().hex
    part = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.wav"\r\n'
        "Content-Type: audio/wav\r\n\r\n"
    ).encode()
    lines = [
        f"POST {path} HTTP/1.1",
        f"Host: {urlsplit(base).netloc}",
        f"Content-Type: multipart/form-data; boundary={boundary}",
        f"Content-Length: {ANNOUNCED}",
        *(f"{k}: {v}" for k, v in headers.items()),
    ]
    head = ("\r\n".join(lines) + "\r\n\r\n").encode()
    url = urlsplit(base)
    with socket.create_connection((url.hostname, url.port), timeout=wait) as sock:
        sock.sendall(head + part + b"\0" * (FIRST - len(part)))
        try:
            answer = sock.recv(64)
        except TimeoutError:
            return None
    return int(answer.split()[1]) if answer.startswith(b"HTTP/") else None


def _incoming(app) -> list[Path]:
    folder = Path(app.config["RECORDINGS_DIR"]) / "incoming"
    return list(folder.glob("*")) if folder.exists() else []


@pytest.fixture
def owner(make_user):
    return make_user("interviewer")


@pytest.fixture
def interview_id(app, owner):
    interview = interviews.create_interview(owner, {"title": "Body limits"})
    unit_of_work.commit()
    return interview.id


@pytest.fixture
def session_cookie(app, owner):
    client = app.test_client()
    client.login_as(owner)
    client.get("/")
    return f"archive_session={client.get_cookie('archive_session').value}"


def _cases(interview_id: int, cookie: str) -> list[tuple[str, dict, set[int]]]:
    api = f"/api/v1/interviews/{interview_id}/recordings"
    page = f"/interviews/{interview_id}/recordings"
    return [
        ("/login", {}, {400, 413, 415}),
        ("/register", {}, {400, 413, 415}),
        (page, {}, {302}),
        (api, {}, {401}),
        (api, {"Authorization": "Bearer arc_not-a-token"}, {401}),
        (page, {"Authorization": "Bearer arc_not-a-token"}, {401}),
        (page, {"Cookie": cookie}, {400}),
        (api, {"Cookie": cookie}, {400}),
        (api, {"Cookie": cookie, "X-CSRFToken": "forged"}, {400}),
        (f"/interviews/{interview_id}/withdraw", {"Cookie": cookie}, {400, 413, 415}),
    ]


def test_refused_requests_are_answered_before_their_body_is_read(
    app, live_server, interview_id, session_cookie
):
    for path, headers, expected in _cases(interview_id, session_cookie):
        status = _partial_post(live_server, path, headers)
        assert status in expected, (path, headers, status)
        assert _incoming(app) == [], (path, headers)


def test_an_allowed_upload_is_read_so_the_probe_can_tell(app, live_server, owner, interview_id):
    """The control: with a good token the server waits for the rest of the body."""
    _row, plaintext = tokens.issue_token(owner, owner)
    unit_of_work.commit()
    path = f"/api/v1/interviews/{interview_id}/recordings"
    status = _partial_post(live_server, path, {"Authorization": f"Bearer {plaintext}"}, wait=3)
    assert status is None


def test_files_are_taken_only_by_the_upload_routes(app, client, owner):
    import io

    client.login_as(owner)
    response = client.post_form(
        "/account/password",
        {"current": "x", "file": (io.BytesIO(b"RIFF" + b"\0" * 4096), "a.wav")},
        token_from="/account/password",
        content_type="multipart/form-data",
    )
    assert response.status_code == 415
    assert _incoming(app) == []
