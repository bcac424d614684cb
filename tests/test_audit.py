"""The audit log's hash chain, and ``flask audit verify`` catching tampering."""

from __future__ import annotations

import threading
import time

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from archive import audit
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
