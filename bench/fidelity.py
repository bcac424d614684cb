"""Fidelity of the machine transcript: nothing the narrator did not say.

Run from the repository root (needs Debian's espeak-ng and sox)::

    .venv/bin/python bench/fidelity.py                 # base on both, tiny.en on English
    .venv/bin/python bench/fidelity.py --models base --languages ru

Two interviews are spoken by espeak-ng, each a male interviewer asking three
questions and a female narrator answering (en-us / en+f2 in English, ru / ru+f2 in
Russian). The narrator names herself and a neighbour, and speaks of a place. The
real engine (``engine.transcribe``: faster-whisper with VAD, word timestamps and the
archive's hallucination guards) transcribes each under five conditions of what is
given to the model as hotwords:

- ``none``;
- ``names``: the speakers' real names, which is what the archive's job gives
  (``interviews.hotwords``: names and vocabulary, never pseudonyms);
- ``vocabulary``: the interview's vocabulary (the place);
- ``names+vocabulary``;
- ``old job``: names, vocabulary and the pseudonyms, as the job gave before
  pseudonyms were taken out;
- ``job``: what the job gives now: names and vocabulary in the languages where they
  were measured to help (``guards.HOTWORD_LANGUAGES``), nothing elsewhere.

For each it reports the word error rate against what was said (jiwer, after lower-
casing, dropping punctuation and folding the Russian yo into ye), the invented-word
rate (words of the transcript that are among the hotwords, names or pseudonyms,
beyond the number of times they were said, over the words said), how many segments
the guards decoded again and dropped, and, once per model, speaker attribution:
``diarize`` on the condition's words, with and without the number of speakers given,
scored as the share of speech time given to the right voice.

Targets (issue 15): invented names 0, loops 0, names and vocabulary never worse than
none, attribution at least 0.95. Synthetic voices are easier to tell apart than two
real people and harder to transcribe: read the WERs as a comparison of settings.
"""

from __future__ import annotations

import argparse
import collections
import itertools
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from archive.recordings.audio import decode  # noqa: E402
from archive.transcription import diarization  # noqa: E402
from archive.transcription.engine import (  # noqa: E402
    Segment,
    TranscriptionInfo,
    load_model,
    normalise_text,
    transcribe,
)
from archive.transcription.guards import HOTWORD_LANGUAGES  # noqa: E402

SR = 16_000
SHOW = "--show" in sys.argv  # print what each condition wrote


@dataclass(frozen=True)
class Interview:
    language: str
    interviewer_voice: str
    narrator_voice: str
    turns: tuple[str, ...]  # interviewer, narrator, interviewer, ...
    names: tuple[str, ...]
    pseudonyms: tuple[str, ...]
    vocabulary: tuple[str, ...]


ENGLISH = Interview(
    "en",
    "en-us",
    "en+f2",
    (
        "Thank you for agreeing to talk with us today. Could you tell me where you were "
        "in January?",
        "My name is Gulnara Bekova. In January I was living in Almaty, near the square, "
        "with my mother and my two sons.",
        "What did you see on the morning of the fifth?",
        "In the morning the internet was cut. We stayed at home. In the afternoon we heard "
        "shooting from the direction of the square, and my neighbour Timur Akhmetov came "
        "to warn us.",
        "Did anyone come to your flat later?",
        "Two days later soldiers came with a list. They asked for Bekova. My mother told "
        "them I was at work. Timur was taken that night and we did not hear from him for "
        "a week.",
    ),
    ("Gulnara Bekova", "Timur Akhmetov"),
    ("Svetlana", "Aigul"),
    ("Almaty",),
)

RUSSIAN = Interview(
    "ru",
    "ru",
    "ru+f2",
    (
        "Спасибо, что согласились поговорить с нами. Где вы были в январе?",
        "Меня зовут Гульнара Бекова. В январе я жила в Алматы, недалеко от площади, "
        "с мамой и двумя сыновьями.",
        "Что вы видели утром пятого января?",
        "Утром отключили интернет. Мы сидели дома. Днём мы слышали выстрелы со стороны "
        "площади, и мой сосед Тимур Ахметов пришёл нас предупредить.",
        "Кто-нибудь приходил к вам потом?",
        "Через два дня пришли солдаты со списком. Они спрашивали Бекову. Мама сказала, что "
        "я на работе. Тимура забрали той ночью, и неделю мы ничего о нём не знали.",
    ),
    ("Гульнара Бекова", "Тимур Ахметов"),
    ("Светлана", "Айгуль"),
    ("Алматы",),
)


def speak(interview: Interview, folder: Path) -> tuple[np.ndarray, list[float]]:
    """The interview as 16 kHz mono, and the seconds each turn lasts."""
    parts, lengths = [], []
    for index, text in enumerate(interview.turns):
        voice = interview.interviewer_voice if index % 2 == 0 else interview.narrator_voice
        speed = "150" if index % 2 == 0 else "140"
        raw, turn = folder / f"raw{index}.wav", folder / f"turn{index}.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-s", speed, "-w", raw, text], check=True)
        subprocess.run(["sox", raw, "-r", "16000", "-c", "1", turn, "pad", "0", "0.6"], check=True)
        samples = decode(turn)
        parts.append(samples)
        lengths.append(len(samples) / SR)
    return np.concatenate(parts).astype(np.float32), lengths


def fold(text: str) -> str:
    return normalise_text(text).replace("ё", "е")


def conditions(interview: Interview) -> dict[str, list[str]]:
    names, vocabulary = list(interview.names), list(interview.vocabulary)
    return {
        "none": [],
        "names": names,
        "vocabulary": vocabulary,
        "names+vocabulary": vocabulary + names,
        "old job": vocabulary + names + list(interview.pseudonyms),
        # What the job gives now: names and vocabulary where they help (guards.HOTWORD_LANGUAGES).
        "job": vocabulary + names if interview.language in HOTWORD_LANGUAGES else [],
    }


#: Letters that identify a word across Russian and Kazakh endings ("Тимура" is "Тимур").
STEM = 5


def invented_rate(interview: Interview, hypothesis: str, reference: str) -> float:
    """Primed words (names, pseudonyms, vocabulary) written more often than said, over
    the words said; a word counts as said in any of its inflected forms."""
    names = interview.names + interview.pseudonyms + interview.vocabulary
    primed = {word[:STEM] for word in fold(" ".join(names)).split()}
    said = collections.Counter(w[:STEM] for w in reference.split() if w[:STEM] in primed)
    written = collections.Counter(w[:STEM] for w in hypothesis.split() if w[:STEM] in primed)
    extra = sum(max(0, count - said[stem]) for stem, count in written.items())
    return extra / max(1, len(reference.split()))


#: Seconds of silence sox pads after each turn (``speak``): nobody speaks there.
PAD = 0.6


def turn_of(moment: float, lengths: list[float]) -> int:
    """The turn whose speech (its span less the silent pad) is nearest ``moment``: a
    word Whisper stamps a little early, in the pause before its turn, is that turn's."""
    bounds = np.cumsum([0.0, *lengths])
    distances = [
        max(start - moment, 0.0, moment - (end - PAD)) for start, end in itertools.pairwise(bounds)
    ]
    return int(np.argmin(distances))


def attribution(
    segments: list[Segment], audio: np.ndarray, lengths: list[float], expected
) -> float:
    words = [w for s in segments for w in s.words]
    if not words:
        return 0.0
    result = diarization.diarize(audio, [(w.start, w.end) for w in words], expected)
    truth = np.array([turn_of((w.start + w.end) / 2, lengths) % 2 for w in words])
    seconds = np.array([w.end - w.start for w in words])
    labels = np.array(result.labels)
    same = labels == truth
    return float(max(seconds[same].sum(), seconds[~same].sum()) / seconds.sum())


def run(model_name: str, interview: Interview, audio, lengths, model) -> list[dict]:
    import jiwer

    reference = fold(" ".join(interview.turns))
    rows = []
    for condition, hotwords in conditions(interview).items():
        segments: list[Segment] = []
        started = time.perf_counter()
        info: TranscriptionInfo = transcribe(
            model, audio, interview.language, hotwords, segments.append
        )
        seconds = time.perf_counter() - started
        hypothesis = fold(" ".join(s.text for s in segments))
        row = {
            "model": model_name,
            "language": interview.language,
            "condition": condition,
            "wer": jiwer.wer(reference, hypothesis),
            "invented": invented_rate(interview, hypothesis, reference),
            "redecoded": info.segments_redecoded,
            "dropped": dict(info.dropped_reasons),
            "seconds": seconds,
        }
        if condition == "job":
            row["attribution_2"] = attribution(segments, audio, lengths, 2)
            row["attribution_unknown"] = attribution(segments, audio, lengths, None)
        rows.append(row)
        print(format_row(row), flush=True)
        if SHOW:
            print(f"    {hypothesis[:300]}", flush=True)
    return rows


def format_row(row: dict) -> str:
    text = (
        f"{row['model']:8s} {row['language']}  {row['condition']:17s} WER {row['wer']:.3f}  "
        f"invented {row['invented']:.3f}  redecoded {row['redecoded']}  "
        f"dropped {row['dropped'] or 0}  ({row['seconds']:.1f} s)"
    )
    if "attribution_2" in row:
        text += (
            f"  attribution: 2 given {row['attribution_2']:.3f}, "
            f"unknown {row['attribution_unknown']:.3f}"
        )
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", nargs="+", default=["base", "tiny.en"])
    parser.add_argument("--languages", nargs="+", default=["en", "ru"])
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--show", action="store_true", help="print what each condition wrote")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}")
    interviews = {"en": ENGLISH, "ru": RUSSIAN}
    with tempfile.TemporaryDirectory() as scratch:
        spoken = {}
        for language in args.languages:
            folder = Path(scratch) / language
            folder.mkdir()
            spoken[language] = speak(interviews[language], folder)
        rows = []
        for model_name in args.models:
            model = load_model(model_name, ROOT / "cache", device="cpu", threads=args.threads)
            for language in args.languages:
                if model_name.endswith(".en") and language != "en":
                    continue
                audio, lengths = spoken[language]
                rows += run(model_name, interviews[language], audio, lengths, model)
    print("\nTargets: the job invents nothing, is never worse than none, attribution >= 0.95:")
    for (model_name, language), group in _groups(rows).items():
        none = group["none"]["wer"]
        job = group["job"]
        worse = "yes" if job["wer"] > none + 1e-9 else "no"
        invented = "yes" if job["invented"] > 0 else "no"
        print(
            f"  {model_name} {language}: the job's transcript worse than none: {worse}; "
            f"invented words: {invented}; attribution {job['attribution_2']:.3f} "
            f"(number given), {job['attribution_unknown']:.3f} (unknown)"
        )


def _groups(rows: list[dict]) -> dict:
    groups: dict = collections.defaultdict(dict)
    for row in rows:
        groups[(row["model"], row["language"])][row["condition"]] = row
    return groups


if __name__ == "__main__":
    main()
