"""Edits reindex only the segments they touch (``indexing.reindex_segments``), and
the index then holds exactly what a whole reindex would write: the same redacted
text, the same hidden names, the same speakers; a name typed in an edit is never
found by a reader."""

from __future__ import annotations

import random

import pytest
from sqlalchemy import select

from archive import consent, interviews, recordings, search, unit_of_work
from archive.errors import ValidationError
from archive.extensions import db
from archive.models import Redaction, Segment, SegmentTranslation
from archive.recordings import storage
from archive.search import indexing
from archive.search.layout import TRANSLATION_BIT, PackedIndex
from archive.transcripts import redaction_edits, segment_splits, transcript_edits
from tests.helpers import tone_file

OPENING = [
    "We gathered on the square at dawn.",
    "Gulnara Bekova stood beside me with a flag.",
    "Nobody knew what would happen next.",
    "My neighbour Aigerim Nurlanova brought bread for everyone.",
    "Then the shooting started near the akimat.",
    "I ran home through the courtyards.",
]
# What an archivist types: plain words, the narrator's name as written and as
# misheard, in other scripts and cases, half of it, glued to the surname; the other
# interview's narrator, whose name reads "[name withheld]" here.
WORDS = [
    *"the square was full and people shouted we waited until night".split(),
    "Gulnara",
    "Bekova",
    "Gulnara's",
    "Gulnora",
    "Гульнара",
    "Гульнарой",
    "GulnaraBekova",
    "Gul",
    "nara",
    "BEKOVA",
    "Aigerim",
    "Айгерим",
    "Nurlanova",
]


@pytest.fixture
def witness(app, people, tmp_path):
    """An open interview with a protected narrator, and another interview whose
    narrator's name is protected archive-wide."""
    staff = people["interviewer"]
    other = interviews.create_interview(staff, {"title": "Neighbour"})
    interviews.add_speaker(other, pseudonym="Dana", role="narrator", real_name="Aigerim Nurlanova")
    item = interviews.create_interview(staff, {"title": "Square"})
    with storage.copy_to_incoming(tone_file(tmp_path / "tone.wav")) as temp:
        recording = recordings.add_recording(None, item, temp, "tone.wav")
    narrator = interviews.add_speaker(
        item, pseudonym="Svetlana", role="narrator", real_name="Gulnara Bekova"
    )
    asker = interviews.add_speaker(item, pseudonym="Interviewer", role="interviewer")
    for number, said in enumerate(OPENING):
        db.session.add(
            Segment(
                recording_id=recording.id,
                speaker_id=(narrator if number % 2 else asker).id,
                start=0.2 * number,
                end=0.2 * number + 0.18,
                text=said,
                words=[
                    {
                        "start": 0.2 * number + 0.02 * i,
                        "end": 0.2 * number + 0.02 * i + 0.02,
                        "word": " " + word,
                        "probability": 0.9,
                    }
                    for i, word in enumerate(said.split())
                ],
            )
        )
    recording.status = "done"
    db.session.flush()
    # A machine translation of two segments, one of them naming the narrator.
    first, second = db.session.scalars(
        select(Segment).where(Segment.recording_id == recording.id).order_by(Segment.start)
    ).all()[:2]
    for segment, said in ((first, "We gathered in the square."), (second, "Gulnara stood by me.")):
        db.session.add(SegmentTranslation(segment_id=segment.id, text=said, source_version=1))
    indexing.reindex(db.session, item)
    indexing.reindex(db.session, other)
    db.session.commit()
    consent.record_agreement(staff, item, {"access_level": "open", "audio": "redacted"})
    unit_of_work.commit()
    return item


def _index_rows(interview_id: int) -> dict[tuple[int, str], tuple]:
    """The interview's rows as readers get them, by segment and track (the key's
    ordinal may differ: a whole reindex numbers rows afresh)."""
    backend = search.backend_for(db.session)
    table = backend.table
    key = next(iter(table.c))
    low = interview_id << PackedIndex.INTERVIEW_SHIFT
    high = low + (1 << PackedIndex.INTERVIEW_SHIFT) - 1
    rows = db.session.execute(
        select(
            key,
            table.c.segment_id,
            table.c.text,
            table.c.speaker,
            table.c.speaker_role,
            table.c.start,
            table.c.recording_id,
        ).where(key.between(low, high))
    ).all()
    out = {}
    for row_key, segment_id, *shown in rows:
        track = "translation" if row_key >> PackedIndex.ROLE_SHIFT & TRANSLATION_BIT else "original"
        assert (segment_id, track) not in out, "one row per segment and track"
        out[(segment_id, track)] = tuple(shown)
    return out


def _kept_names(interview_id: int) -> dict[int, tuple]:
    segments = db.session.scalars(Segment.in_reading_order(interview_id))
    return {s.id: (s.name_spans, s.name_key) for s in segments if s.suspect is None}


def _assert_same_as_whole_reindex(interview) -> None:
    """The index and the names kept on segments, as the edits left them, equal what
    a whole reindex writes; the whole reindex is then rolled back, so the edits go
    on from what the incremental path made."""
    incremental, kept = _index_rows(interview.id), _kept_names(interview.id)
    moved = indexing.reindex(db.session, interview)
    assert _index_rows(interview.id) == incremental
    assert _kept_names(interview.id) == kept
    assert moved is False  # nothing left stale for the listening copy either
    db.session.rollback()


def _segments(interview) -> list[Segment]:
    return list(db.session.scalars(Segment.in_reading_order(interview.id)))


def _typed(rng: random.Random) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(2, 7))]
    if rng.random() < 0.3:  # a name split by the edit itself: "Gul" + "nara"
        at = rng.randrange(len(words) + 1)
        words[at:at] = ["Gul", "nara"] if rng.random() < 0.5 else ["Gulnara", "Bekova"]
    return " ".join(words)


def _one_edit(rng: random.Random, actor, interview) -> str:
    segments = _segments(interview)
    segment = rng.choice(segments)
    kind = rng.choice(
        ["replace", "append", "glue", "split", "merge", "redact", "phrase", "unredact", "doubt"]
    )
    if kind == "replace":
        transcript_edits.edit_segment(actor, segment, {"text": _typed(rng)})
    elif kind == "append":  # the rest of a name typed after its first half
        transcript_edits.edit_segment(
            actor,
            segment,
            {"text": segment.text + rng.choice(["nara", " Bekova", "'s friend", " Gul", "ova"])},
        )
    elif kind == "glue" and " " in segment.text:  # a space deleted: words run together
        at = rng.choice([i for i, c in enumerate(segment.text) if c == " "])
        transcript_edits.edit_segment(
            actor, segment, {"text": segment.text[:at] + segment.text[at + 1 :]}
        )
    elif kind == "split" and " " in segment.text.strip():
        spaces = [i for i, c in enumerate(segment.text) if c == " " and 0 < i < len(segment.text)]
        try:
            segment_splits.split_segment(actor, segment, rng.choice(spaces))
        except ValidationError:  # inside a hidden name or a redaction: refused
            return "split refused"
    elif kind == "merge" and segment is not segments[-1]:
        segment_splits.merge_with_next(actor, segment)
    elif kind == "redact" and len(segment.text) > 4:
        redaction_edits.add_redaction(actor, segment, 0, 3, "place")
    elif kind == "phrase":
        try:
            redaction_edits.redact_phrase(actor, segment, segment.text.split()[-1], "place")
        except ValidationError:  # the last word is hidden already: not in the rendering
            return "phrase refused"
    elif kind == "unredact":
        marked = db.session.scalar(
            select(Redaction).where(
                Redaction.segment_id == segment.id, Redaction.removed_at.is_(None)
            )
        )
        if marked is None:
            return "nothing to unredact"
        redaction_edits.remove_redaction(actor, marked)
    elif kind == "doubt":  # a doubted segment leaves the index until confirmed
        if segment.suspect is None:
            segment.suspect = "loop"
            indexing.reindex_segments(db.session, interview, [segment.id])
        else:
            transcript_edits.confirm_segment(actor, segment)
    else:
        return "skipped"
    unit_of_work.commit()
    return kind


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_edits_leave_the_index_a_whole_reindex_would_write(witness, people, seed):
    rng = random.Random(seed)  # noqa: S311 (a repeatable walk, not a secret)
    done = []
    for _ in range(40):
        done.append(_one_edit(rng, people["archivist"], witness))
        _assert_same_as_whole_reindex(witness)
    # The walk did what it claims: every kind of change, and names were typed.
    assert {"replace", "append", "glue", "split", "merge", "redact"} <= set(done)
    texts = " ".join(s.text for s in _segments(witness))
    assert "Gulnara" in texts or "Гульнара" in texts


def _found(user, query: str) -> list[str]:
    return [hit.text for hit in search.search(db.session, user, query).hits]


def test_a_name_typed_in_an_edit_is_never_found_by_a_researcher(witness, people):
    researcher, archivist = people["researcher"], people["archivist"]
    first, second, third = _segments(witness)[:3]
    transcript_edits.edit_segment(archivist, first, {"text": "We met Gulnara's sister at dawn."})
    unit_of_work.commit()
    transcript_edits.edit_segment(archivist, second, {"text": "Then Gul"})
    unit_of_work.commit()
    transcript_edits.edit_segment(archivist, second, {"text": "Then Gulnara Bekova spoke."})
    unit_of_work.commit()
    transcript_edits.edit_segment(archivist, third, {"text": "Aigerim came with Гульнарой."})
    unit_of_work.commit()
    for query in ("Gulnara", "gulnar*", "Bekova", "Гульнарой", "Aigerim", "Nurlanova", "Gul"):
        assert _found(researcher, query) == [], query
    # The edited words around the names are found, with the names hidden.
    # (the 's goes with the name it ends)
    assert _found(researcher, "sister") == ["We met Svetlana sister at dawn."]
    assert _found(researcher, "spoke") == ["Then Svetlana spoke."]
    assert _found(researcher, "came") == ["[name withheld] came with Svetlana."]
    # The edited segment's old words are gone, and its translation (stale now) with
    # them; the segments nobody edited are found as they were.
    assert _found(researcher, "gathered") == []
    assert _found(researcher, "shooting") == ["Then the shooting started near the akimat."]


def test_a_split_and_a_merge_leave_one_row_per_segment(witness, people):
    archivist, researcher = people["archivist"], people["researcher"]
    segment = _segments(witness)[2]
    tail = segment_splits.split_segment(archivist, segment, segment.text.index(" what"))
    unit_of_work.commit()
    assert _found(researcher, "happen") == ["what would happen next."]
    assert _found(researcher, "nobody") == ["Nobody knew"]
    segment_splits.merge_with_next(archivist, segment)
    unit_of_work.commit()
    assert _found(researcher, "happen") == ["Nobody knew what would happen next."]
    assert all(segment_id != tail.id for segment_id, _track in _index_rows(witness.id))


def test_an_interview_never_indexed_is_indexed_whole_on_its_first_edit(witness, people):
    search.remove_interview(db.session, witness.id)
    db.session.commit()
    segment = _segments(witness)[4]
    transcript_edits.edit_segment(people["archivist"], segment, {"text": "The shooting began."})
    unit_of_work.commit()
    assert _found(people["researcher"], "courtyards") == ["I ran home through the courtyards."]
    assert _found(people["researcher"], "began") == ["The shooting began."]


def _translated_track(interview, status: str) -> None:
    """The interview's recording in Russian, every segment translated as it is now."""
    recording = interview.recordings[0]
    recording.language, recording.translation_status = "ru", status
    for segment in _segments(interview):
        made = db.session.scalar(
            select(SegmentTranslation).where(SegmentTranslation.segment_id == segment.id)
        )
        if made is None:
            db.session.add(
                SegmentTranslation(segment_id=segment.id, text="words", source_version=1)
            )
            made = db.session.scalar(
                select(SegmentTranslation).where(SegmentTranslation.segment_id == segment.id)
            )
        made.source_version = segment.version
    db.session.commit()


def test_an_edit_queues_the_translation_of_its_recording_again(witness, people):
    _translated_track(witness, "done")
    segment = _segments(witness)[3]
    transcript_edits.edit_segment(people["archivist"], segment, {"text": "Bread for all."})
    unit_of_work.commit()
    assert witness.recordings[0].translation_status == "queued"


def test_a_redaction_retries_a_failed_translation_only_if_a_segment_is_stale(witness, people):
    """The same answer as a whole refresh: the redacted segment's translation is up
    to date, so the whole recording is asked."""
    _translated_track(witness, "failed")
    first, second = _segments(witness)[:2]
    redaction_edits.add_redaction(people["archivist"], second, 0, 4, "place")
    unit_of_work.commit()
    assert witness.recordings[0].translation_status == "failed"  # nothing stale: nothing to do
    stale = db.session.scalar(
        select(SegmentTranslation).where(SegmentTranslation.segment_id == first.id)
    )
    stale.source_version = 0  # made from an older text
    db.session.commit()
    redaction_edits.add_redaction(people["archivist"], second, 5, 9, "place")
    unit_of_work.commit()
    assert witness.recordings[0].translation_status == "queued"
