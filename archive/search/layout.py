"""What both index backends share: the row handed in, the packed key, and the SQL
that reads the index only through that key.

Every row's key packs the interview and the speaker's role
(``interview_id << 24 | role << 20 | ordinal``), so the two things every query
filters and counts by are read from the key, which each engine hands out with a
match for free, instead of from a stored column (one B-tree lookup per matching
row: seconds for a common word over millions of segments). Replacing or removing
an interview is a key range, which each engine seeks directly. A backend says how
a query matches (``_match``) and how a match is scored (``_score``, lower is
better); the statements built from them are the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, func, select, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement, TableClause

from archive.models import SPEAKER_ROLES, Interview
from archive.search.text import ParsedQuery

# The index's table (on SQLite with the shadow tables FTS5 makes for it:
# search_index_data, _idx, _content, _docsize, _config). Alembic's autogenerate
# must skip them all (see ``archive.search.is_index_table``).
INDEX_TABLE = "search_index"

# A speaker's role as stored in the index's keys (None: no speaker). The codes
# are on disk: never renumber one; a new role takes a new code (at most 15) and a
# reindex of the interviews that use it.
ROLE_CODES: dict[str | None, int] = {None: 0, "interviewer": 1, "narrator": 2, "other": 3}
assert set(SPEAKER_ROLES) <= set(ROLE_CODES), "give the new speaker role a code"
ROLE_NAMES: dict[int, str | None] = {code: role for role, code in ROLE_CODES.items()}
# The fourth bit of the role's four says the row is a segment's machine translation
# (``IndexRow.track``), not its original text: roles use codes 0-7 only.
TRANSLATION_BIT = 8
ROLE_MASK = TRANSLATION_BIT - 1
assert max(ROLE_CODES.values()) <= ROLE_MASK
TRACKS = ("original", "translation")


@dataclass(frozen=True)
class IndexRow:
    """One segment as the public may read it: ``text`` is already redacted and
    ``speaker`` is the pseudonym, never a real name."""

    segment_id: int
    recording_id: int | None
    start: float
    speaker: str | None
    speaker_role: str | None
    text: str
    #: "original", or "translation": the segment's machine translation.
    track: str = "original"


class PackedIndex:
    """The SQL common to both backends; subclasses set ``table`` (whose first
    column is the packed key) and implement the engine-specific methods."""

    dialect = ""
    INTERVIEW_SHIFT = 24
    ROLE_SHIFT = 20
    MAX_ORDINAL = (1 << ROLE_SHIFT) - 1
    # How many matches are ranked at most (see ``hits``); each backend measures
    # its own.
    RANK_WINDOW = 50_000
    table: TableClause

    # -- what a backend supplies

    def create(self, connection: Connection) -> None:
        raise NotImplementedError

    def insert(
        self,
        session: Session,
        interview_id: int,
        rows: Sequence[IndexRow],
        ordinals: Sequence[int] | None = None,
    ) -> None:
        """Add ``rows``, numbered 1, 2, ... in order, or by ``ordinals`` (one each)."""
        raise NotImplementedError

    def optimize(self, connection: Connection) -> None:
        raise NotImplementedError

    def forget_deleted(self, engine: Engine) -> bool:
        """Rewrite what held removed entries; False when something still held them."""
        raise NotImplementedError

    def _match(self, query: ParsedQuery) -> ColumnElement[bool]:
        raise NotImplementedError

    def _score(self, query: ParsedQuery) -> ColumnElement[float]:
        raise NotImplementedError

    # -- the packed key

    @property
    def _key(self):
        return next(iter(self.table.c))

    def _interview_of(self, key=None):
        return (self._key if key is None else key).op(">>")(self.INTERVIEW_SHIFT)

    def _role_of(self):
        return self._key.op(">>")(self.ROLE_SHIFT).op("&")(ROLE_MASK)

    def _track_of(self, key):
        return key.op(">>")(self.ROLE_SHIFT).op("&")(TRANSLATION_BIT)

    def _range(self, interview_id: int) -> tuple[int, int]:
        low = int(interview_id) << self.INTERVIEW_SHIFT
        return low, low + (1 << self.INTERVIEW_SHIFT) - 1

    def _packed(
        self, interview_id: int, rows: Sequence[IndexRow], ordinals: Sequence[int] | None = None
    ):
        """(key, role, row) for each row, in order, numbered 1, 2, ... or by
        ``ordinals``; refuses what cannot be packed."""
        if ordinals is None:
            ordinals = range(1, len(rows) + 1)
        if len(ordinals) != len(rows):
            raise ValueError("one ordinal a row")
        if any(not 0 < ordinal <= self.MAX_ORDINAL for ordinal in ordinals):
            raise ValueError(f"an interview can have at most {self.MAX_ORDINAL} indexed segments")
        low, _high = self._range(interview_id)
        for ordinal, row in zip(ordinals, rows, strict=True):
            role = row.speaker_role or None  # "" and None: no speaker
            if role not in ROLE_CODES:
                raise ValueError(f"unknown speaker role {row.speaker_role!r}")
            if row.track not in TRACKS:
                raise ValueError(f"unknown track {row.track!r}")
            code = ROLE_CODES[role] | (TRANSLATION_BIT if row.track == "translation" else 0)
            yield low | code << self.ROLE_SHIFT | ordinal, role, row

    # -- the shared statements

    def remove(self, session: Session, interview_id: int) -> None:
        low, high = self._range(interview_id)
        session.execute(
            text(f"DELETE FROM {INDEX_TABLE} WHERE {self._key.name} BETWEEN :low AND :high"),  # noqa: S608
            {"low": low, "high": high},
        )

    def replace_segments(
        self, session: Session, interview_id: int, segment_ids: set[int], rows: Sequence[IndexRow]
    ) -> bool:
        """Replace the rows of ``segment_ids`` (original and translation) by ``rows``.

        A segment's row keeps its ordinal (its key changes only with the speaker's
        role), so the rest of the interview, and the order of its hits, stay as
        they were; a row the segment did not have (the second half of a split, a
        translation made since) takes the next ordinal after the interview's
        highest. False, with nothing changed, when the interview has no rows yet
        or its ordinals ran out: the caller indexes the whole interview instead.

        Two writers of one interview's rows must not interleave (both would take
        the same next ordinal): every service that calls this has appended to the
        audit chain first, whose head row serialises them until commit.
        """
        low, high = self._range(interview_id)
        key = self._key.name
        present = session.execute(
            text(f"SELECT {key}, segment_id FROM {INDEX_TABLE} WHERE {key} BETWEEN :low AND :high"),  # noqa: S608
            {"low": low, "high": high},
        ).all()
        if not present:
            return False
        kept: dict[tuple[int, bool], int] = {}
        old: list[int] = []
        top = 0
        for row_key, segment_id in present:
            ordinal = row_key & self.MAX_ORDINAL
            top = max(top, ordinal)
            if segment_id in segment_ids:
                old.append(row_key)
                kept[(segment_id, bool(row_key >> self.ROLE_SHIFT & TRANSLATION_BIT))] = ordinal
        ordinals = []
        for row in rows:
            ordinal = kept.pop((row.segment_id, row.track == "translation"), None)
            if ordinal is None:
                top += 1
                ordinal = top
            ordinals.append(ordinal)
        if top > self.MAX_ORDINAL:
            return False
        if old:
            session.execute(
                text(f"DELETE FROM {INDEX_TABLE} WHERE {key} IN :keys").bindparams(  # noqa: S608
                    bindparam("keys", expanding=True)
                ),
                {"keys": old},
            )
        self.insert(session, interview_id, rows, ordinals)
        return True

    def counts(self, session: Session, query: ParsedQuery, visible: Any) -> list[tuple]:
        """(collection_id, language, role, hits) over every visible match.

        Matches are first grouped by (interview, role), one key read straight from
        the packed key (``key >> 20``), without ranking and without reading a
        stored column; only those groups (a few per interview) are joined to
        ``interviews`` for the policy and the facets.
        """
        key = self._key.op(">>")(self.ROLE_SHIFT)
        groups = (
            select(key.label("key"), func.count().label("n"))
            .select_from(self.table)
            .where(self._match(query))
            .group_by(key)
            .subquery("groups")
        )
        interview_id = groups.c.key.op(">>")(self.INTERVIEW_SHIFT - self.ROLE_SHIFT)
        role = groups.c.key.op("&")(ROLE_MASK)
        statement = (
            select(Interview.collection_id, Interview.language, role, func.sum(groups.c.n))
            .select_from(groups)
            .join(Interview, Interview.id == interview_id)
            .where(visible)
            .group_by(Interview.collection_id, Interview.language, role)
        )
        # int(): PostgreSQL's sum() is a numeric (Decimal), which JSON would write as text.
        rows = session.execute(statement)
        return [(c, lang, ROLE_NAMES.get(r), int(n)) for c, lang, r, n in rows]

    def hits(
        self,
        session: Session,
        query: ParsedQuery,
        visible: Any,
        role: str | None,
        limit: int,
        offset: int,
    ) -> list[dict]:
        """The best ``limit`` visible matches after ``offset``, best first.

        Three steps in one statement, each shaped by measurement on 1.5 million
        segments (SQLite): (1) the visible matches, newest interview first, at most
        ``RANK_WINDOW`` of them, each scored (the policy filter is an ``IN`` over
        the visible interviews' ids, computed once, so no join can make the
        planner loop over interviews); (2) the best ``offset + limit`` of those by
        a top-N sort; (3) only those rows' stored columns are read.
        """
        key = self._key
        window = (
            select(key.label("id"), self._score(query).label("score"))
            .where(self._match(query))
            .where(self._interview_of().in_(select(Interview.id).where(visible)))
            .order_by(key.desc())
            .limit(self.RANK_WINDOW)
        )
        if role is not None:
            window = window.where(self._role_of() == ROLE_CODES[role])
        window = window.subquery("window")
        top = (
            select(window.c.id, window.c.score)
            .order_by(window.c.score, window.c.id.desc())
            .limit(limit)
            .offset(offset)
            .subquery("top")
        )
        shown = self.table.alias("shown")
        statement = (
            select(
                self._interview_of(top.c.id).label("interview_id"),
                shown.c.segment_id,
                shown.c.recording_id,
                shown.c.start,
                shown.c.speaker,
                shown.c.speaker_role,
                shown.c.text,
                top.c.score,
                self._track_of(top.c.id).label("translated"),
            )
            .select_from(top)
            .join(shown, next(iter(shown.c)) == top.c.id)
            .order_by(top.c.score, top.c.id.desc())
        )
        return [dict(row._mapping) for row in session.execute(statement)]
