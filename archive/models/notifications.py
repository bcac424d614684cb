"""E-mails the archive has sent: one row per message, so none is sent twice."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from archive.models.base import Base, utcnow


class SentNotification(Base):
    """A notification claimed for sending (``sent_at`` None) or sent.

    The unique constraint is what makes a message go once: two workers running the
    same reminder both try to insert the row, and only one succeeds and sends.
    ``subject_key`` names what the message is about ("request:12", "grant:7"),
    ids only: no name, no title, no text.
    """

    __tablename__ = "sent_notifications"
    __table_args__ = (UniqueConstraint("kind", "subject_key", "recipient_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    subject_key: Mapped[str] = mapped_column(String(60))
    recipient_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
