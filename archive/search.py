"""Full-text search over the redacted transcripts, behind one small interface.

What is indexed decides what can leak, so the index holds only what the caller
hands in: the *redacted* rendering of each segment and the speaker's pseudonym.
A protected name that is not in the text given here can never be a hit, nor a
snippet. Nothing in this module reads ``segments`` (whose text is unredacted).

Who may see a hit is decided at query time by ``archive.policy.visible_clause``
on ``interviews`` (the same clause as list and detail pages use), never by data
copied into the index: a change of access level, embargo, grant or withdrawal
takes effect on the next search without reindexing.

The interface (the rest is private):

- ``ensure_index(engine_or_connection)``: create the index table if missing.
- ``index_interview(session, interview_id, rows)``: replace an interview's rows.
- ``remove_interview(session, interview_id)``: drop them (withdrawal, deletion).
- ``search(session, user, query, ...)``: a ranked, policy-filtered page of hits
  with escaped, highlighted snippets, a total and facet counts.
- ``optimize_index(engine)``: merge the index after a bulk load (maintenance).

Query syntax for users: plain words (all must match), ``"quoted phrases"`` and a
trailing ``*`` for a prefix (``almat*``, ``алма*``). Every other character is
text, never syntax: the query is rebuilt from the words found in it, each quoted,
so ``"unbalanced``, ``col:val``, ``(a OR b)`` or ``NEAR`` cannot make the search
engine raise; ``AND``, ``OR``, ``NOT`` and ``NEAR`` are ordinary words.

Matching ignores case (Unicode case folding, so ``STRASSE`` finds ``Straße``),
diacritics (``cafe`` finds ``café``, ``елка`` finds ``ёлка``; ``й`` and ``ў``
stay letters of their own, as Russian and Belarusian readers expect) and
compatibility forms (ligatures, full-width letters). Kazakh letters (ә, ғ, қ, ң,
ө, ұ and the rest) are letters of their own and match in either case.

The database-specific SQL lives in one backend class per dialect, chosen by
``backend_for`` from the session's dialect. ``SQLiteFTS5`` is the only one so
far; a PostgreSQL class can sit beside it with the same methods (``create``,
``insert``, ``remove``, ``counts``, ``hits``, ``optimize``) and ``RANK_WINDOW``:
a plain table with a generated ``tsvector`` column over the folded text, a GIN
index on it and a btree on ``interview_id``, ``to_tsquery('simple', ...)`` built
from the same ``ParsedQuery`` (``<->`` for phrases, ``:*`` for prefixes) and
``ts_rank`` in place of bm25. Everything above the backends (query parsing,
folding, snippets, facets, the policy) is shared.
"""

from __future__ import annotations

import functools
import html
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup
from sqlalchemy import and_, column, func, literal_column, select, table, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session, scoped_session

from archive import policy
from archive.models import SPEAKER_ROLES, Interview

# Names of the index's tables: the FTS5 table and the shadow tables SQLite makes
# for it (search_index_data, _idx, _content, _docsize, _config). Alembic's
# autogenerate must skip them (see ``is_index_table``).
INDEX_TABLE = "search_index"

MAX_QUERY_CHARS = 500
MAX_TERMS = 16
MAX_PHRASE_TOKENS = 32
# A prefix of one letter matches a large part of the vocabulary; such a ``*`` is
# ignored and the letter searched as a word.
MIN_PREFIX = 2
MAX_PER_PAGE = 100
MAX_PAGE = 10_000
SNIPPET_TOKENS = 40

# A speaker's role as stored in the index's rowids (None: no speaker). The codes
# are on disk: never renumber one; a new role takes a new code (at most 15) and a
# reindex of the interviews that use it.
ROLE_CODES: dict[str | None, int] = {None: 0, "interviewer": 1, "narrator": 2, "other": 3}
assert set(SPEAKER_ROLES) <= set(ROLE_CODES), "give the new speaker role a code"
ROLE_NAMES: dict[int, str | None] = {code: role for role, code in ROLE_CODES.items()}


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
# Text folding, shared by the index, the query and the highlighter


@functools.cache
def _marks() -> str:
    """Every combining mark (computed once: the diacritics folding removes)."""
    return "".join(
        re.escape(chr(c)) for c in range(0x300, 0x20000) if unicodedata.combining(chr(c))
    )


@functools.cache
def _marks_re() -> re.Pattern[str]:
    return re.compile(f"[{_marks()}]+")


@functools.cache
def _display_word_re() -> re.Pattern[str]:
    # A word in stored text: letters and digits with any combining marks inside it
    # ("ре\u0301ка" is one word, as it is one after folding).
    return re.compile(f"(?:[^\\W_]|[{_marks()}])+")


# Words after folding: runs of letters and digits, as FTS5's unicode61 tokenizer
# splits them (it treats everything else, apostrophes and hyphens included, as a
# separator, so "Алма-Ата" is the two words "алма" "ата").
WORD = re.compile(r"[^\W_]+")
_KEEP_BREVE = {"и\u0306": "й", "у\u0306": "ў"}


def fold(value: str) -> str:
    """Case-fold, drop diacritics and compatibility forms: the form indexed and
    queried, so that both sides of a match went through the same function."""
    value = unicodedata.normalize("NFKD", value.casefold())
    for decomposed, letter in _KEEP_BREVE.items():
        value = value.replace(decomposed, letter)
    return unicodedata.normalize("NFC", _marks_re().sub("", value))


# ---------------------------------------------------------------------------
# The user's query


@dataclass(frozen=True)
class Term:
    """One thing that must match: a word, or a phrase of words in order; with
    ``prefix`` the last word matches any word it begins."""

    tokens: tuple[str, ...]
    prefix: bool = False

    def fts5(self) -> str:
        # Tokens hold letters and digits only, so quoting them cannot fail.
        return '"' + " ".join(self.tokens) + '"' + (" *" if self.prefix else "")


@dataclass(frozen=True)
class ParsedQuery:
    terms: tuple[Term, ...]

    def __bool__(self) -> bool:
        return bool(self.terms)

    def fts5(self) -> str:
        return " AND ".join(term.fts5() for term in self.terms)

    def matches_word(self, folded: str) -> bool:
        """Whether a (folded) word of a text is one of the query's words."""
        for term in self.terms:
            for i, token in enumerate(term.tokens):
                last = i == len(term.tokens) - 1
                if folded == token or (last and term.prefix and folded.startswith(token)):
                    return True
        return False


# A quoted phrase (its closing quote optional: an unbalanced quote runs to the
# end), optionally followed by "*"; or a run of anything but space and quotes.
_CHUNK = re.compile(r'"([^"]*)(?:"|$)(\*?)|([^\s"]+)')


def parse_query(query: Any) -> ParsedQuery:
    """Read what a user typed into terms; nothing a user types is an error."""
    if not isinstance(query, str):
        return ParsedQuery(())
    terms: list[Term] = []
    for match in _CHUNK.finditer(query[:MAX_QUERY_CHARS]):
        phrase, star, bare = match.groups()
        chunk = phrase if bare is None else bare
        prefix = bool(star) if bare is None else bare.endswith("*")
        tokens = tuple(WORD.findall(fold(chunk)))[:MAX_PHRASE_TOKENS]
        if not tokens:
            continue
        if len(tokens[-1]) < MIN_PREFIX:
            prefix = False
        term = Term(tokens, prefix)
        if term not in terms:
            terms.append(term)
        if len(terms) == MAX_TERMS:
            break
    return ParsedQuery(tuple(terms))


# ---------------------------------------------------------------------------
# Snippets


def snippet_html(text_: str, query: ParsedQuery, max_words: int = SNIPPET_TOKENS) -> Markup:
    """The segment's text around its first matching word, as safe HTML.

    Everything is escaped first, and only then are the matching words wrapped in
    ``<mark>``: a ``<script>`` in a transcript comes out as ``&lt;script&gt;``.
    Highlighting works word by word on the stored (redacted) text, so it shows
    exactly what the reader may read; the words of a phrase are marked wherever
    they occur in the segment.
    """
    words = list(_display_word_re().finditer(text_))
    hits = [i for i, w in enumerate(words) if query.matches_word(fold(w.group()))]
    begin, end = 0, len(text_)
    if len(words) > max_words:
        first = max(0, (hits[0] if hits else 0) - max_words // 4)
        first = min(first, len(words) - max_words)
        last = first + max_words - 1
        begin = words[first].start() if first > 0 else 0
        end = words[last].end() if last < len(words) - 1 else len(text_)
    out: list[str] = ["…"] if begin > 0 else []
    position = begin
    for i in hits:
        word = words[i]
        if word.start() < begin or word.end() > end:
            continue
        out.append(html.escape(text_[position : word.start()]))
        out.append("<mark>" + html.escape(word.group()) + "</mark>")
        position = word.end()
    out.append(html.escape(text_[position:end]))
    if end < len(text_):
        out.append("…")
    # Safe: every piece of the text went through html.escape above.
    return Markup("".join(out).strip())  # noqa: S704


# ---------------------------------------------------------------------------
# Backends: the SQL of one database


class SQLiteFTS5:
    """SQLite FTS5.

    Layout. One FTS5 table. Its rowid packs the interview and the speaker's role
    (interview_id << 24 | role << 20 | ordinal), so the two things every query
    filters and counts by are read from the rowid, which FTS5 hands out for free,
    instead of from a stored column (one B-tree lookup per matching row: seconds
    for a common word over millions of segments). Replacing or removing an
    interview is a rowid range, which FTS5 seeks directly.

    Columns: ``body`` (the folded text, indexed), ``who`` (the folded pseudonym,
    indexed), then, stored and not indexed, what a hit shows: the redacted
    ``text``, ``speaker``, ``speaker_role``, ``segment_id``, ``recording_id``,
    ``start``. ``prefix='2 3'`` keeps prefix queries fast; ``remove_diacritics 2``
    folds whatever ``fold`` did not.
    """

    dialect = "sqlite"
    INTERVIEW_SHIFT = 24
    ROLE_SHIFT = 20
    MAX_ORDINAL = (1 << ROLE_SHIFT) - 1
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

    fts = table(
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

    # -- layout helpers

    def _interview_of(self):
        return self.fts.c.rowid.op(">>")(self.INTERVIEW_SHIFT)

    def _role_of(self):
        return self.fts.c.rowid.op(">>")(self.ROLE_SHIFT).op("&")(0xF)

    def _range(self, interview_id: int) -> tuple[int, int]:
        low = int(interview_id) << self.INTERVIEW_SHIFT
        return low, low + (1 << self.INTERVIEW_SHIFT) - 1

    def _match(self, query: ParsedQuery):
        return self.fts.c[INDEX_TABLE].op("MATCH")(query.fts5())

    # -- the four operations

    def create(self, connection: Connection) -> None:
        for statement in self.DDL:
            connection.exec_driver_sql(statement)

    def remove(self, session: Session, interview_id: int) -> None:
        low, high = self._range(interview_id)
        session.execute(
            text(f"DELETE FROM {INDEX_TABLE} WHERE rowid BETWEEN :low AND :high"),  # noqa: S608
            {"low": low, "high": high},
        )

    def insert(self, session: Session, interview_id: int, rows: Sequence[IndexRow]) -> None:
        if len(rows) > self.MAX_ORDINAL:
            raise ValueError(f"an interview can have at most {self.MAX_ORDINAL} indexed segments")
        low, _high = self._range(interview_id)
        params = []
        for ordinal, row in enumerate(rows, start=1):
            role = row.speaker_role or None  # "" and None: no speaker
            if role not in ROLE_CODES:
                raise ValueError(f"unknown speaker role {row.speaker_role!r}")
            params.append(
                {
                    "rowid": low | ROLE_CODES[role] << self.ROLE_SHIFT | ordinal,
                    "body": fold(row.text or ""),
                    "who": fold(row.speaker or ""),
                    "text": row.text or "",
                    "speaker": row.speaker,
                    "speaker_role": role,
                    "segment_id": row.segment_id,
                    "recording_id": row.recording_id,
                    "start": row.start,
                }
            )
        if params:
            session.execute(
                text(
                    f"INSERT INTO {INDEX_TABLE} (rowid, body, who, text, speaker, speaker_role,"  # noqa: S608
                    " segment_id, recording_id, start) VALUES (:rowid, :body, :who, :text,"
                    " :speaker, :speaker_role, :segment_id, :recording_id, :start)"
                ),
                params,
            )

    def counts(self, session: Session, query: ParsedQuery, visible: Any) -> list[tuple]:
        """(collection_id, language, role, hits) over every visible match.

        Matches are first grouped by (interview, role), one key read straight from
        the rowid (``rowid >> 20``), without ranking and without reading a stored
        column; only those groups (a few per interview) are joined to
        ``interviews`` for the policy and the facets.
        """
        key = self.fts.c.rowid.op(">>")(self.ROLE_SHIFT)
        groups = (
            select(key.label("key"), func.count().label("n"))
            .select_from(self.fts)
            .where(self._match(query))
            .group_by(key)
            .subquery("groups")
        )
        interview_id = groups.c.key.op(">>")(self.INTERVIEW_SHIFT - self.ROLE_SHIFT)
        role = groups.c.key.op("&")(0xF)
        statement = (
            select(Interview.collection_id, Interview.language, role, func.sum(groups.c.n))
            .select_from(groups)
            .join(Interview, Interview.id == interview_id)
            .where(visible)
            .group_by(Interview.collection_id, Interview.language, role)
        )
        return [(c, lang, ROLE_NAMES.get(r), n) for c, lang, r, n in session.execute(statement)]

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
        segments: (1) the visible matches, newest interview first, at most
        ``RANK_WINDOW`` of them, each scored with bm25 (the policy filter is an
        ``IN`` over the visible interviews' ids, computed once, so no join can make
        the planner loop over interviews); (2) the best ``offset + limit`` of those
        by SQLite's top-N sort (FTS5's own ``ORDER BY rank`` sorts every match
        and was three times slower); (3) only those rows' stored columns are read.
        """
        fts = self.fts
        score = func.bm25(literal_column(INDEX_TABLE), *self.WEIGHTS)
        window = (
            select(fts.c.rowid.label("id"), score.label("score"))
            .where(self._match(query))
            .where(self._interview_of().in_(select(Interview.id).where(visible)))
            .order_by(fts.c.rowid.desc())
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
        shown = self.fts.alias("shown")
        statement = (
            select(
                top.c.id.op(">>")(self.INTERVIEW_SHIFT).label("interview_id"),
                shown.c.segment_id,
                shown.c.recording_id,
                shown.c.start,
                shown.c.speaker,
                shown.c.speaker_role,
                shown.c.text,
                top.c.score,
            )
            .select_from(top)
            .join(shown, shown.c.rowid == top.c.id)
            .order_by(top.c.score, top.c.id.desc())
        )
        return [dict(row._mapping) for row in session.execute(statement)]

    def optimize(self, connection: Connection) -> None:
        connection.exec_driver_sql(
            f"INSERT INTO {INDEX_TABLE}({INDEX_TABLE}) VALUES ('optimize')"  # noqa: S608
        )


BACKENDS = {SQLiteFTS5.dialect: SQLiteFTS5}


def backend_for(bind: Any) -> SQLiteFTS5:
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
    """Merge the index into one segment: after a bulk load or reindex, queries on
    common words read one long list instead of many short ones."""
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


def forget_deleted(engine: Engine) -> None:
    """Make removed index entries unrecoverable from the database file.

    FTS5 keeps deleted entries in its older segments until they are merged: after
    a name becomes protected, the index is merged in full (``optimize``) and the
    write-ahead log truncated, so a name heard before it was known to be a name is
    gone from the disk, not only from the results. It runs when names change (rare),
    and costs a few seconds on a very large index.
    """
    if engine.dialect.name != "sqlite":
        return
    with engine.begin() as connection:
        connection.exec_driver_sql(f"INSERT INTO {INDEX_TABLE}({INDEX_TABLE}) VALUES('optimize')")
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
