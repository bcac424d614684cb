"""The matcher's tunable thresholds, tuned on ``bench/name_false_positives.py``
(whose ablations set them in every module of the matcher that reads them).
"""

from __future__ import annotations

#: Keys shorter than this are never guessed at: "Ким", "Ali" match exactly (inflected,
#: transliterated) or not at all. Four-letter keys get one vowel change ("Kati" for
#: "Kate"): one consonant away from "Kate" lie "crate", "kale", "cafes".
FUZZY_MIN_LENGTH = 4
#: A word at least this frequent (Zipf scale: 3 = once per million words) in English or
#: Russian is an ordinary word, not a misheard name, for the guesses. At 3.5, "tumour",
#: "walkway", "catheter", "светлым", "осел" (Zipf 3.1-3.5) were still taken for Timur,
#: Volkov, Kate, Светлана and Asel; at 3.0 none are, and wordfreq's small lists (every
#: word from 3.0 up) are all that must be loaded.
COMMON_ZIPF = 3.0
#: A capitalised word is ordinary only from this frequency up; below it, it gets a
#: close guess (one vowel or voicing change). Speech models capitalise the names they do
#: not know: tiny.en wrote "Timor" (Zipf 3.3) for "Timur".
CAPITALISED_COMMON_ZIPF = 4.0
#: A capitalised word beside a found part of a name is taken as another part of it
#: below this frequency ("Demetri Malcolm", "Daniel Locker"; not "Daniel Street").
COMPLETION_MAX_ZIPF = 4.5
COMMON_WORD_LANGUAGES = ("en", "ru")
#: Whether guesses that only *sound* alike count (``phonetic``); off, only near
#: spellings do. Measured worth: see the ablations of the bench.
PHONETIC = True
#: Name parts this short (or shorter) match only as typed, case included ("Ли", not
#: the Russian particle "ли").
SHORT_PART_LENGTH = 2
#: A name split in tokens must join to at least this many letters, so that two tiny
#: words ("a li") are not read as "Ali".
JOINED_MIN_LENGTH = 5
