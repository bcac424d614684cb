"""Every endpoint outside a short public list needs a signed-in user."""

from __future__ import annotations

import re

PUBLIC = {"static", "main.home", "auth.login", "auth.register"}


def _example_path(rule) -> str:
    return re.sub(r"<(?:[^:>]+:)?([^>]+)>", "1", rule.rule)


def test_every_non_public_endpoint_refuses_visitors(app, client):
    checked = 0
    for rule in app.url_map.iter_rules():
        if rule.endpoint in PUBLIC:
            continue
        path = _example_path(rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(path, method=method)
            if path.startswith("/api/"):
                assert response.status_code in (401, 404), (method, path)
            else:
                assert response.status_code in (302, 400, 404), (method, path)
                if response.status_code == 302:
                    assert response.headers["Location"].startswith("/login"), (method, path)
            checked += 1
    assert checked > 10


def test_public_list_is_what_the_app_marks_public(app):
    from archive.web.access import is_public

    with app.test_request_context():
        marked = {rule.endpoint for rule in app.url_map.iter_rules() if is_public(rule.endpoint)}
    assert marked == PUBLIC
