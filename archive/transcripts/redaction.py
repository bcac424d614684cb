"""What is hidden from whom: the one place that decides redaction.

For anyone but a custodian, every mention of a protected name (a speaker's real
name and aliases, found by ``names.matching`` in all its forms) is replaced by that
speaker's pseudonym, and every span an archivist marked is replaced by the chosen
text. A speaker whom the agreement names (``identity: named``, ``named_speakers``)
keeps their name for those who may read the interview. The same spans drive the audio access copy.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
import threading
from dataclasses import dataclass
from typing import Any

from cachetools import LRUCache
from sqlalchemy import LargeBinary, event, select, type_coerce
from sqlalchemy.orm import Session

from archive import policy
from archive.extensions import db
from archive.interviews import identity
from archive.models import Interview, Recording, Redaction, Segment, Speaker
from archive.models.types import decrypt_bytes, keyed_digest
from archive.transcripts.names import matching as name_matching
from archive.transcripts.names.matching import Mention, NameMatcher, ProtectedName


def _matcher_code() -> bytes:
    """What the stored spans are keyed on besides the text and the names: the
    matcher's version (bumped when matching changes), not the module's source, so
    editing a comment there keeps them and names found by an earlier version are
    looked for again. Read at each use, as ``indexing`` reads it, so the spans and
    ``Interview.names_matched_with`` can never speak of two different versions."""
    return f"name_matching:{name_matching.MATCHER_VERSION}".encode()


DEFAULT_REPLACEMENT = "[redacted]"
# What a reader of redacted text sees of a machine translation that cannot be shown
# safely: its original has a marked redaction, or a protected name the translation
# does not visibly carry (see ``Redactor.translation``).
TRANSLATION_WITHHELD = "[translation withheld]"
# What a protected name of another interview's speaker reads as: never that
# speaker's pseudonym, which would link the two interviews.
WITHHELD = "[name withheld]"


@dataclass(frozen=True)
class Hidden:
    """A character span of a segment's text and what replaces it."""

    start: int
    end: int
    replacement: str
    source: str  # "name" or "marked"
    redaction_id: int | None = None


def _protected_speakers(interview: Interview) -> list[Speaker]:
    """Speakers whose names must be hidden: all with a name, but those the agreement
    in force names."""
    return [
        speaker
        for speaker in interview.speakers
        if identity.protected_names(speaker) and not identity.is_named(speaker)
    ]


class _SharedMatcher:
    """A NameMatcher kept between requests, with what it found in each text.

    The mentions in a text depend only on the text and the protected names (the
    key this matcher is kept under), so a page read again finds its names by a
    lookup: for an hour-long interview that is most of the page's time. The text
    is remembered by a digest only (the last ``TEXTS_KEPT`` texts read). The
    matcher's own caches grow as it reads, so one thread at a time uses it.
    """

    def __init__(self, protected: list[ProtectedName]) -> None:
        self.matcher = NameMatcher(protected)
        self.lock = threading.Lock()
        self.found: LRUCache[bytes, tuple[Mention, ...]] = LRUCache(maxsize=TEXTS_KEPT)
        self.found_lock = threading.Lock()  # cachetools' caches are not thread-safe

    def find(self, text: str) -> tuple[Mention, ...]:
        digest = hashlib.blake2b(text.encode(), digest_size=16).digest()
        with self.found_lock:
            mentions = self.found.get(digest)
        if mentions is None:
            with self.lock:
                mentions = tuple(self.matcher.find(text))
            with self.found_lock:
                self.found[digest] = mentions
        return mentions


# Keyed by a digest of the protected names and whose they are: when a name, an
# alias or a speaker changes, the key changes and a new matcher is built. The
# least recently used are dropped beyond MATCHERS_KEPT.
MATCHERS_KEPT = 64  # a warm matcher of an hour-long interview holds about 0.5 MB
TEXTS_KEPT = 20_000  # per matcher: about 100 bytes each
_MATCHERS: LRUCache[bytes, _SharedMatcher] = LRUCache(maxsize=MATCHERS_KEPT)
_MATCHERS_LOCK = threading.Lock()


def _matcher(protected: list[ProtectedName]) -> _SharedMatcher:
    names = [(p.key, p.names) for p in protected]
    key = hashlib.sha256(repr((_matcher_code(), names)).encode()).digest()
    with _MATCHERS_LOCK:
        shared = _MATCHERS.get(key)
    if shared is not None:
        return shared
    shared = _SharedMatcher(protected)  # built outside the lock: it takes a while
    with _MATCHERS_LOCK:
        return _MATCHERS.setdefault(key, shared)


# The decrypted names of the archive, for the last digest of their ciphertexts only.
_ARCHIVE_NAMES: LRUCache[str, tuple[tuple[int, ProtectedName], ...]] = LRUCache(maxsize=1)
_ARCHIVE_LOCK = threading.Lock()


def archive_names(exclude_interview: int | None = None) -> list[ProtectedName]:
    """The protected names of every speaker in the archive (keyed by speaker id),
    but those of ``exclude_interview``: each is hidden in every interview's
    rendering, not only in its own.

    Read once per transaction (a list page asks for every interview on it) and
    again after anything is flushed, or while a speaker or an interview has
    changes not yet flushed; the decrypted names are kept between transactions,
    keyed by a digest of the stored ciphertexts, so a name given or changed
    anywhere counts from the next reading on."""
    session = db.session()
    pending = any(
        isinstance(row, (Speaker, Interview))
        for row in (*session.new, *session.dirty, *session.deleted)
    )
    people = None if pending else session.info.get(_SESSION_KEY)
    if people is None:
        people = _load_archive_names()
        session.info[_SESSION_KEY] = people
    return [p for owner, p in people if owner != exclude_interview and p.names]


_SESSION_KEY = "archive.redaction.archive_names"


@event.listens_for(Session, "after_flush")
@event.listens_for(Session, "after_transaction_end")
def _forget_archive_names(session: Session, *_args: Any) -> None:
    session.info.pop(_SESSION_KEY, None)


def _load_archive_names() -> tuple[tuple[int, ProtectedName], ...]:
    rows = db.session.execute(
        select(
            Speaker.id,
            Speaker.interview_id,
            type_coerce(Speaker.real_name, LargeBinary),
            type_coerce(Speaker.aliases, LargeBinary),
            Speaker.named,
            Interview.identity,
        )
        .join(Interview, Interview.id == Speaker.interview_id)
        .where(
            Speaker.merged_into_id.is_(None),
            Speaker.real_name.is_not(None) | Speaker.aliases.is_not(None),
        )
        .order_by(Speaker.id)
    ).all()
    digest = hashlib.sha256()
    for speaker_id, interview_id, real, aliases, named, agreed in rows:
        digest.update(repr((speaker_id, interview_id, bytes(real or b""))).encode())
        digest.update(repr((bytes(aliases or b""), bool(named), agreed)).encode())
    key = digest.hexdigest()
    with _ARCHIVE_LOCK:
        people = _ARCHIVE_NAMES.get(key)
    if people is None:
        people = tuple(_decrypt_names(rows))
        with _ARCHIVE_LOCK:
            _ARCHIVE_NAMES[key] = people
    return people


def _decrypt_names(rows) -> list[tuple[int, ProtectedName]]:
    people = []
    for speaker_id, interview_id, real, aliases, named, agreed in rows:
        if named and agreed == "named":
            continue  # chose to be known by name
        names = [decrypt_bytes(bytes(real)).decode()] if real else []
        names += json.loads(decrypt_bytes(bytes(aliases))) if aliases else []
        kept = tuple(n for n in names if n and n.strip())
        people.append((interview_id, ProtectedName(speaker_id, kept)))
    return people


class Redactor:
    """Built once per interview (names are decrypted and indexed once).

    Hides this interview's speakers' names behind their pseudonyms, and every
    other protected name in the archive behind ``WITHHELD``.
    """

    def __init__(self, interview: Interview | None) -> None:
        self.interview = interview
        speakers = _protected_speakers(interview) if interview is not None else []
        self.replacements = {s.id: identity.public_name(s) for s in speakers}
        names = [ProtectedName(s.id, tuple(identity.protected_names(s))) for s in speakers]
        own = interview.id if interview is not None else None
        for person in archive_names(exclude_interview=own):
            names.append(person)
            self.replacements[person.key] = WITHHELD
        self.matcher = _matcher(names)
        self.names_key = json.dumps([[n.key, list(n.names)] for n in names]).encode()
        self._marked: dict[int, list[Redaction]] | None = None

    @property
    def marked(self) -> dict[int, list[Redaction]]:
        if self._marked is None:
            self._marked = _active_redactions(self.interview) if self.interview else {}
        return self._marked

    def name_spans(self, segment: Segment) -> list[tuple[int, int, int]]:
        """Where the protected names are in the segment's text: as kept on the segment
        when it was last indexed, if the text, the names and the matcher are the same
        (a keyed digest of the three says so), else found now."""
        kept = getattr(segment, "name_key", None)
        if kept and kept == self._key(segment):
            return [tuple(span) for span in segment.name_spans or []]
        return [(m.start, m.end, m.key) for m in self.matcher.find(segment.text)]

    def remember(self, segment: Segment) -> None:
        """Keep the names found in the segment on it (indexing calls this after each
        change, so rendering a long transcript seldom has to look again)."""
        key = self._key(segment)
        if segment.name_key != key:
            # None when there is none, so most segments need no decryption to read.
            segment.name_spans = [list(m) for m in self.name_spans(segment)] or None
            segment.name_key = key

    def _key(self, segment: Segment) -> str:
        return keyed_digest(_matcher_code(), self.names_key, segment.text.encode())

    def held_spans(self, segment: Segment) -> list[tuple[int, int, int]]:
        """Names found before an edit, carried through it (see ``carry_names``):
        hidden whatever the edit did to the words around them."""
        length = len(segment.text)
        return [
            (start, end, key)
            for start, end, key in getattr(segment, "held_spans", None) or []
            if 0 <= start < end <= length
        ]

    def all_names(self, segment: Segment) -> list[tuple[int, int, int]]:
        """Every name span of the segment: found now and held through edits."""
        return sorted({*self.name_spans(segment), *self.held_spans(segment)})

    def hidden(self, segment: Segment) -> list[Hidden]:
        """Everything hidden in this segment for a reader who sees redacted text."""
        spans = [
            Hidden(start, end, self.replacements[key], "name")
            for start, end, key in self.all_names(segment)
            if key in self.replacements
        ]
        spans += [
            Hidden(
                r.start_char,
                r.end_char,
                self.plain(r.replacement or DEFAULT_REPLACEMENT),  # typed: may name someone
                "marked",
                r.id,
            )
            for r in self.marked.get(segment.id, [])
            if 0 <= r.start_char < r.end_char <= len(segment.text)
        ]
        return _union(spans)

    def text(self, segment: Segment) -> str:
        return apply(segment.text, self.hidden(segment))

    def earlier(self, segment: Segment, text: str) -> str:
        """An earlier version of the segment (its history), hidden as the segment is
        now: every span hidden today (names found and held, marked redactions) is
        carried back onto that text, and the names found in it are hidden too."""
        opcodes = diff(segment.text, text)
        spans = []
        for span in self.hidden(segment):
            start, end = moved(opcodes, span.start, span.end, len(text))
            if start < end:
                spans.append(Hidden(start, end, span.replacement, span.source))
        spans += [
            Hidden(m.start, m.end, self.replacements[m.key], "name")
            for m in self.matcher.find(text)
            if m.key in self.replacements
        ]
        return apply(text, _union(spans))

    def translation(self, segment: Segment, translated: str | None) -> str:
        """The machine translation of ``segment`` as a reader of redacted text sees it.

        Names are found in the English by the same matcher (it knows
        transliteration: "Гульнара" is also "Gulnara", "Gulnora") and replaced as in
        the original. Character spans cannot be carried from one language to the
        other, so where the original hides something the translation cannot be
        shown to hide in the same place, the whole translated segment is withheld:

        - a span an archivist marked in the original (whatever it covers, it may
          be said anywhere in the English);
        - a protected name hidden in the original whose speaker the matcher does
          not find in the translation (the model may have spelled it in a way no
          rule knows): the name may be there, unrecognised.
        """
        translated = translated or ""
        if not translated.strip():
            return ""
        original = self.hidden(segment)
        if any(span.source == "marked" for span in original):
            return TRANSLATION_WITHHELD
        mentions = [m for m in self.matcher.find(translated) if m.key in self.replacements]
        named_here = {key for _s, _e, key in self.all_names(segment) if key in self.replacements}
        if named_here - {m.key for m in mentions}:
            return TRANSLATION_WITHHELD
        spans = [Hidden(m.start, m.end, self.replacements[m.key], "name") for m in mentions]
        return apply(translated, _union(spans))

    def plain(self, text: str) -> str:
        """Names hidden in any other text about the interview: every free-text field
        a person can type a name into (title, summary, place, vocabulary, index
        points, file names, messages, collection names)."""
        if not text or not text.strip():
            return text
        spans = [
            Hidden(m.start, m.end, self.replacements[m.key], "name")
            for m in self.matcher.find(text)
        ]
        return apply(text, _union(spans))


def carry_names(redactor: Redactor, segment: Segment, new_text: str) -> list | None:
    """The segment's name spans (found and held) moved onto ``new_text``: a name
    stays hidden through an edit of the words around it (glued text, a deleted
    space, a rewritten neighbour), as marked redactions do."""
    opcodes = diff(segment.text, new_text)
    carried = set()
    for start, end, key in redactor.all_names(segment):
        start, end = moved(opcodes, start, end, len(new_text))
        if start < end:
            carried.add((start, end, key))
    return [list(span) for span in sorted(carried)] or None


def diff(old: str, new: str) -> list[tuple]:
    return difflib.SequenceMatcher(a=old, b=new, autojunk=False).get_opcodes()


def moved(opcodes: list[tuple], start: int, end: int, length: int) -> tuple[int, int]:
    """A span of the old text in the new text: words rewritten inside or at the edge
    of it are covered by what replaced them, so nothing becomes visible."""
    new_start = min(_map(opcodes, start, is_end=False), length)
    return new_start, min(max(_map(opcodes, end, is_end=True), new_start), length)


def _map(opcodes: list[tuple], position: int, is_end: bool) -> int:
    for tag, a0, a1, b0, b1 in opcodes:
        inside = a0 <= position < a1 or (is_end and a0 < position <= a1)
        if not inside:
            continue
        if tag == "equal":
            return b0 + (position - a0)
        return b1 if is_end else b0
    return opcodes[-1][4] if opcodes else 0


def _active_redactions(interview: Interview) -> dict[int, list[Redaction]]:
    query = (
        select(Redaction)
        .join(Segment)
        .join(Recording)
        .where(Recording.interview_id == interview.id, Redaction.removed_at.is_(None))
    )
    marked: dict[int, list[Redaction]] = {}
    for row in db.session.scalars(query):
        marked.setdefault(row.segment_id, []).append(row)
    return marked


def _union(spans: list[Hidden]) -> list[Hidden]:
    """Overlapping spans become one; a marked span wins over a name inside it."""
    spans.sort(key=lambda s: (s.start, -s.end))
    merged: list[Hidden] = []
    for span in spans:
        if merged and span.start < merged[-1].end:
            last = merged[-1]
            keep = last if last.source == "marked" or span.source != "marked" else span
            merged[-1] = Hidden(
                last.start,
                max(last.end, span.end),
                keep.replacement,
                keep.source,
                keep.redaction_id,
            )
        else:
            merged.append(span)
    return merged


def apply(text: str, spans: list[Hidden]) -> str:
    out, cursor = [], 0
    for span in spans:
        out.append(text[cursor : span.start])
        out.append(span.replacement)
        cursor = span.end
    out.append(text[cursor:])
    return "".join(out)


def _same(text: str) -> str:
    return text


def hider(user: Any, interview: Interview | None = None):
    """How ``user`` reads free text about ``interview`` (about the archive as a
    whole, such as a collection, when None): a function from the text as typed to
    the text as shown, with names hidden exactly as in the transcript."""
    if interview is None:
        return _same if policy.sees_unredacted_anywhere(user) else Redactor(None).plain
    if policy.sees_unredacted(user, interview):
        return _same
    return Redactor(interview).plain


def redactor_for(user: Any, interview: Interview) -> Redactor | None:
    """None when ``user`` reads the unredacted text (custodians); a Redactor otherwise."""
    if policy.sees_unredacted(user, interview):
        return None
    return Redactor(interview)


_WORD = re.compile(r"\S+")


def word_offsets(text: str, words: list[dict]) -> list[tuple[int, int] | None]:
    """Where each timed word sits in the segment's text (None if it was edited away)."""
    offsets: list[tuple[int, int] | None] = []
    cursor, lowered = 0, text.casefold()
    for word in words:
        token = word["word"].strip().casefold()
        found = lowered.find(token, cursor) if token else -1
        if found < 0:
            offsets.append(None)
            continue
        offsets.append((found, found + len(token)))
        cursor = found + len(token)
    return offsets


def audio_spans(recording: Recording) -> list[tuple[float, float]]:
    """Times (seconds) of every word hidden from a reader of redacted text."""
    redactor = Redactor(recording.interview)
    segments = db.session.scalars(select(Segment).where(Segment.recording_id == recording.id))
    return [span for segment in segments for span in segment_audio_spans(redactor, segment)]


def segment_audio_spans(redactor: Redactor, segment: Segment) -> list[tuple[float, float]]:
    """The times to tone out in one segment (an edit that leaves them as they were
    needs no new listening copy)."""
    hidden = redactor.hidden(segment)
    if not hidden:
        return []
    times: list[tuple[float, float]] = []
    words = segment.words or []
    placed = word_offsets(segment.text, words)
    for word, where in zip(words, placed, strict=True):
        if where and any(h.start < where[1] and where[0] < h.end for h in hidden):
            times.append((word["start"], word["end"]))
    if any(where is None for where in placed) or not words:
        # Edited text no longer lines up with its timed words: tone out the whole
        # segment rather than guess, so no hidden word can be heard.
        times.append((segment.start, segment.end))
    return times
