"""What catalogues and search engines read of an interview: Dublin Core and
schema.org JSON-LD, as one reader may see its catalogue entry.

The interview page carries both for its reader (a search engine is a visitor);
OAI-PMH serves the Dublin Core of what a visitor sees (archive/publishing/oai.py). Every
typed field comes through ``rendering.metadata_for`` and every speaker through
``identity.display_name``: a pseudonym unless the narrator chose to be named and
the reader may read them. Nothing of the transcript or its contents is here.
"""

from __future__ import annotations

from typing import Any

from flask import url_for

from archive import policy
from archive.exports.common import ORGANIZATION
from archive.interviews import identity
from archive.models import Interview
from archive.recordings import listening_copies
from archive.timecodes import iso_duration
from archive.transcripts import citations, rendering

RIGHTS = {
    "open": "Open: the transcript and (where the narrator allowed) the recording can be "
    "read and heard at the archive's address.",
    "on_request": "On request: the transcript can be read by researchers the archive grants "
    "access to.",
    "catalogue": "Catalogue only: the transcript is kept closed by the narrator's agreement.",
    "sealed": "Sealed by the narrator's agreement.",
}


def _length(interview: Interview) -> float:
    return sum(r.duration or 0 for r in interview.recordings)


def dublin_core(user: Any, interview: Interview) -> list[tuple[str, str]]:
    """(Dublin Core element, value) pairs of the catalogue entry as ``user`` sees it."""
    shown = rendering.metadata_for(user, interview)
    fields = [("title", shown.title)]
    for speaker in interview.speakers:
        element = "creator" if speaker.role == "narrator" else "contributor"
        fields.append((element, identity.display_name(user, speaker)))
    fields += [
        ("description", shown.summary),
        ("date", interview.recorded_on.isoformat() if interview.recorded_on else ""),
        ("coverage", shown.place),
        ("language", interview.language or ""),
        ("type", "Sound"),
        ("type", "oral history interview"),
        ("format", iso_duration(_length(interview))),
        ("relation", shown.collection or ""),
        ("publisher", ORGANIZATION),
        ("rights", RIGHTS.get(interview.access_level, "")),
        ("identifier", citations.interview_url(interview)),
    ]
    return [(name, value) for name, value in fields if value and value.strip()]


def json_ld(user: Any, interview: Interview) -> dict[str, Any]:
    """schema.org: a ``CreativeWork`` (an oral history interview) with its parts as
    ``AudioObject``s (their address only for a reader who may hear them), its
    speakers as contributors under the names the reader may see."""
    shown = rendering.metadata_for(user, interview)
    url = citations.interview_url(interview)
    may_listen = policy.audio_variant(user, interview) is not None
    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "CreativeWork",
        "@id": url,
        "url": url,
        "name": shown.title,
        "genre": "oral history interview",
        "description": shown.summary or None,
        "dateCreated": interview.recorded_on.isoformat() if interview.recorded_on else None,
        "inLanguage": interview.language,
        "contentLocation": {"@type": "Place", "name": shown.place} if shown.place else None,
        "isPartOf": (
            {"@type": "Collection", "name": shown.collection} if shown.collection else None
        ),
        "publisher": {"@type": "Organization", "name": ORGANIZATION},
        "conditionsOfAccess": RIGHTS.get(interview.access_level),
        "duration": iso_duration(_length(interview)) or None,
        "contributor": [
            {
                "@type": "Person",
                "name": identity.display_name(user, speaker),
                "roleName": speaker.role,
            }
            for speaker in interview.speakers
        ],
        "audio": [],
    }
    for recording in interview.recordings:
        part = {
            "@type": "AudioObject",
            "name": f"Part {recording.position}",
            "duration": iso_duration(recording.duration) or None,
            "encodingFormat": listening_copies.MIME_TYPE,
        }
        if may_listen and recording.status == "done":
            part["contentUrl"] = url_for(
                "api.interview_audio",
                interview_id=interview.id,
                recording=recording.id,
                _external=True,
            )
        data["audio"].append({k: v for k, v in part.items() if v is not None})
    if policy.can(user, "read_transcript", interview):
        data["creditText"] = citations.cite(user, interview)
    return {key: value for key, value in data.items() if value not in (None, [], "")}
