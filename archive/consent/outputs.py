"""What the API shows of agreements and access requests, as output models.

Free text someone typed (a purpose, a custodian's message) is shown as the reader
may read it, names of the interview asked for hidden as in its transcript
(``transcripts.rendering.request_hider``); who may see a request at all is the
policy's answer (``sees_access_request``).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Self

from archive import policy
from archive.errors import NotFoundError
from archive.models import AccessRequest, Agreement
from archive.schemas import View
from archive.transcripts import rendering


def _utc(moment: datetime) -> str:
    """A stored (naive UTC) moment as the API writes it."""
    return moment.isoformat() + "Z"


class AgreementView(View):
    """A version of an agreement, as those who record and read agreements see it
    (``see_agreements``, and the interviewer of record for the first one)."""

    version: int
    access_level: str
    audio: str
    identity: str
    named_speakers: list[Any]
    embargo_until: date | None
    notes: str
    withdrawn: bool
    document: bool
    recorded_at: str
    recorded_by: int | None

    @classmethod
    def of(cls, agreement: Agreement) -> Self:
        return cls(
            version=agreement.version,
            access_level=agreement.access_level,
            audio=agreement.audio_permission,
            identity=agreement.identity,
            named_speakers=agreement.named_speakers or [],
            embargo_until=agreement.embargo_until,
            notes=agreement.notes,
            withdrawn=agreement.withdrawn,
            document=bool(agreement.document_key),
            recorded_at=_utc(agreement.created_at),
            recorded_by=agreement.recorded_by_id,
        )


class AccessRequestView(View):
    """An access request as the researcher who asked and the custodians see it;
    ``of`` refuses everyone else (``policy.sees_access_request``) with a 404."""

    id: int
    interview_id: int | None
    collection_id: int | None
    status: str
    purpose: str
    message: str
    created_at: str

    @classmethod
    def of(cls, reader: Any, row: AccessRequest) -> Self:
        if not policy.sees_access_request(reader, row):
            raise NotFoundError()
        hide = rendering.request_hider(reader, row)
        return cls(
            id=row.id,
            interview_id=row.interview_id,
            collection_id=row.collection_id,
            status=row.status,
            purpose=hide(row.purpose or ""),
            message=hide(row.message or ""),
            created_at=_utc(row.created_at),
        )
