"""/healthz names the failing part; /metrics is for this machine or admins, nameless."""

from __future__ import annotations

from datetime import timedelta

import pytest

from archive import create_app, interviews, unit_of_work
from archive.extensions import db
from archive.models import Recording, utcnow

ELSEWHERE = {"REMOTE_ADDR": "203.0.113.7"}


def test_healthz_is_200_when_every_part_works(client):
    response = client.get("/healthz", environ_base=ELSEWHERE)
    assert response.status_code == 200
    assert response.json["status"] == "ok"
    assert set(response.json["checks"]) == {"database", "queue", "workers", "disk"}


def test_healthz_is_503_naming_the_disk_when_space_runs_low(app, client):
    app.config["HEALTH_MIN_FREE_MB"] = 1 << 40
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json["failing"] == ["disk"]


def test_healthz_is_503_naming_the_workers_when_a_heartbeat_stops(app, client, make_user):
    owner = make_user("interviewer")
    interview = interviews.create_interview(owner, {"title": "Heartbeat"})
    unit_of_work.commit()
    db.session.add(
        Recording(
            interview_id=interview.id,
            master_key="masters/none.wav",
            sha256="0" * 64,
            size_bytes=1,
            status="processing",
            worker="elsewhere:1",
            heartbeat_at=utcnow() - timedelta(minutes=5),
        )
    )
    db.session.commit()
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json["failing"] == ["workers"]


def test_healthz_is_503_naming_the_database_when_it_cannot_be_reached(app_config):
    config = {
        **app_config,
        "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://nobody:x@127.0.0.1:9/none",
        "SQLALCHEMY_ENGINE_OPTIONS": {"connect_args": {"connect_timeout": 2}},
    }
    response = create_app(config).test_client().get("/healthz")
    assert response.status_code == 503
    assert "database" in response.json["failing"]


def test_metrics_from_this_machine_count_jobs_and_requests_without_names(client, make_user):
    owner = make_user("interviewer")
    interviews.create_interview(owner, {"title": "Svetlana in Almaty"})
    unit_of_work.commit()
    client.get("/interviews/")
    response = client.get("/metrics")
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert 'archive_jobs{status="queued"}' in body
    assert "archive_job_real_time_factor_count" in body
    assert 'archive_request_seconds_count{method="GET",route="/interviews/",status="200"}' in body
    assert "archive_upload_bytes_total" in body
    assert "Svetlana" not in body and "Almaty" not in body and owner.email not in body


@pytest.mark.parametrize(
    "role,status", [(None, 404), ("researcher", 404), ("custodian", 404), ("admin", 200)]
)
def test_metrics_from_elsewhere_only_for_admins(client, make_user, role, status):
    if role:
        client.login_as(make_user(role))
    assert client.get("/metrics", environ_base=ELSEWHERE).status_code == status


def test_metrics_through_a_proxy_on_this_machine_are_not_local(client):
    """nginx on the same machine passes every visitor on from 127.0.0.1."""
    response = client.get("/metrics", headers={"X-Forwarded-For": "198.51.100.4"})
    assert response.status_code == 404
