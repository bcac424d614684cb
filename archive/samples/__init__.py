"""The sample interview a newcomer loads into an empty archive, to see upload,
progress, transcript, pseudonyms and the reader's view without audio of their own.

Owns the bundled public-domain recording (``jfk.flac``: the inaugural address of
20 January 1961, from faster-whisper's test data, MIT) and one service that builds
the interview through the same services an interviewer, a custodian and an upload
use. Imports the interview, consent and recording services; nothing imports it but
the web layer and the command line.
"""

from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy import exists, select

from archive import consent, interviews, policy, recordings
from archive.errors import N_, ConflictError
from archive.extensions import db
from archive.models import Interview, User
from archive.recordings import storage

log = logging.getLogger(__name__)

RECORDING = Path(__file__).with_name("jfk.flac")

INTERVIEW = {
    "title": "Sample interview: an inaugural address",
    "summary": (
        "A sample loaded to show how the archive works: an 11-second public-domain "
        "recording (the inaugural address of 20 January 1961). The speaker's real name is "
        "kept encrypted; everyone but a custodian's audited reveal sees the pseudonym."
    ),
    "place": "Washington",
    "recorded_on": "1961-01-20",
    "language": "en",
    "expected_speakers": 1,
    "speakers": [
        {
            "pseudonym": "Narrator J",
            "role": "narrator",
            "real_name": "John Fitzgerald Kennedy",
            "aliases": ["Jack Kennedy"],
        }
    ],
}
# Open to everyone, under the pseudonym, with names toned out of the listening copy:
# signed out, a newcomer reads it as a visitor or researcher would.
AGREEMENT = {
    "access_level": "open",
    "audio": "redacted",
    "identity": "pseudonym",
    "notes": "Sample agreement, recorded by the sample loader.",
}


def archive_is_empty() -> bool:
    """No interview at all, withdrawn ones included: the only state the sample is for."""
    return not db.session.scalar(select(exists().where(Interview.id.is_not(None))))


def load_sample_interview(actor: User) -> Interview:
    """Create the sample interview with its speaker and agreement, and queue its
    recording for the running worker. Refused unless the archive is empty, so a
    second click or a second command never makes a second sample."""
    policy.require(actor, "load_sample")
    if not archive_is_empty():
        raise ConflictError(
            N_(
                "The sample interview is only loaded into an empty archive, and this one "
                "already has interviews."
            )
        )
    interview = interviews.create_interview(actor, INTERVIEW)
    consent.record_sample_agreement(actor, interview, AGREEMENT)
    with storage.copy_to_incoming(RECORDING) as temp:
        recordings.add_recording(actor, interview, temp, RECORDING.name)
    log.info("sample interview %s loaded", interview.id)
    return interview
