"""Serving in production: reverse-proxy headers, cached static files, real gunicorn."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from flask import url_for

from archive import consent, interviews, unit_of_work
from archive.config import load_config
from archive.extensions import db
from archive.web import assets
from tests.helpers import PASSWORD, REPO, archive_env

CLIENT = "10.0.0.5"


@pytest.fixture
def overrides() -> dict:
    """Settings a test adds to the defaults: ``@pytest.mark.parametrize("overrides", ...)``."""
    return {}


@pytest.fixture
def app_config(app_config, overrides):
    return {**app_config, **overrides}


def _settings(**values):
    return pytest.mark.parametrize("overrides", [values], ids=[""])


@pytest.fixture
def catalogued(make_user):
    """Makes an interview visitors may see in the catalogue (for its citation URL)."""

    def make():
        custodian = make_user("custodian")
        item = interviews.create_interview(custodian, {"title": "Almaty witness"})
        unit_of_work.commit()
        consent.record_agreement(custodian, item, {"access_level": "catalogue"})
        unit_of_work.commit()
        return item.id

    return make


def _login(client, forwarded_for: str):
    token = client.csrf_token()
    return client.post(
        "/login",
        data={"csrf_token": token, "email": "ana@example.org", "password": "wrong password"},
        headers={"X-Forwarded-For": forwarded_for},
        environ_base={"REMOTE_ADDR": CLIENT},
    )


def _citation_url(client, interview_id: int, headers: dict) -> str:
    response = client.get(
        f"/api/v1/interviews/{interview_id}/citation",
        headers=headers,
        environ_base={"REMOTE_ADDR": CLIENT},
    )
    assert response.status_code == 200
    return response.json["url"]


@_settings(LOGIN_RATE_LIMIT="2 per minute")
def test_without_trusted_proxies_forwarded_for_does_not_escape_the_sign_in_limit(
    app, client, make_user
):
    assert app.config["TRUSTED_PROXIES"] == 0
    make_user("archivist", email="ana@example.org")
    # A client that makes up a new X-Forwarded-For each time is still one address.
    assert _login(client, "203.0.113.1").status_code == 401
    assert _login(client, "203.0.113.2").status_code == 401
    assert _login(client, "203.0.113.3").status_code == 429


@_settings(LOGIN_RATE_LIMIT="2 per minute", TRUSTED_PROXIES=1)
def test_with_one_trusted_proxy_each_forwarded_client_has_its_own_sign_in_limit(client, make_user):
    make_user("archivist", email="ana@example.org")
    # The proxy appends the address it saw; what a client put before it is not believed.
    assert _login(client, "198.51.100.9, 203.0.113.1").status_code == 401
    assert _login(client, "198.51.100.8, 203.0.113.1").status_code == 401
    assert _login(client, "203.0.113.1").status_code == 429
    assert _login(client, "203.0.113.2").status_code == 401


def test_without_trusted_proxies_forwarded_proto_does_not_change_the_scheme(client, catalogued):
    interview_id = catalogued()
    headers = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.1"}
    url = _citation_url(client, interview_id, headers)
    assert url.startswith("http://localhost/interviews/")


@_settings(TRUSTED_PROXIES=1)
def test_with_a_trusted_proxy_citations_link_to_the_scheme_the_proxy_served(client, catalogued):
    interview_id = catalogued()
    headers = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.1"}
    url = _citation_url(client, interview_id, headers)
    assert url.startswith("https://localhost/interviews/")


def test_trusted_proxies_must_be_a_count(tmp_path, monkeypatch):
    monkeypatch.setenv("ARCHIVE_TRUSTED_PROXIES", "yes")
    with pytest.raises(ValueError, match="ARCHIVE_TRUSTED_PROXIES must be a whole number"):
        load_config(tmp_path)
    monkeypatch.setenv("ARCHIVE_TRUSTED_PROXIES", "2")
    assert load_config(tmp_path)["TRUSTED_PROXIES"] == 2


def test_secure_cookies_come_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.delenv("ARCHIVE_SECURE_COOKIES", raising=False)
    assert load_config(tmp_path)["SESSION_COOKIE_SECURE"] is False
    monkeypatch.setenv("ARCHIVE_SECURE_COOKIES", "1")
    assert load_config(tmp_path)["SESSION_COOKIE_SECURE"] is True


@_settings(SESSION_COOKIE_SECURE=True)
def test_secure_cookies_setting_marks_the_session_cookie_secure(client, make_user):
    make_user("archivist", email="ana@example.org")
    response = client.post_form("/login", {"email": "ana@example.org", "password": PASSWORD})
    assert response.status_code == 302
    cookie = response.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def _stylesheet(page: str) -> str:
    match = re.search(r'href="(/static/archive\.css\?v=[0-9a-f]{12})"', page)
    assert match, "the stylesheet has no content hash in its URL"
    return match.group(1)


def test_static_urls_carry_a_content_hash_and_are_cached_for_a_year(client):
    page = client.get("/login")
    assert page.headers["Cache-Control"] == "no-store"
    url = _stylesheet(page.get_data(as_text=True))
    response = client.get(url)
    assert response.status_code == 200
    cache = response.headers["Cache-Control"]
    assert "immutable" in cache and "max-age=31536000" in cache and "public" in cache


def test_static_file_without_its_current_hash_must_be_revalidated(client):
    for url in ("/static/archive.css", "/static/archive.css?v=000000000000"):
        response = client.get(url)
        assert response.status_code == 200
        assert "no-cache" in response.headers["Cache-Control"]
        assert "immutable" not in response.headers["Cache-Control"]


def test_content_hash_changes_with_the_file(tmp_path):
    (tmp_path / "site.css").write_text("body { color: black; }")
    first = assets.asset_hash(str(tmp_path), "site.css")
    time.sleep(0.01)
    (tmp_path / "site.css").write_text("body { color: navy; }")
    second = assets.asset_hash(str(tmp_path), "site.css")
    assert first and second and first != second
    assert assets.asset_hash(str(tmp_path), "../etc/passwd") is None
    assert assets.asset_hash(str(tmp_path), "missing.css") is None


def test_modules_share_one_tree_hash_so_relative_imports_are_versioned_too(app, client):
    """An ES module's relative import (``../lib/clock.js``) resolves under the same
    ``@<tree>/`` path as the module that imports it, and is cached like it."""
    with app.test_request_context():
        url = url_for("static", filename="js/modules/editor/main.js")
    match = re.fullmatch(r"/static/@([0-9a-f]{12})/js/modules/editor/main\.js", url)
    assert match, url
    tree = match.group(1)
    assert tree == assets.module_tree_hash(app.static_folder)
    for path in ("js/modules/editor/main.js", "js/modules/lib/clock.js"):
        response = client.get(f"/static/@{tree}/{path}")
        assert response.status_code == 200
        assert response.mimetype in {"text/javascript", "application/javascript"}
        cache = response.headers["Cache-Control"]
        assert "immutable" in cache and "max-age=31536000" in cache
    # An older tree, or a file outside the module tree under a tree path: revalidated.
    for url in ("/static/@000000000000/js/modules/lib/clock.js", f"/static/@{tree}/archive.css"):
        response = client.get(url)
        assert response.status_code == 200
        assert "no-cache" in response.headers["Cache-Control"]
        assert "immutable" not in response.headers["Cache-Control"]
    assert client.get(f"/static/@{tree}/js/modules/../../../config.py").status_code == 404


def test_module_tree_hash_changes_with_any_module(tmp_path):
    modules = tmp_path / "js" / "modules"
    (modules / "lib").mkdir(parents=True)
    (modules / "main.js").write_text('import { clock } from "./lib/clock.js";')
    (modules / "lib" / "clock.js").write_text("export function clock() {}")
    first = assets.module_tree_hash(str(tmp_path))
    time.sleep(0.01)
    (modules / "lib" / "clock.js").write_text("export function clock(s) { return s; }")
    assert assets.module_tree_hash(str(tmp_path)) != first


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _get(url: str, headers: dict | None = None):
    request = urllib.request.Request(url, headers=headers or {})  # noqa: S310 (a local URL)
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return response.status, dict(response.headers), response.read().decode()


def test_gunicorn_serves_the_app_with_the_production_settings(
    app, app_config, catalogued, tmp_path
):
    interview_id = catalogued()
    db.session.remove()
    port = _free_port()
    access_log = tmp_path / "access.log"
    env = archive_env(
        app_config,
        ARCHIVE_BIND=f"127.0.0.1:{port}",
        ARCHIVE_WEB_WORKERS="1",
        ARCHIVE_WEB_THREADS="2",
        ARCHIVE_ACCESS_LOG=str(access_log),
    )
    env.pop("ARCHIVE_TRUSTED_PROXIES", None)
    gunicorn = Path(sys.executable).with_name("gunicorn")
    process = subprocess.Popen(
        [str(gunicorn), "-c", "gunicorn.conf.py", "wsgi:app"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                status, headers, page = _get(f"{base}/login")
                break
            except OSError:
                assert process.poll() is None, process.stdout.read().decode()
                assert time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.2)
        assert status == 200
        assert headers["Cache-Control"] == "no-store"
        _status, headers, _css = _get(base + _stylesheet(page))
        assert "immutable" in headers["Cache-Control"]
        # gunicorn's own X-Forwarded-Proto handling (which trusts 127.0.0.1) is off:
        # only ARCHIVE_TRUSTED_PROXIES can make the app believe the header.
        _status, _headers, body = _get(
            f"{base}/api/v1/interviews/{interview_id}/citation",
            {"X-Forwarded-Proto": "https", "X-Forwarded-Ssl": "on"},
        )
        assert f'"url":"http://127.0.0.1:{port}/interviews/' in body.replace(" ", "")
        _get(f"{base}/search?q=Gulnara+Bekova")
    finally:
        process.terminate()
        output = process.communicate(timeout=30)[0].decode()
    assert "Booting worker" in output, output
    log = access_log.read_text()
    # The access log has the path without its query string: a search may be a name.
    assert '"GET /search HTTP/1.1" 200' in log
    assert "Gulnara" not in log and "q=" not in log
