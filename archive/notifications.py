"""E-mail notifications, sent by the task queue in each recipient's language.

Who is told what:

- custodians, of a new access request;
- the researcher, of the decision on theirs, and a month before a grant ends;
- the interviewer of record (else whoever uploaded the part), when a
  transcription is done or has failed.

Services call ``announce`` after their change is committed: it only puts a task on
the queue (nothing is sent inside a request, and nothing at all without
``ARCHIVE_SMTP_HOST``). The task (``deliver``) claims each message in
``sent_notifications`` before sending it: the unique row is what keeps two workers,
or a retry, from sending it twice. A message that fails to go releases its claim
and raises, so Huey tries it again later. ``deliver`` commits itself
(``unit_of_work.commit()``), around each message: the committed claim is the guard
against a second sender, so it must be durable before the mail leaves.

What a message holds: numbers, dates, states and links. Never a real name, a
pseudonym, a title, a purpose or a custodian's message, nor transcript text:
anything a person typed may hold a name, and a mail leaves the archive's control.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from dataclasses import dataclass
from datetime import date, timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

from flask import current_app, url_for
from flask_babel import force_locale, format_date, gettext
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from archive import policy, queue, unit_of_work
from archive.extensions import db
from archive.i18n import DEFAULT_LANGUAGE, LANGUAGES
from archive.models import AccessRequest, Grant, Recording, SentNotification, User, utcnow

log = logging.getLogger(__name__)

KINDS = (
    "access_requested",
    "access_decided",
    "grant_expiring",
    "transcription_done",
    "transcription_failed",
)
#: A researcher is reminded this many days before a grant ends.
REMIND_DAYS = 30


@dataclass(frozen=True)
class Message:
    subject: str
    body: str


def enabled(config: Any = None) -> bool:
    return bool((config or current_app.config).get("SMTP_HOST"))


def announce(kind: str, object_id: int, attempt: int = 0) -> None:
    """Queue the notification of ``kind`` about ``object_id`` (after the change is
    committed). Never raises: a queue that is down loses a mail, never the change."""
    if kind not in KINDS:
        raise ValueError(f"unknown notification {kind!r}")
    if not enabled():
        return
    try:
        queue.enqueue_notification(kind, object_id, attempt)
    except Exception as exc:
        log.error("notification %s of %s not queued (%s)", kind, object_id, type(exc).__name__)


# -- the task's side ---------------------------------------------------------------


def deliver(kind: str, object_id: int, attempt: int = 0) -> int:
    """Send the notification to each of its recipients not yet sent to; returns how
    many went. Raises when the SMTP server fails, after releasing that claim."""
    config = current_app.config
    if not enabled(config):
        return 0
    found = _RECIPIENTS[kind](object_id)
    if found is None:
        log.info("notification %s: %s is gone or no longer due", kind, object_id)
        return 0
    subject, recipients = found
    key = f"{subject}:{attempt}" if attempt else subject
    sent = 0
    for user in recipients:
        if user is None or not user.active or not _claim(kind, key, user.id):
            continue
        try:
            message = render(kind, object_id, user)
            send(config, user.email, message)
        except Exception:
            _release(kind, key, user.id)
            log.warning("notification %s %s to user %s failed; to be retried", kind, key, user.id)
            raise
        db.session.execute(
            SentNotification.__table__.update()
            .where(
                SentNotification.kind == kind,
                SentNotification.subject_key == key,
                SentNotification.recipient_id == user.id,
            )
            .values(sent_at=utcnow())
        )
        unit_of_work.commit()
        sent += 1
        log.info("notification %s %s sent to user %s", kind, key, user.id)
    return sent


def _claim(kind: str, key: str, user_id: int) -> bool:
    db.session.add(SentNotification(kind=kind, subject_key=key, recipient_id=user_id))
    try:
        unit_of_work.commit()
    except IntegrityError:
        db.session.rollback()
        return False
    return True


def _release(kind: str, key: str, user_id: int) -> None:
    db.session.rollback()
    db.session.execute(
        delete(SentNotification).where(
            SentNotification.kind == kind,
            SentNotification.subject_key == key,
            SentNotification.recipient_id == user_id,
            SentNotification.sent_at.is_(None),
        )
    )
    unit_of_work.commit()


def _active(action: str) -> list[User]:
    """The active accounts whose role may do ``action`` (the policy's global rules)."""
    roles = policy.roles_for(action)
    return list(
        db.session.scalars(
            select(User).where(User.role.in_(roles), User.active.is_(True)).order_by(User.id)
        )
    )


def _request_custodians(request_id: int):
    request = db.session.get(AccessRequest, request_id)
    if request is None or request.status != "pending":
        return None
    return f"request:{request.id}", _active("decide_access")


def _request_researcher(request_id: int):
    request = db.session.get(AccessRequest, request_id)
    if request is None or request.status == "pending":
        return None
    return f"request:{request.id}", [db.session.get(User, request.researcher_id)]


def _grant_researcher(grant_id: int):
    grant = db.session.get(Grant, grant_id)
    if grant is None or not _due_for_reminder(grant):
        return None
    return f"grant:{grant.id}", [db.session.get(User, grant.researcher_id)]


def _recording_interviewer(recording_id: int):
    recording = db.session.get(Recording, recording_id)
    if recording is None:
        return None
    interview = recording.interview
    user_id = interview.interviewer_id or recording.uploaded_by_id
    if user_id is None or interview.withdrawn_at is not None:
        return None
    return f"recording:{recording.id}", [db.session.get(User, user_id)]


_RECIPIENTS = {
    "access_requested": _request_custodians,
    "access_decided": _request_researcher,
    "grant_expiring": _grant_researcher,
    "transcription_done": _recording_interviewer,
    "transcription_failed": _recording_interviewer,
}


# -- the grant reminders -----------------------------------------------------------


def _due_for_reminder(grant: Grant, today: date | None = None) -> bool:
    """In force, ending within ``REMIND_DAYS``, and granted for longer than that (a
    short grant is not "reminded" the day it is given)."""
    today = today or date.today()
    return (
        grant.ended_at is None
        and grant.expires_on is not None
        and today <= grant.expires_on <= today + timedelta(days=REMIND_DAYS)
        and grant.created_at.date() < grant.expires_on - timedelta(days=REMIND_DAYS)
    )


def remind_expiring_grants(today: date | None = None) -> int:
    """Queue a reminder for each grant ending within a month that has none yet."""
    if not enabled():
        return 0
    today = today or date.today()
    reminded = set(
        db.session.scalars(
            select(SentNotification.subject_key).where(SentNotification.kind == "grant_expiring")
        )
    )
    grants = db.session.scalars(
        select(Grant).where(
            Grant.ended_at.is_(None),
            Grant.expires_on >= today,
            Grant.expires_on <= today + timedelta(days=REMIND_DAYS),
        )
    )
    queued = 0
    for grant in grants:
        if _due_for_reminder(grant, today) and f"grant:{grant.id}" not in reminded:
            announce("grant_expiring", grant.id)
            queued += 1
    return queued


# -- the messages ------------------------------------------------------------------


def render(kind: str, object_id: int, user: User) -> Message:
    """The message in the recipient's language, with links to the archive's pages."""
    locale = user.locale if user.locale in LANGUAGES else DEFAULT_LANGUAGE
    base = current_app.config.get("BASE_URL") or "http://localhost:5000"
    with current_app.test_request_context(base_url=base), force_locale(locale):
        return _RENDERERS[kind](object_id)


def _link(endpoint: str, **values: Any) -> str:
    return url_for(endpoint, _external=True, **values)


def _target(row: Any) -> tuple[str, str]:
    """What a request or grant is for, by number only, and its link."""
    if row.interview_id:
        return (
            gettext("interview no. %(number)d", number=row.interview_id),
            _link("interviews.detail", interview_id=row.interview_id),
        )
    return (
        gettext("collection no. %(number)d", number=row.collection_id),
        _link("interviews.index", collection=row.collection_id),
    )


def _signature() -> str:
    return "\n\n-- \n" + gettext(
        "The Testimony Archive. This message names no narrator: open the link to read more."
    )


def _access_requested(request_id: int) -> Message:
    request = db.session.get(AccessRequest, request_id)
    what, _url = _target(request)
    return Message(
        gettext("New access request no. %(number)d", number=request.id),
        gettext(
            "A researcher asks for access to %(what)s.\n\nDecide here: %(url)s",
            what=what,
            url=_link("consent.queue"),
        )
        + _signature(),
    )


def _access_decided(request_id: int) -> Message:
    request = db.session.get(AccessRequest, request_id)
    what, url = _target(request)
    if request.status == "approved":
        grant = db.session.scalar(select(Grant).where(Grant.request_id == request.id))
        until = format_date(grant.expires_on) if grant and grant.expires_on else "—"
        subject = gettext("Your access request no. %(number)d is approved", number=request.id)
        body = gettext(
            "You may now read %(what)s until %(until)s: %(url)s", what=what, until=until, url=url
        )
    else:
        subject = gettext("Your access request no. %(number)d is refused", number=request.id)
        body = gettext("Your request for access to %(what)s is refused.", what=what)
    body += "\n\n" + gettext(
        "The custodian's message, if any, is on your access page: %(url)s",
        url=_link("consent.mine"),
    )
    return Message(subject, body + _signature())


def _grant_expiring(grant_id: int) -> Message:
    grant = db.session.get(Grant, grant_id)
    what, url = _target(grant)
    until = format_date(grant.expires_on)
    return Message(
        gettext("Your access to %(what)s ends on %(until)s", what=what, until=until),
        gettext(
            "Your access to %(what)s ends on %(until)s: %(url)s\n\n"
            "To go on reading it, ask for access again before then: %(mine)s",
            what=what,
            until=until,
            url=url,
            mine=_link("consent.mine"),
        )
        + _signature(),
    )


def _transcription(recording_id: int, done: bool) -> Message:
    recording = db.session.get(Recording, recording_id)
    number, part = recording.interview_id, recording.position
    url = _link("interviews.detail", interview_id=number)
    if done:
        subject = gettext(
            "Interview no. %(number)d: part %(part)d is transcribed", number=number, part=part
        )
        body = gettext(
            "The machine transcript of part %(part)d of interview no. %(number)d is ready "
            "to check: %(url)s",
            part=part,
            number=number,
            url=url,
        )
    else:
        subject = gettext(
            "Interview no. %(number)d: the transcription of part %(part)d failed",
            number=number,
            part=part,
        )
        body = gettext(
            "The transcription of part %(part)d of interview no. %(number)d failed. The "
            "interview's page says why and lets you try again: %(url)s",
            part=part,
            number=number,
            url=url,
        )
    return Message(subject, body + _signature())


_RENDERERS = {
    "access_requested": _access_requested,
    "access_decided": _access_decided,
    "grant_expiring": _grant_expiring,
    "transcription_done": lambda object_id: _transcription(object_id, True),
    "transcription_failed": lambda object_id: _transcription(object_id, False),
}


# -- SMTP --------------------------------------------------------------------------


def send(config: Any, to: str, message: Message) -> None:
    """One message through the configured SMTP server (stdlib ``smtplib``)."""
    mail = EmailMessage()
    mail["From"] = config["SMTP_FROM"]
    mail["To"] = to
    mail["Subject"] = message.subject
    mail["Date"] = formatdate(localtime=False)
    mail["Message-ID"] = make_msgid(domain=config["SMTP_FROM"].rpartition("@")[2] or None)
    mail.set_content(message.body)
    host, port, timeout = config["SMTP_HOST"], config["SMTP_PORT"], config["SMTP_TIMEOUT"]
    context = ssl.create_default_context()
    if config.get("SMTP_SSL"):
        smtp = smtplib.SMTP_SSL(host, port, timeout=timeout, context=context)
    else:
        smtp = smtplib.SMTP(host, port, timeout=timeout)
    with smtp:
        if config.get("SMTP_STARTTLS"):
            smtp.starttls(context=context)
        if config.get("SMTP_USERNAME"):
            smtp.login(config["SMTP_USERNAME"], config.get("SMTP_PASSWORD") or "")
        smtp.send_message(mail)
