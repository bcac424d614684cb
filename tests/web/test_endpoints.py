"""Every endpoint outside a short public list needs a signed-in user."""

from __future__ import annotations

import re

# Visitors may reach these; each still asks the policy about the record it shows.
PUBLIC = {
    "static",
    "main.home",
    "auth.login",
    "auth.register",
    "interviews.index",
    "interviews.detail",
    "api.list_interviews",
    "api.get_interview",
    "api.get_recording",
    "api.transcript",
    "api.interview_audio",
    "api.export",
    "api.bag",
    "api.bag_status",
    "interviews.bag",
    "api.search_transcripts",
    "api.citation",
    "api.index_points",
    "research.search_page",
    # Archival protocols: a manifest and its player ask the policy; OAI-PMH answers
    # everyone as a visitor (archive/publishing/oai.py).
    "iiif.manifest",
    "iiif.player",
    "oai.endpoint",
    # The language picker: a visitor's choice is kept in a cookie (changes no record).
    "main.choose_language",
    # For load balancers and monitors; /metrics asks the policy (this machine, or admins).
    "ops.healthz",
    "ops.metrics",
}


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


def test_public_endpoints_answer_404_for_a_missing_record(client):
    for path in (
        "/interviews/999",
        "/api/v1/interviews/999",
        "/api/v1/recordings/999",
        "/api/v1/interviews/999/transcript",
        "/api/v1/interviews/999/audio",
        "/iiif/interviews/999/manifest.json",
        "/iiif/interviews/999/player",
    ):
        assert client.get(path).status_code == 404, path
