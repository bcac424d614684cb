"""What the search API answers, as output models (``archive.schemas.View``).

A hit is already what its reader may see: the search built it from the redacted
index, within ``policy.visible``, so every reader gets the same view of it. The
model names the fields the API sends, and only those: a hit's ``rank`` stays
inside the archive.
"""

from __future__ import annotations

from typing import Any, Self

from archive.schemas import View
from archive.search import Hit, SearchResult


class HitView(View):
    """One matching segment: where it is, who speaks, the redacted text, and the
    snippet as safe HTML (escaped, then ``<mark>`` added)."""

    interview_id: int
    segment_id: int
    recording_id: int | None
    start: float
    speaker: str | None
    speaker_role: str | None
    text: str
    snippet: str
    #: "translation" when the words matched the segment's machine translation.
    track: str

    @classmethod
    def of(cls, hit: Hit) -> Self:
        return cls(
            interview_id=hit.interview_id,
            segment_id=hit.segment_id,
            recording_id=hit.recording_id,
            start=hit.start,
            speaker=hit.speaker,
            speaker_role=hit.speaker_role,
            text=hit.text,
            snippet=str(hit.snippet_html),
            track=hit.track,
        )


class SearchResultView(View):
    """A page of hits, the number of hits on all pages, and the facet counts."""

    hits: list[HitView]
    total: int
    page: int
    facets: dict[str, dict[Any, int]]

    @classmethod
    def of(cls, result: SearchResult) -> Self:
        return cls(
            hits=[HitView.of(hit) for hit in result.hits],
            total=result.total,
            page=result.page,
            facets=result.facets,
        )
