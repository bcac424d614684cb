"""Full-text search over the redacted transcripts, behind one small interface.

What is indexed decides what can leak, so the index holds only what the caller
hands in: the *redacted* rendering of each segment and the speaker's pseudonym.
A protected name that is not in the text given here can never be a hit, nor a
snippet. Nothing in this package reads ``segments`` (whose text is unredacted).

Who may see a hit is decided at query time by ``archive.policy.visible_clause``
on ``interviews`` (the same clause as list and detail pages use), never by data
copied into the index: a change of access level, embargo, grant or withdrawal
takes effect on the next search without reindexing.

The interface (the rest is private):

- ``ensure_index(engine_or_connection)``: create the index table if missing.
- ``index_interview(session, interview_id, rows)``: replace an interview's rows.
- ``replace_segments(session, interview_id, segment_ids, rows)``: replace the rows
  of some segments only (an edit, a split, a redaction), the rest left as it is.
- ``remove_interview(session, interview_id)``: drop them (withdrawal, deletion).
- ``search(session, user, query, ...)``: a ranked, policy-filtered page of hits
  with escaped, highlighted snippets, a total and facet counts.
- ``optimize_index(engine)``: merge the index after a bulk load (maintenance).
- ``forget_deleted(engine)``: make removed entries unrecoverable from the files.

Query syntax for users: plain words (all must match), ``"quoted phrases"`` and a
trailing ``*`` for a prefix (``almat*``, ``алма*``). Every other character is
text, never syntax: the query is rebuilt from the words found in it, each quoted,
so ``"unbalanced``, ``col:val``, ``(a OR b)`` or ``NEAR`` cannot make the search
engine raise; ``AND``, ``OR``, ``NOT`` and ``NEAR`` are ordinary words. Folding
(case, diacritics, compatibility forms) is described in ``text``.

The database-specific SQL lives in one backend class per dialect, chosen by
``backend_for`` from the session's dialect: ``SQLiteFTS5`` (``sqlite``) and
``PostgresTsvector`` (``postgresql``), with the same methods (``create``,
``insert``, ``remove``, ``replace_segments``, ``counts``, ``hits``, ``optimize``,
``forget_deleted``) and a ``RANK_WINDOW``. Everything above the backends (query parsing, folding,
snippets, facets, the policy) is shared, and so are the statements that read the
index (``layout``): the two behave the same, and the tests run against both.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup
from sqlalchemy import and_
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session, scoped_session

from archive import policy
from archive.models import Interview
from archive.search.layout import INDEX_TABLE, ROLE_CODES, ROLE_NAMES, IndexRow, PackedIndex
from archive.search.postgres import PostgresTsvector
from archive.search.sqlite import SQLiteFTS5
from archive.search.text import (
    SNIPPET_TOKENS,
    WORD,
    ParsedQuery,
    Term,
    fold,
    parse_query,
    snippet_html,
    words,
)

__all__ = [
    "INDEX_TABLE",
    "ROLE_CODES",
    "ROLE_NAMES",
    "SNIPPET_TOKENS",
    "WORD",
    "Hit",
    "IndexRow",
    "ParsedQuery",
    "PostgresTsvector",
    "SQLiteFTS5",
    "SearchResult",
    "Term",
    "backend_for",
    "ensure_index",
    "fold",
    "forget_deleted",
    "index_interview",
    "is_index_table",
    "optimize_index",
    "parse_query",
    "remove_interview",
    "replace_segments",
    "search",
    "snippet_html",
    "words",
]

log = logging.getLogger(__name__)

MAX_PER_PAGE = 100
MAX_PAGE = 10_000


@dataclass(frozen=True)
class Hit:
    """One matching segment. ``snippet_html`` is safe HTML (everything escaped,
    then ``<mark>`` added); ``rank`` is the relevance, higher is better; ``text``
    is the plain redacted text of the whole segment, *not* escaped (a template's
    autoescaping or ``jsonify`` must handle it like any user text)."""

    interview_id: int
    segment_id: int
    start: float
    speaker: str | None
    snippet_html: Markup
    rank: float
    text: str = ""
    recording_id: int | None = None
    speaker_role: str | None = None
    #: "translation" when the words matched the segment's machine translation.
    track: str = "original"


@dataclass
class SearchResult:
    """A page of hits, the number of hits on all pages, and facet counts.

    Each facet counts the hits matching the query and every *other* filter (so a
    page filtered to one language still shows how many hits the other languages
    have); values a hit lacks (no collection, no language) are left out.

    ``ranked_all`` is False when more hits matched than the backend ranks (its
    ``RANK_WINDOW``): the pages then hold the best of the newest interviews'
    hits, and a user interface should suggest narrowing the query.
    """

    hits: list[Hit]
    total: int
    facets: dict[str, dict[Any, int]] = field(
        default_factory=lambda: {"collection": {}, "language": {}, "speaker_role": {}}
    )
    page: int = 1
    per_page: int = 20
    ranked_all: bool = True


# ---------------------------------------------------------------------------
# Backends


BACKENDS: dict[str, type[PackedIndex]] = {
    SQLiteFTS5.dialect: SQLiteFTS5,
    PostgresTsvector.dialect: PostgresTsvector,
}


def backend_for(bind: Any) -> PackedIndex:
    """The backend for a Session, Connection or Engine's database."""
    if isinstance(bind, Session | scoped_session):
        bind = bind.get_bind()
    name = bind.dialect.name
    if name not in BACKENDS:
        raise NotImplementedError(f"full-text search has no backend for {name} yet")
    return BACKENDS[name]()


def is_index_table(name: str) -> bool:
    """For Alembic's ``include_name``: the index and its shadow tables are made by
    ``ensure_index``, not by the models, so autogenerate must leave them alone."""
    return name == INDEX_TABLE or name.startswith(INDEX_TABLE + "_")


# ---------------------------------------------------------------------------
# The interface


def ensure_index(bind: Engine | Connection) -> None:
    """Create the index if it does not exist (idempotent: safe on every start and
    in a migration, where Alembic cannot autogenerate a virtual table)."""
    if isinstance(bind, Engine):
        with bind.begin() as connection:
            backend_for(connection).create(connection)
    else:
        backend_for(bind).create(bind)


def optimize_index(bind: Engine | Connection) -> None:
    """Merge the index after a bulk load or reindex, so that queries on common
    words read one long list instead of many short ones (SQLite: FTS5's
    ``optimize``; PostgreSQL: the GIN pending list merged, statistics renewed)."""
    if isinstance(bind, Engine):
        with bind.begin() as connection:
            backend_for(connection).optimize(connection)
    else:
        backend_for(bind).optimize(bind)


def index_interview(session: Session, interview_id: int, rows: Iterable[IndexRow]) -> None:
    """Replace every indexed segment of an interview with ``rows``, in the caller's
    transaction (so the index changes exactly when the transcript does).

    ``rows`` must be the redacted rendering with pseudonyms: whatever text is
    given here becomes searchable by anyone who may read the interview.
    """
    rows = list(rows)
    backend = backend_for(session)
    backend.remove(session, interview_id)
    backend.insert(session, interview_id, rows)


def replace_segments(
    session: Session, interview_id: int, segment_ids: Iterable[int], rows: Iterable[IndexRow]
) -> bool:
    """Replace the rows of ``segment_ids`` (their text and translation) with ``rows``,
    in the caller's transaction, leaving the interview's other rows as they are: a
    segment without a row in ``rows`` (deleted, unreadable) leaves none.

    ``rows`` must be the redacted rendering with pseudonyms, made by the same
    redaction as the rest of the interview's rows. False, with nothing changed,
    when the rows cannot be replaced on their own (the interview has none yet):
    the caller indexes the whole interview (``index_interview``) instead.
    """
    wanted, rows = set(segment_ids), list(rows)
    if any(row.segment_id not in wanted for row in rows):
        raise ValueError("a row of a segment not being replaced")
    return backend_for(session).replace_segments(session, interview_id, wanted, rows)


def remove_interview(session: Session, interview_id: int) -> None:
    """Remove an interview from the index (withdrawal, deletion), in the caller's
    transaction: its hits are gone as soon as that commits."""
    backend_for(session).remove(session, interview_id)


def search(
    session: Session,
    user: Any,
    query: str,
    *,
    collection: int | None = None,
    language: str | None = None,
    speaker_role: str | None = None,
    page: int = 1,
    per_page: int = 20,
) -> SearchResult:
    """A ranked page of the segments matching ``query`` that ``user`` may read.

    Visibility is ``policy.visible_clause(user, "read_transcript")``, evaluated
    now on ``interviews``, so lists, search and detail pages never disagree.
    Filters: ``collection`` (id), ``language`` (code), ``speaker_role`` (one of
    ``SPEAKER_ROLES``). Nothing the user types in ``query`` raises.
    """
    # An empty form field is no filter.
    collection = None if collection in (None, "") else collection
    language, speaker_role = language or None, speaker_role or None
    page = min(max(_whole(page, 1), 1), MAX_PAGE)
    per_page = min(max(_whole(per_page, 20), 1), MAX_PER_PAGE)
    parsed = parse_query(query)
    result = SearchResult(hits=[], total=0, page=page, per_page=per_page)
    if not parsed:
        return result
    if speaker_role is not None and speaker_role not in ROLE_CODES:
        return result

    backend = backend_for(session)
    visible = policy.visible_clause(user, "read_transcript")
    rows = backend.counts(session, parsed, visible)
    result.total, result.facets = _tally(rows, collection, language, speaker_role)

    offset = (page - 1) * per_page
    result.ranked_all = result.total <= backend.RANK_WINDOW
    if offset >= min(result.total, backend.RANK_WINDOW):
        return result
    if collection is not None:
        visible = and_(visible, Interview.collection_id == collection)
    if language is not None:
        visible = and_(visible, Interview.language == language)
    found = backend.hits(session, parsed, visible, speaker_role, per_page, offset)
    result.hits = [
        Hit(
            interview_id=row["interview_id"],
            segment_id=row["segment_id"],
            start=row["start"],
            speaker=row["speaker"],
            snippet_html=snippet_html(row["text"], parsed),
            rank=-float(row["score"]),
            text=row["text"],
            recording_id=row["recording_id"],
            speaker_role=row["speaker_role"],
            track="translation" if row["translated"] else "original",
        )
        for row in found
    ]
    return result


def _whole(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        return default


def _tally(
    rows: list[tuple], collection: int | None, language: str | None, role: str | None
) -> tuple[int, dict[str, dict[Any, int]]]:
    """The total under all filters, and each facet under the other filters."""
    wanted = {"collection": collection, "language": language, "speaker_role": role}
    total = 0
    facets: dict[str, Counter] = {name: Counter() for name in wanted}
    for collection_id, lang, speaker_role, n in rows:
        values = {"collection": collection_id, "language": lang, "speaker_role": speaker_role}
        misses = [k for k, want in wanted.items() if want is not None and values[k] != want]
        if not misses:
            total += n
        for name in facets:
            if (not misses or misses == [name]) and values[name] is not None:
                facets[name][values[name]] += n
    return total, {name: dict(counter.most_common()) for name, counter in facets.items()}


def forget_deleted(engine: Engine) -> bool:
    """Make removed index entries unrecoverable from the database's files.

    Databases keep deleted entries in place until their pages are rewritten:
    after a name becomes protected, each backend rewrites what held them (SQLite:
    merge the index and truncate the write-ahead log; PostgreSQL: ``VACUUM
    FULL`` once older transactions have ended), so a name heard before it was
    known to be a name is gone from the disk, not only from the results. It runs
    when names change (rare), and costs seconds on a very large index. When a
    running transaction still holds the old entries, False says so, and the
    caller queues ``queue.enqueue_forget_deleted`` for a worker to try again
    (search queues nothing itself).
    """
    if backend_for(engine).forget_deleted(engine):
        return True
    log.warning("removed search entries are still held by a transaction; retrying later")
    return False
