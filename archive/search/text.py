"""Text folding, the user's query and snippets: shared by both index backends and
the highlighter, so that the index, the query and the marks in a snippet agree on
what a word is and when two words are the same.

Matching ignores case (Unicode case folding, so ``STRASSE`` finds ``Straße``),
diacritics (``cafe`` finds ``café``, ``елка`` finds ``ёлка``; ``й`` and ``ў``
stay letters of their own, as Russian and Belarusian readers expect) and
compatibility forms (ligatures, full-width letters). Kazakh letters (ә, ғ, қ, ң,
ө, ұ and the rest) are letters of their own and match in either case.
"""

from __future__ import annotations

import functools
import html
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup

MAX_QUERY_CHARS = 500
MAX_TERMS = 16
MAX_PHRASE_TOKENS = 32
# A prefix of one letter matches a large part of the vocabulary; such a ``*`` is
# ignored and the letter searched as a word.
MIN_PREFIX = 2
SNIPPET_TOKENS = 40


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


def words(value: str) -> list[str]:
    """The folded words of a text, in order: what an index that does not split
    words itself (PostgreSQL's) stores, so it splits exactly as a query does."""
    return WORD.findall(fold(value))


# ---------------------------------------------------------------------------
# The user's query


@dataclass(frozen=True)
class Term:
    """One thing that must match: a word, or a phrase of words in order; with
    ``prefix`` the last word matches any word it begins."""

    tokens: tuple[str, ...]
    prefix: bool = False


@dataclass(frozen=True)
class ParsedQuery:
    terms: tuple[Term, ...]

    def __bool__(self) -> bool:
        return bool(self.terms)

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
        tokens = tuple(words(chunk))[:MAX_PHRASE_TOKENS]
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
    spans = list(_display_word_re().finditer(text_))
    hits = [i for i, w in enumerate(spans) if query.matches_word(fold(w.group()))]
    begin, end = 0, len(text_)
    if len(spans) > max_words:
        first = max(0, (hits[0] if hits else 0) - max_words // 4)
        first = min(first, len(spans) - max_words)
        last = first + max_words - 1
        begin = spans[first].start() if first > 0 else 0
        end = spans[last].end() if last < len(spans) - 1 else len(text_)
    out: list[str] = ["…"] if begin > 0 else []
    position = begin
    for i in hits:
        word = spans[i]
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
