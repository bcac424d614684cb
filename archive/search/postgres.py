"""The PostgreSQL backend of the search index: a table with a ``tsvector`` column
under a GIN index.

The vector holds exactly the words ``archive.search.text.words`` finds in the
folded text, written as a ``tsvector`` literal: what ``to_tsvector('simple', ...)``
would give, except that the words are split here rather than by PostgreSQL's
parser. That parser splits and classifies differently from the query side (it
keeps ``a-b`` and ``x@y.org`` whole beside their parts, drops digits such as
``৴``, lower-cases letters ``fold`` leaves alone: 1,497 of the 129,196 letters and
digits tried behave differently), so a word found on SQLite would be missed here.
Built from the same words, index and query cannot disagree, and folding
(``ёлка`` and ``елка``, ``Straße`` and ``strasse``, diacritics) behaves as it does on SQLite.

The text's words take weight A and the pseudonym's weight B, one position apart,
so a phrase never runs from the end of the text into the speaker's name (FTS5
keeps columns apart the same way) while a query's words may be found in either.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

from sqlalchemy import bindparam, cast, column, false, func, literal_column, table, text
from sqlalchemy.dialects.postgresql import TSQUERY
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from archive.search.layout import INDEX_TABLE, IndexRow, PackedIndex
from archive.search.text import ParsedQuery, words

log = logging.getLogger(__name__)

# PostgreSQL's limits on a tsvector: a lexeme of at most 2046 bytes, positions up
# to 16383 (larger ones are stored as 16383), at most 256 positions a lexeme.
MAX_LEXEME_BYTES = 2046
MAX_POSITION = 16383
MAX_POSITIONS = 256


def _quote(word: str) -> str:
    """A lexeme as tsvector and tsquery literals write it (quotes and backslashes
    doubled; the words hold letters and digits only, but the literal must never
    depend on that)."""
    return "'" + word.replace("\\", "\\\\").replace("'", "''") + "'"


def vector_text(body: str, who: str) -> str:
    """The ``tsvector`` literal of a segment: its text's words at positions 1..n
    (weight A), the pseudonym's after one empty position (weight B)."""
    positions: dict[str, list[str]] = {}
    text_words = words(body)
    for first, found, weight in ((1, text_words, "A"), (len(text_words) + 2, words(who), "B")):
        for offset, word in enumerate(found):
            if len(word.encode()) > MAX_LEXEME_BYTES:
                continue  # cannot be indexed; no query can name it either (see query_text)
            at = positions.setdefault(word, [])
            if len(at) < MAX_POSITIONS:
                at.append(f"{min(first + offset, MAX_POSITION)}{weight}")
    return " ".join(f"{_quote(word)}:{','.join(at)}" for word, at in positions.items())


def query_text(query: ParsedQuery) -> str | None:
    """The ``tsquery`` literal: each term a word or a phrase (``<->``), its last
    word a prefix (``:*``) when asked, all terms required; None when a word is too
    long to be in any index (so nothing can match)."""
    parts = []
    for term in query.terms:
        if any(len(token.encode()) > MAX_LEXEME_BYTES for token in term.tokens):
            return None
        lexemes = [_quote(token) for token in term.tokens]
        if term.prefix:
            lexemes[-1] += ":*"
        parts.append("(" + " <-> ".join(lexemes) + ")")
    return " & ".join(parts)


class PostgresTsvector(PackedIndex):
    """PostgreSQL ``tsvector``.

    Layout. One table: ``id`` (the packed key, see ``layout``; its primary-key
    B-tree serves the interview ranges), ``vector`` (the words, GIN-indexed),
    then what a hit shows: the redacted ``text``, ``speaker``, ``speaker_role``,
    ``segment_id``, ``recording_id``, ``start``.
    """

    dialect = "postgresql"
    # Relevance: ts_rank with the text's words (A) counting fully and the
    # pseudonym's (B) half, divided by 1 + log(length) so that a short segment
    # saying the word ranks above a long one mentioning it once (as bm25 does).
    WEIGHTS = "{0, 0, 0.5, 1}"  # D, C, B, A
    NORMALIZATION = 1
    RANK_WINDOW = 50_000
    # Removing deleted entries for good: how long to wait for older transactions
    # to end, then for searches to let go of the table.
    FORGET_WAIT = 10.0
    VACUUM_LOCK_TIMEOUT = "10s"

    DDL = (
        f"CREATE TABLE IF NOT EXISTS {INDEX_TABLE} ("
        "id bigint PRIMARY KEY, vector tsvector NOT NULL, text text NOT NULL, "
        "speaker text, speaker_role text, segment_id integer, recording_id integer, "
        "start double precision)",
        f"CREATE INDEX IF NOT EXISTS {INDEX_TABLE}_vector ON {INDEX_TABLE} USING gin (vector)",
    )

    table = table(
        INDEX_TABLE,
        column("id"),
        column("vector"),
        column("text"),
        column("speaker"),
        column("speaker_role"),
        column("segment_id"),
        column("recording_id"),
        column("start"),
    )

    def _tsquery(self, query: ParsedQuery):
        # Written into the statement rather than sent as a parameter: psycopg
        # prepares a statement run five times, and PostgreSQL's generic plan for
        # it, blind to how rare the words are, reads the whole table through the
        # key's B-tree (70 ms where the GIN index takes 2, on 150,000 segments).
        return cast(bindparam("tsquery", query_text(query), literal_execute=True), TSQUERY)

    def _match(self, query: ParsedQuery):
        if query_text(query) is None:
            return false()
        return self.table.c.vector.op("@@")(self._tsquery(query))

    def _score(self, query: ParsedQuery):
        rank = func.ts_rank(
            literal_column(f"'{self.WEIGHTS}'::real[]"),
            self.table.c.vector,
            self._tsquery(query),
            self.NORMALIZATION,
        )
        return -rank

    def create(self, connection: Connection) -> None:
        for statement in self.DDL:
            connection.exec_driver_sql(statement)

    def insert(
        self,
        session: Session,
        interview_id: int,
        rows: Sequence[IndexRow],
        ordinals: Sequence[int] | None = None,
    ) -> None:
        params = [
            {
                "id": key,
                "vector": vector_text(row.text or "", row.speaker or ""),
                "text": row.text or "",
                "speaker": row.speaker,
                "speaker_role": role,
                "segment_id": row.segment_id,
                "recording_id": row.recording_id,
                "start": row.start,
            }
            for key, role, row in self._packed(interview_id, rows, ordinals)
        ]
        if params:
            session.execute(
                text(
                    f"INSERT INTO {INDEX_TABLE} (id, vector, text, speaker, speaker_role,"  # noqa: S608
                    " segment_id, recording_id, start) VALUES (:id, CAST(:vector AS tsvector),"
                    " :text, :speaker, :speaker_role, :segment_id, :recording_id, :start)"
                ),
                params,
            )

    def optimize(self, connection: Connection) -> None:
        """After a bulk load: merge the GIN index's pending list (queries then read
        its posting trees only) and give the planner the table's new size."""
        connection.exec_driver_sql(f"SELECT gin_clean_pending_list('{INDEX_TABLE}_vector')")
        connection.exec_driver_sql(f"ANALYZE {INDEX_TABLE}")

    def forget_deleted(self, engine: Engine) -> bool:
        """PostgreSQL keeps a deleted row's bytes in its page until the page is
        rewritten (a plain VACUUM only marks the space free), and a row that a
        running transaction may still see survives even that. So: wait (at most
        ``FORGET_WAIT`` seconds) for the transactions begun before now to end, then
        ``VACUUM FULL``, which writes the table and its GIN index anew and drops
        the old files. It locks searches out while it runs (rare: when names
        change). False when an old transaction outlasted the wait or searches held
        the table past ``VACUUM_LOCK_TIMEOUT``: the caller tries again later."""
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            if not self._owned(connection):
                # VACUUM would only warn and skip the table: say so, loudly.
                log.error("VACUUM FULL %s needs its owner's role; removed text stays", INDEX_TABLE)
                return False
            since = connection.exec_driver_sql("SELECT statement_timestamp()").scalar()
            deadline = time.monotonic() + self.FORGET_WAIT
            while self._older_transactions(connection, since):
                if time.monotonic() > deadline:
                    break
                time.sleep(0.1)
            clear = not self._older_transactions(connection, since)
            connection.exec_driver_sql(f"SET lock_timeout = '{self.VACUUM_LOCK_TIMEOUT}'")
            try:
                connection.exec_driver_sql(f"VACUUM FULL {INDEX_TABLE}")
            except OperationalError:
                clear = False
            connection.exec_driver_sql("RESET lock_timeout")
        return clear

    @staticmethod
    def _owned(connection: Connection) -> bool:
        owned = text(
            "SELECT pg_has_role(current_user, relowner, 'USAGE') FROM pg_class"
            " WHERE oid = CAST(:table AS regclass)"
        )
        return bool(connection.execute(owned, {"table": INDEX_TABLE}).scalar())

    @staticmethod
    def _older_transactions(connection: Connection, since) -> int:
        """Sessions of this database whose transaction began before ``since`` and
        holds a snapshot or a transaction id (so may still see deleted rows).
        Sessions of other roles show no times and are not waited for."""
        return connection.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                " AND backend_type = 'client backend' AND xact_start < :since"
                " AND (backend_xmin IS NOT NULL OR backend_xid IS NOT NULL)"
            ),
            {"since": since},
        ).scalar()
