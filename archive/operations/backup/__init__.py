"""Backups of the whole archive, and restoring one into an empty archive.

A backup is a folder that ``sha256sum -c`` can check by itself::

    README.txt                  what this is, and that the keys are not in it
    backup.json                 when, the schema revision, counts, a key check
    database/archive.sqlite3    SQLite: a snapshot made with the online backup API
    database/archive.pgdump     PostgreSQL: ``pg_dump --format=custom``
    recordings/masters/...      preservation masters, byte for byte
    recordings/access/...       listening copies
    recordings/agreements/...   signed agreement documents, encrypted (``.enc``)
    transcripts/machine/...     machine transcripts as produced (encrypted already)
    manifest-sha256.txt         the SHA-256 of every other file

Consistency while the archive runs: the database is copied first, as one snapshot
(SQLite's backup API reads one consistent state while writers go on; pg_dump
works in one repeatable-read snapshot, exported so that the files it names are
read from the same one). The stored files are copied next. Masters, agreements
and machine transcripts are written once and never change, and a row names its
file only after the file is complete, so every file the snapshot names is there
to copy; each master and agreement is checked against the SHA-256 the snapshot
recorded as it is copied. A file added after the snapshot is copied too and is
simply not named by any row after a restore. Listening copies are derived and
may be replaced while the backup runs; one that is missing after a restore is
queued to be made again.

Jobs: a recording that was queued or being transcribed is in the snapshot as
such, with the segments stored so far. The task queue is not backed up: after a
restore, the next ``flask worker`` to start queues every waiting job again, and a
job whose worker's lease has lapsed (any job of the backup, after a minute) is
taken up and resumes after its last stored segment, without duplicates.

Keys: neither the identity key (``ARCHIVE_IDENTITY_KEY`` or
``instance/identity_key``) nor the secret key is ever written into a backup.
Everything written that can name a narrator (transcript text, real names and
aliases, file names, signed agreements, machine transcripts) is encrypted under
the identity key, so the backup without the key reveals no name in writing. The
audio is not encrypted: keep backups on access-controlled, encrypted storage.

Parts: ``layout`` (the folder's names and the reports), ``writing`` (making a
backup), ``restoring`` (checking and restoring one).
"""

from __future__ import annotations

from archive.operations.backup.layout import BackupError, BackupReport, RestoreReport
from archive.operations.backup.restoring import restore_backup, verify_backup
from archive.operations.backup.writing import make_backup

__all__ = [
    "BackupError",
    "BackupReport",
    "RestoreReport",
    "make_backup",
    "restore_backup",
    "verify_backup",
]
