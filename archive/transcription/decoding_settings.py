"""The settings of every decoding and the limits of the hallucination guards, each
with the measurement or reason behind it (``engine``'s docstring says why each kind
is there).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # faster_whisper is imported lazily: it pulls onnxruntime and ctranslate2
    pass


SAMPLE_RATE = 16_000

#: Hallucination guards. The first three are faster-whisper's (and Whisper's) own
#: defaults, set explicitly so an upgrade cannot change them silently.
NO_SPEECH_THRESHOLD = 0.6
LOG_PROB_THRESHOLD = -1.0
COMPRESSION_RATIO_THRESHOLD = 2.4
#: Seconds of silence around a suspected hallucination before it is skipped.
HALLUCINATION_SILENCE_THRESHOLD = 2.0
VAD_MIN_SILENCE_MS = 500

#: Long recordings are transcribed in pieces of at most this many seconds, because
#: faster-whisper computes VAD and log-mel features for the whole array at once: peak
#: memory grows ~1.1 MiB per second of audio (a 2 h interview would need ~8 GB).
#: Measured with tiny.en on 10 min of speech: one piece peaked at 876 MiB RSS,
#: 300 s pieces at 669 MiB, whatever the total length.
CHUNK_SECONDS = 300.0
#: 30 s chunks decoded at once by the batched pipeline (``ARCHIVE_WHISPER_BATCH``);
#: 1 is the sequential decoder. Measured by bench/pipeline_speed.py (README, Numbers).
DEFAULT_BATCH = 8
#: Each cut is placed at the quietest 100 ms in the last this-many seconds before the
#: nominal boundary, so that it falls in a pause rather than inside a word.
CUT_SEARCH_SECONDS = 30.0
_CUT_FRAME = SAMPLE_RATE // 10

#: A duplicate of the previous segment is dropped only from this many words up:
#: "Yes." answered by "Yes." is ordinary conversation, a repeated sentence is a loop.
MIN_WORDS_FOR_DUPLICATE = 3
#: Longest phrase (in words) considered for a loop, and how often it must repeat.
#: base on a Russian recording detected as Latin looped on a 7-word phrase ("the full
#: moon of the world, and ..." thirty times): 12 leaves room above that.
MAX_LOOP_PHRASE_WORDS = 12
MIN_LOOP_REPEATS = 3
#: A single word must repeat more often to count ("no, no, no" is real speech).
MIN_LOOP_REPEATS_ONE_WORD = 5
#: A segment whose words are at least this share of the hotwords (names and
#: vocabulary), from MIN_WORDS_FOR_HOTWORD_CHECK words up, is suspect: measured with
#: base on a Russian recording, names and pseudonyms as hotwords gave nothing but the
#: names ("Светлана Сейтказиева Светлана Айгуль ..."), WER 0.86 against 0.59 without.
HOTWORD_SHARE = 0.6
MIN_WORDS_FOR_HOTWORD_CHECK = 3
#: Faster than anyone speaks: letters per second of segment time (conversational
#: Russian and English run at 10-15; JFK's address at 10). A segment stamped far
#: shorter than its text is a decoding that ran on.
MAX_LETTERS_PER_SECOND = 25.0
#: gzip ratio of a segment's text from which it is a loop (Whisper's own measure and
#: threshold, applied here to each kept segment rather than to the 30 s window).
SEGMENT_COMPRESSION_RATIO = COMPRESSION_RATIO_THRESHOLD
MIN_CHARS_FOR_COMPRESSION_CHECK = 60
#: The re-decoding of a suspect segment: no hotwords, no prompt, temperature fallback.
REDECODE_TEMPERATURES = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
REDECODE_MARGIN_SECONDS = 0.2
