"""Finding protected names in transcript text (archive/transcripts/names/).

Real names and real speech-model output: the misspellings marked "tiny.en" are what
the bundled tiny.en model wrote for synthetic voices reading these names (see
bench/name_false_positives.py, HEARD_BY_TINY_EN, and tests/fixtures/README.md).
"""

# Cyrillic letters that look like Latin ones are the subject here, not typos.

from __future__ import annotations

import itertools
import time

import pytest

from archive.transcripts.names.matching import (
    HOW,
    Mention,
    NameMatcher,
    ProtectedName,
    spelling_key,
)

GULNARA = ProtectedName(1, ("Гульнара Бекова", "Gulnara Bekova"))
SVETLANA = ProtectedName(2, ("Светлана Игоревна Ким",))
AIGERIM = ProtectedName(3, ("Айгерим Нурлановна Сагынбаева",))
YERLAN = ProtectedName(4, ("Ерлан Жаксылыков", "Yerlan"))
TIMUR = ProtectedName(5, ("Тимур Ахметов",))
DMITRY = ProtectedName(7, ("Дмитрий Волков",))
DANIEL = ProtectedName(10, ("Daniel Okafor",))
PEOPLE = (GULNARA, SVETLANA, AIGERIM, YERLAN, TIMUR, DMITRY, DANIEL)


@pytest.fixture(scope="module")
def matcher() -> NameMatcher:
    return NameMatcher(PEOPLE)


def found(matcher: NameMatcher, text: str) -> list[tuple[str, int, str]]:
    """(text of the mention, person, how) for every mention."""
    return [(text[m.start : m.end], m.key, m.how) for m in matcher.find(text)]


def spans(matcher: NameMatcher, text: str) -> list[tuple[str, int]]:
    return [(words, key) for words, key, _how in found(matcher, text)]


# -- exact ------------------------------------------------------------------------------


def test_full_name_is_one_span(matcher):
    assert found(matcher, "Это Гульнара Бекова, моя соседка.") == [("Гульнара Бекова", 1, "exact")]


def test_each_part_of_a_name_is_found_alone(matcher):
    text = "Светлана пришла. Игоревна молчала. Ким ушёл."
    assert spans(matcher, text) == [("Светлана", 2), ("Игоревна", 2), ("Ким", 2)]


def test_case_does_not_matter(matcher):
    assert found(matcher, "GULNARA BEKOVA and gulnara") == [
        ("GULNARA BEKOVA", 1, "exact"),
        ("gulnara", 1, "exact"),
    ]


def test_three_part_name_is_one_span(matcher):
    text = "Айгерим Нурлановна Сагынбаева дала показания."
    assert spans(matcher, text) == [("Айгерим Нурлановна Сагынбаева", 3)]


def test_offsets_point_into_the_text(matcher):
    text = "— А Тимур?\n— Тимур Ахметов был там."
    mentions = matcher.find(text)
    assert mentions == [Mention(4, 9, 5, "exact"), Mention(13, 26, 5, "exact")]


def test_mentions_are_sorted_and_never_overlap(matcher):
    text = "Ерлан, Тимур и Gulnara; потом Ерлан и Гульнару встретил Тимур Ахметов."
    mentions = matcher.find(text)
    assert mentions == sorted(mentions, key=lambda m: m.start)
    assert all(a.end <= b.start for a, b in itertools.pairwise(mentions))
    assert {m.how for m in mentions} <= set(HOW)


# -- inflected --------------------------------------------------------------------------


@pytest.mark.parametrize("form", ["Гульнары", "Гульнаре", "Гульнарой", "Гульнару", "Гульнарою"])
def test_russian_declension_of_a_first_name(matcher, form):
    assert found(matcher, f"Я говорил с {form} вчера.") == [(form, 1, "inflected")]


@pytest.mark.parametrize("form", ["Бековой", "Бекову", "Беков", "Бековым", "Бековых"])
def test_russian_declension_of_a_surname(matcher, form):
    assert spans(matcher, f"Все знали {form} на нашей улице.") == [(form, 1)]


@pytest.mark.parametrize("form", ["Тимура", "Тимуру", "Тимуром", "Тимуре", "Ахметова"])
def test_russian_declension_of_a_mans_name(matcher, form):
    assert found(matcher, f"Мы ждали {form} до утра.") == [(form, 5, "inflected")]


def test_declined_patronymic_and_its_kazakh_form(matcher):
    assert spans(matcher, "у Нурлановны") == [("Нурлановны", 3)]
    assert spans(matcher, "Нұрланқызы келді") == [("Нұрланқызы", 3)]


@pytest.mark.parametrize(
    "form",
    [
        "Гульнараның",  # genitive
        "Гульнараға",  # dative
        "Гульнараны",  # accusative
        "Гульнарада",  # locative
        "Гульнарадан",  # ablative
        "Гульнарамен",  # instrumental
        "Айгеримге",
        "Айгерімнің",  # Kazakh spelling of the name itself
        "Ерланмен",
        "Тимурдың",
        "Бековтардың",  # plural and genitive stacked
    ],
)
def test_kazakh_case_suffixes(matcher, form):
    hits = matcher.find(f"Біз {form} туралы сөйлестік.")
    assert [(m.start, m.end) for m in hits] == [(4, 4 + len(form))]


@pytest.mark.parametrize("form", ["Gulnara'nyń", "Gulnara’nyń", "Aigerim-ge", "Yerlan-men"])
def test_kazakh_suffixes_after_apostrophe_or_hyphen_in_latin(matcher, form):
    assert [words for words, _key in spans(matcher, f"Biz {form} úıinde boldyq.")] == [form]


def test_english_possessive(matcher):
    assert spans(matcher, "It was Timur's flat.") == [("Timur's", 5)]


# -- transliterated ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "person"),
    [
        ("Gulnara", 1),
        ("Gul'nara", 1),
        ("Gülnara", 1),
        ("Гүлнара", 1),
        ("Svetlana", 2),
        ("Swetlana", 2),
        ("Aigerim", 3),
        ("Aıgerim", 3),
        ("Erlan", 4),
        ("Ерлан", 4),
        ("Timur", 5),
        ("Dmitry", 7),
        ("Dmitrii", 7),
        ("Дэниел", 10),
    ],
)
def test_other_scripts_and_romanisations(matcher, written, person):
    assert spans(matcher, f"Then {written} spoke.") == [(written, person)]


def test_transliterated_surname_with_a_russian_ending(matcher):
    assert found(matcher, "Svetlana Kim i Bekovoy") == [
        ("Svetlana Kim", 2, "transliterated"),
        ("Bekovoy", 1, "inflected"),
    ]


def test_spelling_key_unites_spellings():
    keys = {spelling_key(w) for w in ["Гульнара", "Gul'nara", "Gülnara", "Goulnara", "Gulnara"]}
    assert keys == {"gulnara"}
    assert spelling_key("Светлана") == spelling_key("Swetlana") == "svetlana"
    assert spelling_key("Ерлан") == spelling_key("Yerlan")
    assert spelling_key("Айгерим") == spelling_key("Aygerim") == spelling_key("Әйгерім")


# -- joined -----------------------------------------------------------------------------


def test_name_split_in_two_tokens(matcher):
    assert found(matcher, "and Gul Nara said no") == [("Gul Nara", 1, "joined")]


def test_two_names_run_together(matcher):
    assert found(matcher, "signed GulnaraBekova") == [("GulnaraBekova", 1, "joined")]


# -- guesses: what a speech model makes of a name it does not know ----------------------


@pytest.mark.parametrize(
    ("heard", "person"),
    [
        ("Golnara", 1),
        ("Goulnara", 1),
        ("Bekhova", 1),
        ("Bikava", 1),
        ("Aygerim", 3),
        ("Temur", 5),
    ],
)
def test_misspelt_single_word(matcher, heard, person):
    assert spans(matcher, f"I met {heard} there.") == [(heard, person)]


def test_misspelt_name_split_in_two(matcher):
    assert found(matcher, "Then I Gareem told me.") == [("I Gareem", 3, "phonetic")]


@pytest.mark.parametrize(
    ("transcript", "expected"),
    [
        # tiny.en on tests/fixtures/named_narrator.flac
        ("My name is Galara Bicova.", [("Galara Bicova", 1)]),
        # tiny.en on espeak-ng voices reading the names (bench: HEARD_BY_TINY_EN)
        ("My name is Dolara Bicova, Dolara one", [("Dolara Bicova", 1)]),
        ("Smatlana told me that Smatlana came", [("Smatlana", 2), ("Smatlana", 2)]),
        ("Timor never came back.", [("Timor", 5)]),
        ("I spoke with Timorak Mitton yesterday.", [("Timorak Mitton", 5)]),
        ("I spoke with Demetri Malkon yesterday.", [("Demetri Malkon", 7)]),
        ("Daniel Lokafarot, the report.", [("Daniel Lokafarot", 10)]),
        ("I spoke with Yurland Yaksilik on yesterday.", [("Yurland Yaksilik", 4)]),
        ("age-or-in told me everything.", [("age-or-in", 3)]),
    ],
)
def test_what_tiny_en_wrote(matcher, transcript, expected):
    assert spans(matcher, transcript) == expected


def test_garbled_neighbour_is_taken_in_only_where_the_name_goes_on(matcher):
    # "Timur Ahmetov" goes on after "Timur": "Mitton" is the rest; "Okafor" is Daniel's
    # last part, so the capitalised word after it is not his.
    assert spans(matcher, "Timur Mitton came") == [("Timur Mitton", 5)]
    assert spans(matcher, "Daniel Okafor Hotel") == [("Daniel Okafor", 10)]


# -- never ordinary words ---------------------------------------------------------------


ENGLISH = (
    "The general manager of the bakery in the Gulf said that nature is kind. "
    "My daughter enjoyed the gulf breeze, the gala dinner and a tumour-free scan; "
    "we went to the beach, rode a camel, and the timer beeped. Seventeen servants "
    "served seven bekers of dimmer light. Golden nuts; gallons; Bechamel."
)
RUSSIAN = (
    "Светлая комната была светла, и в ней было светло: свет падал из окна. "
    "Тимуровцы помогали старикам, а тимуровец Ваня носил воду. "
    "Гуляли по бульвару, говорили о генерале, о природе и о пекарне. "
    "Бек был строгим, а ерлык хранился в сундуке. Дмитриевский собор стоял рядом."
)


def test_ordinary_english_is_left_alone(matcher):
    assert matcher.find(ENGLISH) == []


def test_ordinary_russian_is_left_alone(matcher):
    # "светлая", "светло", "свет" are light, not Светлана; "тимуровцы" (Gaidar's young
    # pioneers) and "Дмитриевский" (a cathedral) are derived from names but name nobody.
    assert matcher.find(RUSSIAN) == []


def test_father_named_in_a_patronymic_is_not_the_narrator(matcher):
    # Svetlana's patronymic is Игоревна: her father Игорь is someone else; and
    # "Тимуровна" is Timur's daughter, not Timur.
    assert matcher.find("Игорь пришёл, Игоря ждали. Алия Тимуровна ушла.") == []


def test_a_name_that_is_also_a_word_always_counts():
    vera = NameMatcher([ProtectedName(9, ("Вера Павлова",))])
    # hiding "вера" (faith) too is the price of never showing the name
    assert found(vera, "Вера сказала: вера сильнее страха.") == [
        ("Вера", 9, "exact"),
        ("вера", 9, "exact"),
    ]


def test_very_short_parts_match_only_as_typed():
    li = NameMatcher([ProtectedName(6, ("Ли Мин",))])
    assert spans(li, "Ли Мин сказал: так ли это?") == [("Ли Мин", 6)]


# -- assembling ------------------------------------------------------------------------


def test_sisters_sharing_a_surname_are_told_apart_by_the_first_name():
    sisters = NameMatcher(
        [ProtectedName(1, ("Гульнара Бекова",)), ProtectedName(2, ("Айжан Бекова",))]
    )
    assert spans(sisters, "Айжан Бекова и Гульнара Бекова") == [
        ("Айжан Бекова", 2),
        ("Гульнара Бекова", 1),
    ]


def test_an_initial_goes_with_the_surname(matcher):
    assert spans(matcher, "Подписала Г. Бекова.") == [("Г. Бекова", 1)]


def test_hyphenated_honorific_keeps_its_honorific(matcher):
    assert spans(matcher, "Гульнара-апай келді") == [("Гульнара", 1)]


def test_a_line_break_is_never_swallowed(matcher):
    assert spans(matcher, "Гульнара\nБекова") == [("Гульнара", 1), ("Бекова", 1)]


def test_a_span_merged_from_several_parts_reports_the_least_certain(matcher):
    assert found(matcher, "Gulnara Bekhova") == [("Gulnara Bekhova", 1, "fuzzy")]


def test_nothing_to_protect_finds_nothing():
    assert NameMatcher([]).find("Гульнара Бекова") == []


def test_repr_never_shows_a_name(matcher):
    assert "Гульнара" not in repr(GULNARA) + repr(matcher)
    assert "Gulnara" not in repr(GULNARA) + repr(matcher)


# -- speed ------------------------------------------------------------------------------


def test_three_hours_of_speech_take_well_under_a_second():
    from wordfreq import top_n_list

    words = top_n_list("en", 3000) + top_n_list("ru", 3000)
    text = [words[(i * 7919) % len(words)] for i in range(30_000)]  # ~30k words, mixed
    segments = [" ".join(text[i : i + 12]) for i in range(0, len(text), 12)]
    matcher = NameMatcher(PEOPLE)
    matcher.find("warm up")  # wordfreq's lists load once per process
    started = time.process_time()
    for segment in segments:
        matcher.find(segment)
    # ~0.2 s on the project's machine; the bound leaves room for a busy CI
    assert time.process_time() - started < 1.5
