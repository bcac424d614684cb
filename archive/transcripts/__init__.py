"""Transcripts: segments and their edits, rendering for a reader, redaction and names,
contents, citations, imports and the review queue."""
