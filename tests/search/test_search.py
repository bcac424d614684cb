"""Full-text search: who finds what, query syntax, languages, ranking, snippets,
facets, hostile input, and that the index holds nothing but what it is given."""

from __future__ import annotations

import os
from datetime import date, datetime, timedelta
from itertools import count

import pytest
from sqlalchemy import inspect, text

from archive import interviews, search, unit_of_work
from archive.extensions import db
from archive.models import Collection, Grant
from archive.search import IndexRow

_segment_ids = count(1)


@pytest.fixture
def index(app):
    search.ensure_index(db.engine)
    search.ensure_index(db.engine)  # idempotent: safe at every start
    return search


def add(actor, title: str, texts, level: str = "open", language: str = "en", **fields):
    """An interview whose segments say ``texts`` (str, or (speaker, role, text))."""
    interview = interviews.create_interview(actor, {"title": title, "language": language})
    unit_of_work.commit()
    interview.access_level = level
    for name, value in fields.items():
        setattr(interview, name, value)
    rows = []
    for number, item in enumerate(texts):
        speaker, role, said = ("Svetlana", "narrator", item) if isinstance(item, str) else item
        rows.append(IndexRow(next(_segment_ids), None, 10.0 * number, speaker, role, said))
    search.index_interview(db.session, interview.id, rows)
    db.session.commit()
    return interview


def ids(result) -> set[int]:
    return {hit.interview_id for hit in result.hits}


def find(user, query: str, **kwargs):
    return search.search(db.session, user, query, **kwargs)


# -- who finds what ---------------------------------------------------------------


@pytest.fixture
def levels(index, people):
    """One interview in each state, each saying the same word."""
    staff = people["archivist"]
    word = "samovar"
    made = {
        level: add(staff, level, [f"the {word} was {level}"], level=level)
        for level in ("open", "on_request", "catalogue", "sealed")
    }
    made["granted"] = add(staff, "granted", [f"a {word} granted"], level="on_request")
    made["embargoed"] = add(
        staff, "embargoed", [f"a {word} later"], embargo_until=date.today() + timedelta(days=30)
    )
    made["withdrawn"] = add(staff, "withdrawn", [f"a {word} gone"], withdrawn_at=datetime.now())
    made["own"] = add(people["interviewer"], "own", [f"my {word}"], level="sealed")
    db.session.add(Grant(researcher_id=people["researcher"].id, interview_id=made["granted"].id))
    db.session.commit()
    return made


def test_visitor_finds_only_open_interviews(levels):
    assert ids(find(None, "samovar")) == {levels["open"].id}


def test_researcher_also_finds_the_granted_on_request_interview(levels, people):
    found = ids(find(people["researcher"], "samovar"))
    assert found == {levels["open"].id, levels["granted"].id}


def test_expired_grant_finds_nothing_more(levels, people, make_user):
    other = make_user("researcher")
    db.session.add(
        Grant(
            researcher_id=other.id,
            interview_id=levels["on_request"].id,
            expires_on=date.today() - timedelta(days=1),
        )
    )
    db.session.commit()
    assert ids(find(other, "samovar")) == {levels["open"].id}


def test_grant_on_a_collection_opens_its_on_request_interviews(index, people, make_user):
    collection = Collection(title="Almaty 2022")
    db.session.add(collection)
    db.session.commit()
    inside = add(people["archivist"], "in", ["kettle inside"], level="on_request")
    outside = add(people["archivist"], "out", ["kettle outside"], level="on_request")
    inside.collection_id = collection.id
    reader = make_user("researcher")
    db.session.add(Grant(researcher_id=reader.id, collection_id=collection.id))
    db.session.commit()
    assert ids(find(reader, "kettle")) == {inside.id}
    assert outside.id in ids(find(people["archivist"], "kettle"))


def test_archivist_finds_everything_not_withdrawn(levels, people):
    expected = {i.id for name, i in levels.items() if name != "withdrawn"}
    assert ids(find(people["archivist"], "samovar")) == expected


def test_custodian_and_admin_also_find_withdrawn_until_it_is_removed(levels, people):
    everything = {i.id for i in levels.values()}
    assert ids(find(people["custodian"], "samovar")) == everything
    assert ids(find(people["admin"], "samovar")) == everything


def test_interviewer_finds_own_sealed_interview_and_open_ones(levels, people):
    found = ids(find(people["interviewer"], "samovar"))
    assert found == {levels["open"].id, levels["own"].id}


def test_policy_changes_take_effect_without_reindexing(levels, people):
    levels["open"].access_level = "sealed"
    levels["catalogue"].access_level = "open"
    db.session.commit()
    assert ids(find(None, "samovar")) == {levels["catalogue"].id}


def test_search_agrees_with_the_policy_decision(levels, people, make_user):
    from archive import policy

    readers = [None, *people.values(), make_user("researcher")]
    for reader in readers:
        allowed = {i.id for i in levels.values() if policy.can(reader, "read_transcript", i)}
        assert ids(find(reader, "samovar", per_page=100)) == allowed


def test_remove_interview_removes_its_hits_at_once(levels, people):
    search.remove_interview(db.session, levels["open"].id)
    assert find(None, "samovar").total == 0  # before the commit, in the same transaction
    db.session.commit()
    assert ids(find(people["custodian"], "samovar")) == {
        i.id for name, i in levels.items() if name != "open"
    }


def test_index_interview_replaces_all_rows(index, people):
    interview = add(people["archivist"], "t", ["first version", "another first"])
    search.index_interview(
        db.session, interview.id, [IndexRow(999, None, 0.0, "Svetlana", "narrator", "second")]
    )
    db.session.commit()
    assert find(None, "first").total == 0
    [hit] = find(None, "second").hits
    assert (hit.interview_id, hit.segment_id, hit.start, hit.speaker) == (
        interview.id,
        999,
        0.0,
        "Svetlana",
    )


# -- what is indexed ----------------------------------------------------------------


def test_a_protected_name_outside_the_given_text_is_never_found(index, people):
    """The caller indexes the redacted rendering and the pseudonym; the real name
    (here Gulnara Bekova) must not be a hit, a snippet, or anywhere in the tables."""
    add(
        people["archivist"],
        "t",
        [("Svetlana", "narrator", "My name is [redacted], I lived near the square.")],
    )
    for query in ("Gulnara", "bekova", "gulnar*", '"gulnara bekova"'):
        assert find(people["custodian"], query).total == 0
    hit = find(None, "square").hits[0]
    assert "Gulnara" not in hit.snippet_html and hit.speaker == "Svetlana"
    tables = [name for name in inspect(db.engine).get_table_names() if name.startswith("search_")]
    assert tables
    for table in tables:
        dump = repr(db.session.execute(text(f'SELECT * FROM "{table}"')).all())  # noqa: S608
        assert "gulnara" not in dump.lower()


def test_a_segment_without_speaker(index, people):
    interview = add(people["archivist"], "t", [("", "", "nobody spoke"), (None, None, "nobody")])
    result = find(None, "nobody", speaker_role="", language="", collection="")
    assert result.total == 2 and ids(result) == {interview.id}
    assert result.facets["speaker_role"] == {}
    assert {h.speaker_role for h in result.hits} == {None}


def test_the_pseudonym_is_searchable(index, people):
    interview = add(people["archivist"], "t", [("Aigerim", "narrator", "we walked home")])
    assert ids(find(None, "aigerim")) == {interview.id}
    assert ids(find(None, "home aigerim")) == {interview.id}


def test_a_phrase_does_not_run_from_the_text_into_the_pseudonym(index, people):
    add(people["archivist"], "t", [("Aigerim Sultan", "narrator", "we walked home")])
    assert find(None, '"home aigerim"').total == 0
    assert find(None, '"aigerim sultan"').total == 1


def test_a_word_too_long_to_index_does_not_raise(index, people):
    add(people["archivist"], "t", ["\u337b" * 1000 + " tail", "\u0436" * 5000])
    assert find(None, "tail").total == 1


def test_the_migration_made_the_index_its_backend_describes():
    """Migration 0002 keeps its own copy of each backend's DDL (history must not
    change with the code); a new layout needs a new migration."""
    import importlib.util
    from pathlib import Path

    path = Path(search.__file__).parents[1] / "migrations/versions/0002_search_index.py"
    spec = importlib.util.spec_from_file_location("migration_0002", path)
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    for backend in search.BACKENDS.values():
        assert migration.DDL[backend.dialect] == backend.DDL


# -- query syntax, languages ----------------------------------------------------------


@pytest.fixture
def texts(index, people):
    said = {
        "phrase": "the red house stood by the river",
        "reversed": "a house painted red",
        "almaty": "We came to Almaty in January",
        "cyrillic": "Мы приехали в Алматы в январе",
        "kazakh": "ӘЖЕМ ҚАЗАҚСТАНДА тұрды, үйі үлкен еді",
        "diacritics": "Un café près de la gare, naïve",
        "yo": "Зелёная ёлка во дворе",
        "strasse": "Die Straße war voll",
        "moi": "мои соседи",
    }
    return {key: add(people["archivist"], key, [value]) for key, value in said.items()}


SYNTAX = [
    ('"red house"', {"phrase"}),
    ("red house", {"phrase", "reversed"}),
    ("HOUSE Red", {"phrase", "reversed"}),
    ("almat*", {"almaty"}),
    ("Almaty", {"almaty"}),
    ("алма*", {"cyrillic"}),
    ("АЛМАТЫ", {"cyrillic"}),
    ('"в алматы"', {"cyrillic"}),
    ("әжем", {"kazakh"}),
    ("қазақстанда", {"kazakh"}),
    ("ҮЙІ", {"kazakh"}),
    ("үлк*", {"kazakh"}),
    ("cafe", {"diacritics"}),
    ("CAFÉ pres", {"diacritics"}),
    ("naive", {"diacritics"}),
    ("елка", {"yo"}),
    ("зеленая", {"yo"}),
    ("ЁЛКА", {"yo"}),
    ("strasse", {"strasse"}),
    ("straße", {"strasse"}),
    ("мои", {"moi"}),
    ("мой", set()),
    ("almaty river", set()),
]


def test_query_syntax_and_languages(texts):
    # One archive for the whole table (building one per case is slow).
    names = {interview.id: key for key, interview in texts.items()}
    found = {query: {names[i] for i in ids(find(None, query))} for query, _ in SYNTAX}
    assert found == dict(SYNTAX)


def test_a_one_letter_prefix_is_searched_as_a_word(texts):
    assert find(None, "a*").total == find(None, "a").total == 1


# -- ranking and snippets ------------------------------------------------------------


def test_better_match_ranks_first(index, people):
    weak = add(
        people["archivist"],
        "weak",
        ["the tanks came down the long avenue while everyone in the crowd was singing songs"],
    )
    strong = add(people["archivist"], "strong", ["tanks, tanks and more tanks"])
    hits = find(None, "tanks").hits
    assert [h.interview_id for h in hits] == [strong.id, weak.id]
    assert hits[0].rank > hits[1].rank


def test_snippets_are_escaped_and_marked(index, people):
    add(people["archivist"], "t", ['He wrote <script>alert("Almaty")</script> & left'])
    [hit] = find(None, "almaty").hits
    assert hit.snippet_html == (
        "He wrote &lt;script&gt;alert(&quot;<mark>Almaty</mark>&quot;)&lt;/script&gt; &amp; left"
    )
    assert "<script>" not in hit.snippet_html
    assert hit.text == 'He wrote <script>alert("Almaty")</script> & left'


def test_snippet_marks_prefix_folded_and_phrase_words(index, people):
    add(people["archivist"], "t", ["Ёлки в Алматы, a red house"])
    [hit] = find(None, 'елки алма* "red house"').hits
    assert hit.snippet_html == (
        "<mark>Ёлки</mark> в <mark>Алматы</mark>, a <mark>red</mark> <mark>house</mark>"
    )


def test_long_text_snippet_is_cut_around_the_match(index, people):
    words = [f"word{n}" for n in range(200)]
    words[120] = "barricade"
    add(people["archivist"], "t", [" ".join(words)])
    [hit] = find(None, "barricade").hits
    assert hit.snippet_html.startswith("…") and hit.snippet_html.endswith("…")
    assert "<mark>barricade</mark>" in hit.snippet_html
    assert len(hit.snippet_html.split()) <= search.SNIPPET_TOKENS + 2


HOSTILE = [
    '"unbalanced',
    'unbalanced"',
    '"',
    '""',
    "col:val",
    "body:secret",
    "text:almaty",
    "(almaty",
    "almaty)",
    "almaty OR",
    "AND",
    "OR NOT",
    "NEAR(almaty came)",
    "almaty NEAR/2 came",
    "^almaty",
    "-almaty",
    "+almaty",
    "*",
    "**almaty",
    "alm**",
    "{body who}: almaty",
    "almaty'; DROP TABLE interviews; --",
    "'",
    "\\",
    "\x00almaty",
    "almaty\u200b",
    "🙂",
    "   ",
    "",
    "a" * 10_000,
    "\u337b" * 500,  # one word of 3,000 bytes once folded: too long for a tsvector
    " ".join(["almaty"] * 500),
    '"' * 101,
    "%_%",
    "rank:1",
    "rowid",
    "search_index",
]


# The hostile queries that find the Almaty interview: their words are "almaty" (or
# the prefix "alm") once the characters that are syntax to FTS5 or to a tsquery
# are read as the plain separators they are here. Every other one finds nothing:
# one of its words is in no text (all words must match), or it has no word.
HOSTILE_FINDING_ALMATY = {
    "(almaty",
    "almaty)",
    "^almaty",
    "-almaty",
    "+almaty",
    "**almaty",
    "alm**",
    "\x00almaty",
    "almaty\u200b",
}


def test_hostile_queries_do_not_raise(texts, people):
    names = {interview.id: key for key, interview in texts.items()}
    for query in HOSTILE:
        expected = {"almaty"} if query in HOSTILE_FINDING_ALMATY else set()
        for reader in (None, people["researcher"], people["custodian"]):
            result = find(reader, query)
            assert {names[hit.interview_id] for hit in result.hits} == expected, query
            assert result.total == len(expected), query
            for hit in result.hits:
                assert "<" not in hit.snippet_html.replace("<mark>", "").replace("</mark>", "")


def test_hostile_queries_still_search_sensibly(texts):
    almaty = {texts["almaty"].id}
    assert ids(find(None, '"almaty')) == almaty
    assert ids(find(None, "(almaty")) == almaty
    assert ids(find(None, "text:almaty")) == set()  # "text almaty" as a phrase
    assert ids(find(None, "came:almaty")) == set()
    assert ids(find(None, "to:almaty")) == almaty  # "to almaty" is in the text
    assert find(None, None).total == 0  # type: ignore[arg-type]


def test_bad_pages_and_roles_do_not_raise(texts):
    assert find(None, "almaty", page=0, per_page=0).total == 1
    assert find(None, "almaty", page=10**9, per_page=10**9).hits == []
    assert find(None, "almaty", page="x", per_page=None).total == 1  # type: ignore[arg-type]
    assert find(None, "almaty", speaker_role="emperor").total == 0


# -- facets, filters and pages --------------------------------------------------------


@pytest.fixture
def faceted(index, people):
    first, second = Collection(title="First"), Collection(title="Second")
    db.session.add_all([first, second])
    db.session.commit()
    staff = people["archivist"]
    interviewer = ("Interviewer", "interviewer", "tell me about the square")
    a = add(staff, "a", [interviewer, "the square was full", "the square"], language="en")
    b = add(staff, "b", ["square", "square again"], language="ru")
    c = add(staff, "c", [interviewer], language="en")
    hidden = add(staff, "hidden", ["square square"], level="sealed")
    a.collection_id = b.collection_id = first.id
    c.collection_id = second.id
    hidden.collection_id = second.id
    db.session.commit()
    return {"first": first.id, "second": second.id, "a": a, "b": b, "c": c}


def test_facets_count_visible_hits(faceted):
    result = find(None, "square")
    assert result.total == 6
    assert result.facets == {
        "collection": {faceted["first"]: 5, faceted["second"]: 1},
        "language": {"en": 4, "ru": 2},
        "speaker_role": {"narrator": 4, "interviewer": 2},
    }


def test_filters_narrow_hits_and_facets_show_the_alternatives(faceted):
    result = find(None, "square", language="en", speaker_role="interviewer")
    assert result.total == 2
    assert {h.interview_id for h in result.hits} == {faceted["a"].id, faceted["c"].id}
    assert all(h.speaker_role == "interviewer" for h in result.hits)
    # Each facet ignores its own filter and applies the others.
    assert result.facets["language"] == {"en": 2}
    assert result.facets["speaker_role"] == {"narrator": 2, "interviewer": 2}
    assert result.facets["collection"] == {faceted["first"]: 1, faceted["second"]: 1}

    result = find(None, "square", collection=faceted["first"])
    assert result.total == 5 and ids(result) == {faceted["a"].id, faceted["b"].id}
    assert result.facets["collection"] == {faceted["first"]: 5, faceted["second"]: 1}


def test_pages(faceted):
    first = find(None, "square", per_page=4)
    second = find(None, "square", per_page=4, page=2)
    assert first.total == second.total == 6
    assert len(first.hits) == 4 and len(second.hits) == 2
    seen = [h.segment_id for h in first.hits + second.hits]
    assert len(set(seen)) == 6
    ranks = [h.rank for h in first.hits + second.hits]
    assert ranks == sorted(ranks, reverse=True)


def test_no_query_no_hits(index):
    assert find(None, "").total == 0
    assert find(None, "...").hits == []


def test_beyond_the_rank_window_the_newest_matches_are_ranked(index, people, monkeypatch):
    monkeypatch.setattr(type(search.backend_for(db.session)), "RANK_WINDOW", 3)
    older = add(people["archivist"], "older", ["vodka vodka vodka vodka", "vodka"])
    newer = add(people["archivist"], "newer", ["vodka and bread", "vodka", "a vodka glass"])
    result = find(None, "vodka")
    assert result.total == 5 and not result.ranked_all
    assert ids(result) == {newer.id}
    assert result.hits[0].text == "vodka"  # the best of the window
    assert find(None, "vodka", page=2, per_page=2).hits != []
    assert find(None, "vodka", page=3, per_page=2).hits == []
    assert result.facets["language"] == {"en": 5}  # counts are never windowed
    assert older.id not in ids(find(None, "vodka", per_page=100))
    assert find(None, "bread").ranked_all


def test_forgetting_without_owning_the_index_is_reported_not_skipped(index, caplog):
    """On PostgreSQL, VACUUM by a role that does not own the table only warns and
    does nothing: removed text would silently stay on disk."""
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    if db.engine.dialect.name != "postgresql":
        pytest.skip("table ownership is PostgreSQL's; SQLite has none")
    may = "SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user"
    if not db.session.scalar(text(may)):
        pytest.skip("making a second role needs CREATEROLE for the test role")
    db.session.rollback()
    role = f"archive_reader_{os.getpid()}_{next(_segment_ids)}"
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql(f"CREATE ROLE {role} LOGIN PASSWORD 'reader-password'")
    url = make_url(db.engine.url).set(username=role, password="reader-password")
    reader = create_engine(url)
    try:
        assert search.backend_for(reader).forget_deleted(reader) is False
        assert "needs its owner's role" in caplog.text
    finally:
        reader.dispose()
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql(f"DROP ROLE {role}")
