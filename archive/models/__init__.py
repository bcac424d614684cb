"""SQLAlchemy models: plain classes with no Flask import and no commits."""

from archive.models.accounts import ROLES, ApiToken, User, UserSession
from archive.models.audit import AuditEvent, AuditHead
from archive.models.base import Base, utcnow
from archive.models.consent import (
    ACCESS_LEVELS,
    AUDIO_PERMISSIONS,
    IDENTITY_CHOICES,
    AccessRequest,
    Agreement,
    Grant,
)
from archive.models.interviews import (
    JOB_STATUSES,
    SPEAKER_ROLES,
    TRANSLATION_STATUSES,
    Collection,
    IndexPoint,
    Interview,
    Recording,
    Redaction,
    Revision,
    Segment,
    SegmentTranslation,
    Speaker,
)
from archive.models.notifications import SentNotification

__all__ = [
    "ACCESS_LEVELS",
    "AUDIO_PERMISSIONS",
    "IDENTITY_CHOICES",
    "JOB_STATUSES",
    "ROLES",
    "SPEAKER_ROLES",
    "TRANSLATION_STATUSES",
    "AccessRequest",
    "Agreement",
    "ApiToken",
    "AuditEvent",
    "AuditHead",
    "Base",
    "Collection",
    "Grant",
    "IndexPoint",
    "Interview",
    "Recording",
    "Redaction",
    "Revision",
    "Segment",
    "SegmentTranslation",
    "SentNotification",
    "Speaker",
    "User",
    "UserSession",
    "utcnow",
]
