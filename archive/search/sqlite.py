"""The SQLite backend of the search index: one FTS5 table."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import column, func, literal_column, table, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from archive.search.layout import INDEX_TABLE, IndexRow, PackedIndex
from archive.search.text import ParsedQuery, Term, fold


class SQLiteFTS5(PackedIndex):
    """SQLite FTS5.

    Layout. One FTS5 table whose rowid is the packed key (see ``layout``).
    Columns: ``body`` (the folded text, indexed), ``who`` (the folded pseudonym,
    indexed), then, stored and not indexed, what a hit shows: the redacted
    ``text``, ``speaker``, ``speaker_role``, ``segment_id``, ``recording_id``,
    ``start``. ``prefix='2 3'`` keeps prefix queries fast; ``remove_diacritics 2``
    folds whatever ``fold`` did not.
    """

    dialect = "sqlite"
    # Relevance: bm25, the words of the text counting fully, the pseudonym half.
    WEIGHTS = (1.0, 0.5)
    # How many matches are ranked at most: bm25 costs about 1 microsecond a
    # match, so a word found in a third of 1.5 million segments would take half
    # a second to rank in full. Beyond the window, the newest interviews' matches
    # are the ones ranked (and the only ones a reader can page to).
    RANK_WINDOW = 50_000

    DDL = (
        f"CREATE VIRTUAL TABLE IF NOT EXISTS {INDEX_TABLE} USING fts5("
        "body, who, text UNINDEXED, speaker UNINDEXED, speaker_role UNINDEXED, "
        "segment_id UNINDEXED, recording_id UNINDEXED, start UNINDEXED, "
        "tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3')",
    )

    table = table(
        INDEX_TABLE,
        column("rowid"),
        column(INDEX_TABLE),
        column("text"),
        column("speaker"),
        column("speaker_role"),
        column("segment_id"),
        column("recording_id"),
        column("start"),
    )

    @staticmethod
    def match_text(query: ParsedQuery) -> str:
        """The FTS5 query: every term quoted (tokens hold letters and digits only,
        so quoting them cannot fail), all of them required."""

        def term(t: Term) -> str:
            return '"' + " ".join(t.tokens) + '"' + (" *" if t.prefix else "")

        return " AND ".join(term(t) for t in query.terms)

    def _match(self, query: ParsedQuery):
        return self.table.c[INDEX_TABLE].op("MATCH")(self.match_text(query))

    def _score(self, query: ParsedQuery):
        return func.bm25(literal_column(INDEX_TABLE), *self.WEIGHTS)

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
                "rowid": key,
                "body": fold(row.text or ""),
                "who": fold(row.speaker or ""),
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
                    f"INSERT INTO {INDEX_TABLE} (rowid, body, who, text, speaker, speaker_role,"  # noqa: S608
                    " segment_id, recording_id, start) VALUES (:rowid, :body, :who, :text,"
                    " :speaker, :speaker_role, :segment_id, :recording_id, :start)"
                ),
                params,
            )

    def optimize(self, connection: Connection) -> None:
        connection.exec_driver_sql(
            f"INSERT INTO {INDEX_TABLE}({INDEX_TABLE}) VALUES ('optimize')"  # noqa: S608
        )

    def forget_deleted(self, engine: Engine) -> bool:
        """FTS5 keeps deleted entries in its older segments until they are merged:
        merge the index in full (``optimize``; with ``secure_delete`` on, freed
        pages are zeroed) and truncate the write-ahead log, so removed text is
        gone from the database files, not only from the results. False when a
        reader kept the log from being truncated: the caller tries again later."""
        with engine.begin() as connection:
            self.optimize(connection)
        with engine.connect() as connection:
            busy, _log, _done = connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").one()
        return not busy
