"""What narrators agreed to, and the access researchers ask for and are given."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from archive.models.base import Base, utcnow
from archive.models.types import EncryptedText

ACCESS_LEVELS = ("sealed", "catalogue", "on_request", "open")
AUDIO_PERMISSIONS = ("none", "redacted", "full")
IDENTITY_CHOICES = ("pseudonym", "named")
REQUEST_STATUSES = ("pending", "approved", "refused")


class Agreement(Base):
    """One version of an interview's consent; append-only, the newest is in force."""

    __tablename__ = "agreements"
    __table_args__ = (UniqueConstraint("interview_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    interview_id: Mapped[int] = mapped_column(ForeignKey("interviews.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    access_level: Mapped[str] = mapped_column(String(20), default="sealed")
    audio_permission: Mapped[str] = mapped_column(String(20), default="none")
    identity: Mapped[str] = mapped_column(String(20), default="pseudonym")
    # With identity "named": the ids of the speakers who chose to be named. Nobody
    # else is ever shown by name, whatever their role.
    named_speakers: Mapped[list | None] = mapped_column(JSON)
    embargo_until: Mapped[date | None]
    notes: Mapped[str] = mapped_column(EncryptedText, default="")
    document_key: Mapped[str | None] = mapped_column(String(200))
    document_sha256: Mapped[str | None] = mapped_column(String(64))
    withdrawn: Mapped[bool] = mapped_column(Boolean, default=False)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    interview = relationship("Interview", back_populates="agreements")


class AccessRequest(Base):
    __tablename__ = "access_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    researcher_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    interview_id: Mapped[int | None] = mapped_column(ForeignKey("interviews.id"), index=True)
    collection_id: Mapped[int | None] = mapped_column(ForeignKey("collections.id"), index=True)
    # Typed by people: encrypted at rest, shown through ``redaction.hider``.
    purpose: Mapped[str] = mapped_column(EncryptedText)
    accepted_terms: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    message: Mapped[str] = mapped_column(EncryptedText, default="")
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    researcher = relationship("User", foreign_keys=[researcher_id])


class Grant(Base):
    """Permission for one researcher to read an interview or a whole collection."""

    __tablename__ = "grants"

    id: Mapped[int] = mapped_column(primary_key=True)
    researcher_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    interview_id: Mapped[int | None] = mapped_column(ForeignKey("interviews.id"), index=True)
    collection_id: Mapped[int | None] = mapped_column(ForeignKey("collections.id"), index=True)
    request_id: Mapped[int | None] = mapped_column(ForeignKey("access_requests.id"))
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_on: Mapped[date | None]
    ended_at: Mapped[datetime | None]
    ended_reason: Mapped[str] = mapped_column(String(200), default="")
