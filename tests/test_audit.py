"""The audit log's hash chain, and ``flask audit verify`` catching tampering."""

from __future__ import annotations

import threading
import time

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from archive import audit, unit_of_work
from archive.extensions import db


def _events(count: int) -> None:
    for number in range(count):
        audit.record(db.session, "test_event", None, object_type="thing", object_id=number)
    db.session.commit()


def test_intact_chain_verifies(runner, app):
    _events(5)
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0
    assert "intact: 5 events" in result.output


def test_edited_event_is_detected(runner, app):
    _events(5)
    db.session.execute(text("UPDATE audit_events SET action = 'nothing_to_see' WHERE seq = 3"))
    db.session.commit()
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert "event 3: was altered after it was written" in result.output


def test_deleted_event_is_detected(runner, app):
    _events(5)
    db.session.execute(text("DELETE FROM audit_events WHERE seq = 2"))
    db.session.commit()
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert "events 2..2 are missing" in result.output


def test_deleted_newest_event_is_detected(runner, app):
    _events(5)
    db.session.execute(text("DELETE FROM audit_events WHERE seq = 5"))
    db.session.commit()
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert "newest events up to 5 are missing" in result.output


def test_rewritten_event_with_recomputed_hash_breaks_the_link(runner, app):
    _events(4)
    event = db.session.scalar(db.select(audit.AuditEvent).where(audit.AuditEvent.seq == 2))
    event.action = "forged"
    event.hash = audit._digest(event)
    db.session.commit()
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert "event 3: does not follow the event before it" in result.output


def test_custodian_sees_the_audit_page_and_researcher_does_not(client, make_user):
    custodian, researcher = make_user("custodian"), make_user("researcher")
    client.login_as(custodian)
    page = client.get("/audit/").get_data(as_text=True)
    assert "user_created" in page
    client.login_as(researcher)
    assert client.get("/audit/").status_code == 404


def test_concurrent_appends_queue_on_the_head_and_keep_one_chain(app):
    """Writers on their own connections append at once: the head row's UPDATE
    holds each one until the one before commits (SQLite's write lock, a row lock
    on PostgreSQL), so no sequence number is taken twice and the chain verifies."""
    writers, events, hold = 4, 5, 0.05
    start = threading.Barrier(writers)
    failures: list[BaseException] = []
    engine = db.engine

    def write(number: int) -> None:
        try:
            with Session(engine) as session:
                start.wait()
                for event in range(events):
                    audit.record(session, "concurrent", None, object_id=number * 100 + event)
                    time.sleep(hold)  # the others pile up on the head meanwhile
                    session.commit()
        except BaseException as exc:  # reported below, not lost in the thread
            failures.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    elapsed = time.monotonic() - began
    assert failures == []
    # Serialised: each transaction held the head for ``hold`` seconds in turn.
    assert elapsed >= writers * events * hold
    db.session.expire_all()
    assert audit.verify(db.session) == []
    concurrent = select(func.count()).where(audit.AuditEvent.action == "concurrent")
    assert db.session.scalar(concurrent) == writers * events


def _rebuild_chain_without_the_key():
    """What someone who can write the database (but lacks the audit key) would do
    after editing an event: recompute every hash with the published algorithm."""
    import hashlib
    import json

    from sqlalchemy import select, update

    from archive.models import AuditEvent, AuditHead

    previous = "0" * 64
    for event in db.session.scalars(select(AuditEvent).order_by(AuditEvent.seq)):
        payload = {
            "seq": event.seq,
            "created_at": event.created_at.isoformat(timespec="microseconds"),
            "actor_id": event.actor_id,
            "actor_email": event.actor_email,
            "action": event.action,
            "interview_id": event.interview_id,
            "object_type": event.object_type,
            "object_id": event.object_id,
            "details": event.details,
            "prev_hash": previous,
        }
        canonical = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        event.prev_hash = previous
        event.hash = previous = hashlib.sha256(canonical.encode()).hexdigest()
        db.session.flush()
    db.session.execute(update(AuditHead).where(AuditHead.id == 1).values(hash=previous))
    db.session.commit()


def test_a_chain_rebuilt_without_the_audit_key_does_not_verify(app, make_user, runner):
    from sqlalchemy import select

    from archive.models import AuditEvent

    make_user("admin")
    make_user("custodian")
    assert runner.invoke(args=["audit", "verify"]).exit_code == 0
    first = db.session.scalars(select(AuditEvent).order_by(AuditEvent.seq)).first()
    first.details = '{"role": "researcher"}'
    _rebuild_chain_without_the_key()
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1


def test_audit_csv_neutralises_cells_that_start_like_formulas(client, make_user):
    import csv
    import io

    from archive.accounts import tokens

    custodian = make_user("custodian")
    hostile = ["=cmd|'/c_calc'!A1@example.org", "+1@example.org", "-2@example.org"]
    for email in hostile:
        user = make_user("researcher", email=email)
        tokens.issue_token(user, user)  # an event whose actor_email is the address
        unit_of_work.commit()
    client.login_as(custodian)
    body = client.get("/audit/events.csv").get_data(as_text=True)
    cells = [cell for row in csv.reader(io.StringIO(body)) for cell in row]
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@")], body
    assert "'=cmd|'/c_calc'!a1@example.org" in [c.lower() for c in cells]


def test_migration_rekeys_an_existing_unkeyed_chain(databases, tmp_path):
    from flask_migrate import upgrade

    from archive import create_app
    from tests.helpers import archive_config

    url = databases.new(None, tmp_path)
    config = archive_config(tmp_path, url)
    try:
        app = create_app(config)
        with app.app_context():
            upgrade(revision="0008")  # before 0009 keyed the chain
            _events(3)  # hashed under the key, then rebuilt as the old version wrote them
            _rebuild_chain_without_the_key()
            upgrade()
            assert audit.verify(db.session) == []
            db.session.remove()
            db.engine.dispose()
    finally:
        databases.drop(url)
