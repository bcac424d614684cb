"""The BagIt bag is built by the worker for one reader's view, kept a day, sealed.

Asked for, it is queued once (202), built under the reader's policy, served to that
reader only while they may still read it, and removed when it expires, when the
interview changes, is withdrawn or purged.
"""

from __future__ import annotations

import io
import os
import threading
import time
import urllib.error
import urllib.request
import zipfile
from datetime import date, timedelta

import bagit
import pytest
from sqlalchemy import select

from archive import consent, exports, queue, unit_of_work
from archive.extensions import db
from archive.models import AuditEvent, Grant
from archive.recordings import storage
from archive.transcripts import bags
from tests.helpers import bearer
from tests.narrated import forms_in


def _url(interview_id: int) -> str:
    return f"/api/v1/interviews/{interview_id}/bag.zip"


def _grant(people, interview) -> Grant:
    grant = Grant(
        researcher_id=people["researcher"].id,
        interview_id=interview.id,
        expires_on=date.today() + timedelta(days=30),
    )
    db.session.add(grant)
    db.session.commit()
    return grant


def _queued_bags() -> int:
    return sum(task.name == "build_bag" for task in queue.huey.pending())


def _kept(interview_id: int) -> list[str]:
    folder = storage.exports_dir(interview_id)
    return sorted(p.name for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def _bag_reads(interview_id: int) -> int:
    query = select(AuditEvent).where(
        AuditEvent.action == "read_export_bag", AuditEvent.interview_id == interview_id
    )
    return len(db.session.scalars(query).all())


def test_a_bag_is_queued_then_served_to_its_reader(client, people, interview, run_tasks, tmp_path):
    _grant(people, interview)
    headers = bearer(people["researcher"])
    asked = client.get(_url(interview.id), headers=headers)
    assert asked.status_code == 202
    assert asked.headers["Retry-After"] == str(bags.RETRY_AFTER_SECONDS)
    assert asked.json["status"] == "queued"
    status_url = asked.json["status_url"]
    assert client.get(status_url, headers=headers).json["status"] == "queued"
    again = client.get(_url(interview.id), headers=headers)
    assert again.status_code == 202 and _queued_bags() == 1  # asked twice, queued once
    assert _bag_reads(interview.id) == 0  # nothing was read yet

    assert run_tasks("build_bag") == 1
    assert client.get(status_url, headers=headers).json["status"] == "ready"
    response = client.get(_url(interview.id), headers=headers)
    assert response.status_code == 200
    assert response.mimetype == "application/zip"
    assert int(response.headers["Content-Length"]) == len(response.data)
    with zipfile.ZipFile(io.BytesIO(response.data)) as bundle:
        bundle.extractall(tmp_path)
    bag = bagit.Bag(str(tmp_path / f"interview-{interview.id}"))
    bag.validate()
    text = (tmp_path / f"interview-{interview.id}" / "data" / "transcript.txt").read_text()
    assert "The square was full of people." in text
    assert (tmp_path / f"interview-{interview.id}" / "data" / "audio" / "part-01.mp3").exists()
    db.session.expire_all()
    assert _bag_reads(interview.id) == 1  # the download is audited, as before
    assert _queued_bags() == 0


def test_a_browser_sees_the_bag_prepared_then_a_download_link(client, people, interview, run_tasks):
    client.login_as(people["archivist"])
    html = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
    page = client.get(_url(interview.id), headers=html)
    assert page.status_code == 202
    body = page.get_data(as_text=True)
    assert "is being prepared" in body
    assert 'http-equiv="refresh"' in body and f"/interviews/{interview.id}/bag" in body
    waiting = client.get(f"/interviews/{interview.id}/bag").get_data(as_text=True)
    assert "Waiting for a worker" in waiting and 'http-equiv="refresh"' in waiting
    run_tasks("build_bag")
    ready = client.get(f"/interviews/{interview.id}/bag").get_data(as_text=True)
    assert "Download the bag" in ready and _url(interview.id) in ready
    assert 'http-equiv="refresh"' not in ready
    assert client.get(_url(interview.id), headers=html).status_code == 200
    detail = client.get(f"/interviews/{interview.id}").get_data(as_text=True)
    assert _url(interview.id) in detail  # the interview page's link


def test_a_failed_build_says_so_and_is_retried_when_asked(
    client, people, interview, run_tasks, monkeypatch
):
    headers = bearer(people["archivist"])
    client.get(_url(interview.id), headers=headers)

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(exports, "write_bag", broken)
    run_tasks("build_bag")
    failed = client.get(_url(interview.id), headers=headers)
    assert failed.status_code == 500
    assert failed.json["status"] == "failed" and "could not be built" in failed.json["error"]
    assert _queued_bags() == 0  # a failure is not retried behind the reader's back
    assert _kept(interview.id) == [f for f in _kept(interview.id) if f.endswith(".json")]
    client.login_as(people["archivist"])
    page = client.get(f"/interviews/{interview.id}/bag").get_data(as_text=True)
    assert "could not be built" in page and "retry=1" in page

    monkeypatch.undo()
    retried = client.get(failed.json["retry_url"], headers=headers)
    assert retried.status_code == 202 and _queued_bags() == 1
    run_tasks("build_bag")
    assert client.get(_url(interview.id), headers=headers).status_code == 200


def test_a_reader_who_lost_access_before_the_build_gets_404_and_no_bag(
    client, people, interview, run_tasks
):
    grant = _grant(people, interview)
    headers = bearer(people["researcher"])
    assert client.get(_url(interview.id), headers=headers).status_code == 202
    consent.revoke_grant(people["custodian"], grant)
    unit_of_work.commit()
    run_tasks("build_bag")  # the worker asks the policy again: nothing is built
    assert not [name for name in _kept(interview.id) if name.endswith(".zip.sealed")]
    assert client.get(_url(interview.id), headers=headers).status_code == 404
    assert client.get(f"/api/v1/interviews/{interview.id}/bag", headers=headers).status_code == 404


def test_a_reader_who_lost_access_after_the_build_gets_404(client, people, interview, fetch_bag):
    grant = _grant(people, interview)
    headers = bearer(people["researcher"])
    assert fetch_bag(interview.id, headers).status_code == 200
    consent.revoke_grant(people["custodian"], grant)
    unit_of_work.commit()
    assert client.get(_url(interview.id), headers=headers).status_code == 404
    db.session.expire_all()
    assert _bag_reads(interview.id) == 1


def test_a_bag_is_not_served_to_a_reader_of_another_view(client, people, interview, run_tasks):
    """The archivist hears the full copy, the researcher the redacted one: the
    archivist's ready bag is not the researcher's, who gets a build of their own."""
    _grant(people, interview)
    archivist, researcher = bearer(people["archivist"]), bearer(people["researcher"])
    client.get(_url(interview.id), headers=archivist)
    run_tasks("build_bag")
    assert client.get(_url(interview.id), headers=archivist).status_code == 200
    assert client.get(_url(interview.id), headers=researcher).status_code == 202
    run_tasks("build_bag")
    assert client.get(_url(interview.id), headers=researcher).status_code == 200
    assert len([n for n in _kept(interview.id) if n.endswith(".zip.sealed")]) == 2


def test_readers_of_the_same_view_share_one_bag(client, people, interview, run_tasks, make_user):
    _grant(people, interview)
    other = make_user("researcher")
    db.session.add(
        Grant(
            researcher_id=other.id,
            interview_id=interview.id,
            expires_on=date.today() + timedelta(days=30),
        )
    )
    db.session.commit()
    client.get(_url(interview.id), headers=bearer(people["researcher"]))
    run_tasks("build_bag")
    assert client.get(_url(interview.id), headers=bearer(other)).status_code == 200


def test_an_edit_outdates_the_bag_at_once_and_the_sweep_removes_it(
    client, people, interview, fetch_bag, run_tasks
):
    headers = bearer(people["archivist"])
    assert fetch_bag(interview.id, headers).status_code == 200
    before = _kept(interview.id)
    segment = interview.recordings[0].segments[0]
    edited = client.patch(
        f"/api/v1/segments/{segment.id}",
        json={"text": "The square was empty.", "version": segment.version},
        headers=headers,
    )
    assert edited.status_code == 200, edited.json
    assert client.get(_url(interview.id), headers=headers).status_code == 202
    assert bags.sweep() >= 1
    assert not set(before) & set(_kept(interview.id))  # the old bag is gone
    run_tasks("build_bag")
    response = client.get(_url(interview.id), headers=headers)
    with zipfile.ZipFile(io.BytesIO(response.data)) as bundle:
        name = next(n for n in bundle.namelist() if n.endswith("data/transcript.txt"))
        assert "The square was empty." in bundle.read(name).decode()


def test_a_bag_expires_after_a_day(client, people, interview, fetch_bag):
    headers = bearer(people["archivist"])
    assert fetch_bag(interview.id, headers).status_code == 200
    day_ago = time.time() - bags.BAG_HOURS * 3600 - 60
    for path in storage.exports_dir(interview.id).glob("bag-*"):
        os.utime(path, (day_ago, day_ago))
    assert bags.sweep() == 1
    assert _kept(interview.id) == []
    assert client.get(_url(interview.id), headers=headers).status_code == 202


def test_withdrawal_removes_the_ready_bags(client, people, interview, fetch_bag):
    assert fetch_bag(interview.id, bearer(people["archivist"])).status_code == 200
    assert fetch_bag(interview.id, bearer(people["custodian"])).status_code == 200
    assert _kept(interview.id)
    consent.withdraw(people["custodian"], interview, "the narrator asked")
    unit_of_work.commit()
    assert _kept(interview.id) == []
    assert client.get(_url(interview.id), headers=bearer(people["archivist"])).status_code == 404


def test_purge_removes_the_bags_made_after_the_withdrawal(client, people, interview, fetch_bag):
    consent.withdraw(people["custodian"], interview, "the narrator asked")
    unit_of_work.commit()
    if fetch_bag(interview.id, bearer(people["custodian"])).status_code != 200:
        pytest.skip("the policy lets nobody export a withdrawn interview")
    assert _kept(interview.id)
    consent.purge_masters(people["custodian"], interview, interview.title)
    unit_of_work.commit()
    assert _kept(interview.id) == []


def test_the_sweep_removes_the_bags_of_a_reader_who_lost_access(people, interview, fetch_bag):
    grant = _grant(people, interview)
    assert fetch_bag(interview.id, bearer(people["researcher"])).status_code == 200
    consent.revoke_grant(people["custodian"], grant)
    unit_of_work.commit()
    assert bags.sweep() == 1
    assert _kept(interview.id) == []


# -- at the same time ----------------------------------------------------------------


def _at_once(live_server: str, url: str, headers: list[dict]) -> list[int]:
    """One request per header set, released together (a thread each)."""
    barrier, answers = threading.Barrier(len(headers)), [0] * len(headers)

    def ask(number: int) -> None:
        request = urllib.request.Request(live_server + url, headers=headers[number])  # noqa: S310
        barrier.wait()
        try:
            with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
                answers[number] = response.status
        except urllib.error.HTTPError as exc:
            answers[number] = exc.code

    threads = [threading.Thread(target=ask, args=(n,)) for n in range(len(headers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def test_requests_at_once_queue_one_build(live_server, people, interview):
    headers = bearer(people["archivist"])
    assert _at_once(live_server, _url(interview.id), [headers] * 6) == [202] * 6
    assert _queued_bags() == 1


@pytest.mark.narrated
def test_custodian_and_researcher_at_once_each_get_their_own_view(
    live_server, narrated, people, run_tasks
):
    """The custodian reads the transcript as spoken, the narrator's name included;
    asked at the same moment, the researcher's bag is still the pseudonymised one."""
    interview_id = narrated["interview"].id
    custodian, researcher = bearer(people["custodian"]), bearer(people["researcher"])
    answers = _at_once(live_server, _url(interview_id), [custodian, researcher] * 3)
    assert answers == [202] * 6
    assert _queued_bags() == 2
    run_tasks("build_bag")
    texts = {}
    for who, headers in (("custodian", custodian), ("researcher", researcher)):
        # From the same address: the links in a bag are the reader's, so the view too.
        request = urllib.request.Request(live_server + _url(interview_id), headers=headers)  # noqa: S310
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
            assert response.status == 200
            body = response.read()
        with zipfile.ZipFile(io.BytesIO(body)) as bundle:
            name = next(n for n in bundle.namelist() if n.endswith("data/transcript.txt"))
            texts[who] = bundle.read(name).decode()
    assert forms_in(texts["researcher"]) == []
    assert "Svetlana" in texts["researcher"]
    assert forms_in(texts["custodian"])  # so the two really differ by the name


# -- a real worker -------------------------------------------------------------------


def test_a_worker_process_builds_the_bag(client, people, interview, worker):
    headers = bearer(people["archivist"])
    asked = client.get(_url(interview.id), headers=headers)
    assert asked.status_code == 202
    worker.start()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        status = client.get(asked.json["status_url"], headers=headers).json["status"]
        if status == "ready":
            break
        time.sleep(0.5)
    assert status == "ready", worker.logs()[-3000:]
    response = client.get(_url(interview.id), headers=headers)
    assert response.status_code == 200
    with zipfile.ZipFile(io.BytesIO(response.data)) as bundle:
        assert f"interview-{interview.id}/bagit.txt" in bundle.namelist()


def test_a_visitor_gets_the_bag_of_an_open_interview_and_nothing_more(
    client, people, interview, run_tasks
):
    """Visitors share one view of an open interview; a sealed one is the same 404."""
    assert client.get(_url(interview.id)).status_code == 404  # on request: not theirs
    interview.access_level = "open"
    db.session.commit()
    assert client.get(_url(interview.id)).status_code == 202
    run_tasks("build_bag")
    response = client.get(_url(interview.id))
    assert response.status_code == 200
    with zipfile.ZipFile(io.BytesIO(response.data)) as bundle:
        name = next(n for n in bundle.namelist() if n.endswith("data/transcript.txt"))
        assert "The square was full of people." in bundle.read(name).decode()
    # The archivist's view (the full audio) is not the visitor's: built apart.
    assert client.get(_url(interview.id), headers=bearer(people["archivist"])).status_code == 202
