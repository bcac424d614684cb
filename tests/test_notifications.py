"""E-mail notifications, received by a real SMTP server (aiosmtpd) on a free port.

The request only queues; the queued task (run here as the worker runs it:
dequeued from the archive's own Huey storage and executed) sends. No message may
carry a real name, a pseudonym, a title, a purpose or transcript text, even when
the title and the speaker hold a protected name.
"""

from __future__ import annotations

import socket
from datetime import date, datetime, timedelta
from email import message_from_bytes, policy
from itertools import count

import pytest
from aiosmtpd.controller import Controller
from babel.dates import format_date
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from archive import consent, interviews, jobs, notifications, queue, recordings, unit_of_work
from archive.extensions import db
from archive.models import AccessRequest, Grant, Recording, SentNotification
from archive.recordings import storage
from archive.transcription import pipeline
from tests.fixtures import FIXTURES

NAME = "Gulnara Bekova"
PSEUDONYM = "Svetlana"
TITLE = f"Testimony of {NAME} on the square"
PURPOSE = f"I study what {NAME} said about the list of the detained."
BASE = "https://archive.example.org"
FORBIDDEN = ("Gulnara", "Bekova", PSEUDONYM, "square", "detained", "Galara", "Bicova")
_numbers = count(1)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Inbox:
    """What the SMTP server received: (recipients, parsed message) pairs."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], object]] = []

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd's handler hook
        message = message_from_bytes(envelope.content, policy=policy.default)
        self.messages.append((list(envelope.rcpt_tos), message))
        return "250 OK"

    def to(self, address: str) -> list:
        return [m for rcpt, m in self.messages if address in rcpt]


class SmtpServer:
    def __init__(self) -> None:
        self.port = _free_port()
        self.inbox = Inbox()
        self.controller = None

    def start(self) -> None:
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp():
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def app_config(app_config, smtp):
    app_config.update(
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=smtp.port,
        SMTP_STARTTLS=False,
        SMTP_SSL=False,
        SMTP_FROM="archive@archive.example.org",
        SMTP_TIMEOUT=5.0,
        BASE_URL=BASE,
    )
    return app_config


@pytest.fixture
def worker_tasks(app):
    """Run what the request queued, as the worker would (in this process)."""
    jobs.bind(app)

    def run(later: bool = False) -> int:
        ran = 0
        while (task := queue.huey.dequeue()) is not None:
            queue.huey.execute(task)
            ran += 1
        if later:  # the retries, as if their delay had passed
            for task in queue.huey.read_schedule(datetime(9999, 1, 1)):
                queue.huey.execute(task, datetime(9999, 1, 1))
                ran += 1
        return ran

    yield run
    jobs._app = None


@pytest.fixture
def people(people, make_user):
    """One account of each role, and a second custodian (who reads Russian below)."""
    return {**people, "custodian_ru": make_user("custodian")}


def _interview(people, level="on_request"):
    interview = interviews.create_interview(
        people["interviewer"],
        {
            "title": TITLE,
            "summary": f"{NAME} tells of the square.",
            "speakers": [{"pseudonym": PSEUDONYM, "role": "narrator", "real_name": NAME}],
        },
    )
    unit_of_work.commit()
    consent.record_agreement(people["custodian"], interview, {"access_level": level})
    unit_of_work.commit()
    return interview


def _ask_through_the_page(client, researcher, interview):
    client.login_as(researcher)
    path = f"/access/request?interview={interview.id}"
    response = client.post_form(path, {"purpose": PURPOSE, "accept_terms": "y"})
    assert response.status_code == 302, response.status_code
    return db.session.scalar(select(AccessRequest).order_by(AccessRequest.id.desc()))


def _text(message) -> str:
    return f"{message['Subject']}\n{message.get_content()}"


def _assert_names_nowhere(inbox: Inbox) -> None:
    assert inbox.messages
    for _rcpt, message in inbox.messages:
        raw = message.as_string()
        for word in FORBIDDEN:
            assert word not in _text(message), (word, _text(message))
            assert word not in raw, word


def test_custodians_learn_of_a_new_request_after_the_request_not_inside_it(
    client, people, smtp, worker_tasks
):
    people["custodian_ru"].locale = "ru"
    db.session.commit()
    interview = _interview(people)
    request = _ask_through_the_page(client, people["researcher"], interview)
    assert smtp.inbox.messages == []  # nothing sent inside the request
    assert worker_tasks() == 1
    (english,) = smtp.inbox.to(people["custodian"].email)
    (russian,) = smtp.inbox.to(people["custodian_ru"].email)
    # Each custodian reads it in their own language.
    assert f"no. {request.id}" in english["Subject"]
    assert f"interview no. {interview.id}" in english.get_content()
    assert russian["Subject"].startswith("Новый запрос доступа")
    assert f"№ {request.id}" in russian["Subject"]
    for message in (english, russian):
        assert f"{BASE}/access/queue" in message.get_content()
        assert message["From"] == "archive@archive.example.org"
    assert not smtp.inbox.to(people["archivist"].email)
    assert not smtp.inbox.to(people["researcher"].email)
    _assert_names_nowhere(smtp.inbox)


def test_researcher_learns_the_decision_in_their_language_without_names(
    client, people, smtp, worker_tasks
):
    researcher = people["researcher"]
    researcher.locale = "ru"
    db.session.commit()
    interview = _interview(people)
    request = _ask_through_the_page(client, researcher, interview)
    until = date.today() + timedelta(days=200)
    consent.decide(
        people["custodian"], request, True, until.isoformat(), message=f"Mind {NAME}'s family."
    )
    unit_of_work.commit()
    worker_tasks()
    (message,) = smtp.inbox.to(researcher.email)
    body = message.get_content()
    assert f"{BASE}/interviews/{interview.id}" in body
    assert f"{BASE}/access/mine" in body
    # The date is written as a Russian reader writes it: the mail is in their locale.
    assert format_date(until, "medium", locale="ru") in body
    assert format_date(until, "medium", locale="en") not in body
    _assert_names_nowhere(smtp.inbox)


def test_nothing_is_queued_or_sent_without_an_smtp_host(app, client, people, smtp, worker_tasks):
    app.config["SMTP_HOST"] = None
    interview = _interview(people)
    request = _ask_through_the_page(client, people["researcher"], interview)
    consent.decide(people["custodian"], request, False)
    unit_of_work.commit()
    assert queue.huey.pending_count() == 0
    assert notifications.remind_expiring_grants() == 0
    assert worker_tasks() == 0
    assert smtp.inbox.messages == []


def test_an_smtp_failure_keeps_the_change_and_the_mail_is_retried(
    client, people, smtp, worker_tasks, caplog
):
    interview = _interview(people)
    smtp.stop()  # the mail server is down
    request = _ask_through_the_page(client, people["researcher"], interview)
    assert db.session.get(AccessRequest, request.id).status == "pending"  # the change is kept
    assert worker_tasks() == 1
    assert queue.huey.scheduled_count() == 1  # Huey will try again
    assert db.session.scalar(select(func.count()).select_from(SentNotification)) == 0
    assert any("to be retried" in r.getMessage() for r in caplog.records)
    smtp.start()
    worker_tasks(later=True)
    assert {m["To"] for _r, m in smtp.inbox.messages} == {
        people["custodian"].email,
        people["custodian_ru"].email,
    }
    assert len(smtp.inbox.messages) == 2


def _old_grant(people, interview, days_left: int, granted_days_ago: int = 300) -> Grant:
    request = consent.request_access(
        people["researcher"],
        {"interview_id": interview.id, "purpose": PURPOSE, "accept_terms": True},
    )
    unit_of_work.commit()
    grant = consent.decide(
        people["custodian"], request, True, (date.today() + timedelta(days=days_left)).isoformat()
    )
    unit_of_work.commit()
    grant.created_at = datetime.now() - timedelta(days=granted_days_ago)
    db.session.commit()
    return grant


def test_a_grant_ending_within_a_month_is_reminded_once(people, smtp, worker_tasks):
    interview = _interview(people)
    soon = _old_grant(people, interview, days_left=20)
    _old_grant(people, interview, days_left=90)  # not yet
    worker_tasks()  # the request and decision mails
    smtp.inbox.messages.clear()

    # Two workers (or two runs of the hourly task) queue the same reminder.
    assert notifications.remind_expiring_grants() == 1
    notifications.announce("grant_expiring", soon.id)
    worker_tasks()
    ((recipients, message),) = smtp.inbox.messages
    assert recipients == [people["researcher"].email]
    assert soon.expires_on.strftime("%Y") in message["Subject"]
    assert f"{BASE}/interviews/{interview.id}" in message.get_content()
    _assert_names_nowhere(smtp.inbox)
    # Once sent, it is recorded and never queued again.
    assert notifications.remind_expiring_grants() == 0
    assert notifications.deliver("grant_expiring", soon.id) == 0
    row = db.session.scalar(
        select(SentNotification).where(SentNotification.kind == "grant_expiring")
    )
    assert row.sent_at is not None and row.subject_key == f"grant:{soon.id}"
    # The database itself refuses a second record of the same message.
    db.session.add(
        SentNotification(kind=row.kind, subject_key=row.subject_key, recipient_id=row.recipient_id)
    )
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_a_short_grant_is_not_reminded_the_day_it_is_given(people, smtp, worker_tasks):
    interview = _interview(people)
    _old_grant(people, interview, days_left=10, granted_days_ago=0)
    assert notifications.remind_expiring_grants() == 0


def _upload(people, interview, name="named_narrator.flac") -> Recording:
    with storage.copy_to_incoming(FIXTURES / name) as temp:
        recording = recordings.add_recording(people["interviewer"], interview, temp, f"{NAME}.flac")
    unit_of_work.commit()
    return recording


def test_interviewer_is_told_when_a_transcription_is_done_without_its_text(
    people, smtp, worker_tasks
):
    interview = _interview(people)
    recording = _upload(people, interview)
    while queue.huey.dequeue() is not None:  # the transcription task: run it here
        pass
    pipeline.run(recording.id, "test:1")
    assert db.session.get(Recording, recording.id).status == "done"
    worker_tasks()
    (message,) = smtp.inbox.to(people["interviewer"].email)
    assert f"Interview no. {interview.id}: part 1 is transcribed" == message["Subject"]
    assert f"{BASE}/interviews/{interview.id}" in message.get_content()
    _assert_names_nowhere(smtp.inbox)  # neither the name nor what the narrator said


def test_interviewer_is_told_when_a_transcription_fails(people, smtp, worker_tasks):
    interview = _interview(people)
    recording = _upload(people, interview, "jfk.flac")
    while queue.huey.dequeue() is not None:
        pass
    storage.recordings_path(recording.master_key).unlink()  # the master is gone: the job fails
    pipeline.run(recording.id, "test:1")
    assert db.session.get(Recording, recording.id).status == "failed"
    worker_tasks()
    (message,) = smtp.inbox.to(people["interviewer"].email)
    assert "failed" in message["Subject"] and f"no. {interview.id}" in message["Subject"]
    _assert_names_nowhere(smtp.inbox)


def test_smtp_settings_come_from_the_environment(monkeypatch):
    from archive.config import smtp_config

    monkeypatch.delenv("ARCHIVE_SMTP_HOST", raising=False)
    assert smtp_config()["SMTP_HOST"] is None
    monkeypatch.setenv("ARCHIVE_SMTP_HOST", "mail.example.org")
    monkeypatch.setenv("ARCHIVE_SMTP_SSL", "1")
    monkeypatch.setenv("ARCHIVE_SMTP_USERNAME", "archive")
    config = smtp_config()
    assert (config["SMTP_HOST"], config["SMTP_PORT"], config["SMTP_SSL"]) == (
        "mail.example.org",
        465,
        True,
    )
    assert config["SMTP_STARTTLS"] is False and config["SMTP_USERNAME"] == "archive"
    monkeypatch.setenv("ARCHIVE_SMTP_SSL", "0")
    monkeypatch.setenv("ARCHIVE_SMTP_PORT", "2525")
    assert (smtp_config()["SMTP_PORT"], smtp_config()["SMTP_STARTTLS"]) == (2525, True)


def test_a_queue_that_is_down_loses_the_mail_not_the_request(client, people, smtp, caplog):
    from huey.storage import RedisStorage

    interview = _interview(people)
    kept = queue.huey.storage
    # A Redis queue whose server is not there (nothing listens on the port).
    queue.huey.storage = RedisStorage("archive", url=f"redis://127.0.0.1:{_free_port()}/0")
    try:
        request = _ask_through_the_page(client, people["researcher"], interview)
    finally:
        queue.huey.storage = kept
    assert request is not None and request.status == "pending"
    assert any("not queued" in r.getMessage() for r in caplog.records)
    assert smtp.inbox.messages == []


def test_the_archive_logs_in_when_a_username_is_set(app, people, worker_tasks):
    from aiosmtpd.smtp import AuthResult

    logins = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        logins.append((auth_data.login, auth_data.password))
        return AuthResult(success=auth_data.password == b"mail password")

    server = SmtpServer()
    server.controller = Controller(
        server.inbox,
        hostname="127.0.0.1",
        port=server.port,
        authenticator=authenticator,
        auth_require_tls=False,
    )
    server.controller.start()
    try:
        app.config.update(
            SMTP_PORT=server.port, SMTP_USERNAME="archive", SMTP_PASSWORD="mail password"
        )
        interview = _interview(people)
        consent.request_access(
            people["researcher"],
            {"interview_id": interview.id, "purpose": PURPOSE, "accept_terms": True},
        )
        unit_of_work.commit()
        worker_tasks()
    finally:
        server.stop()
    assert logins == [(b"archive", b"mail password")] * 2
    assert len(server.inbox.messages) == 2
