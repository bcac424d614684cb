"""The main pages in Russian and Kazakh in a real browser: a custodian picks the
language in the header, signs in on the translated form and works through the
archive; every page says so in <html lang>, has its translated heading and keeps
no English in its navigation."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

# Each test starts from a copy of the narrated archive (tests/narrated.py).
pytestmark = pytest.mark.narrated


PAGES = {
    "ru": {
        "picker": "Русский",
        "home": "Архив свидетельств",
        "login": ("Войти", "Электронная почта", "Пароль"),
        "interviews": "Интервью",
        "interview": "Расшифровка",
        "search": "Поиск по свидетельствам",
        "editor": "Этот сегмент",
        "saved": "Все изменения сохранены.",
        "risks": "в первую очередь|Ничего не выделяется",
        "play": "Воспроизвести отсюда",
        "queue": "Запросы доступа",
        "account": "API-токены",
        "password": "Смена пароля",
    },
    "kk": {
        "picker": "Қазақша",
        "home": "Куәгерлер айғақтарының мұрағаты",
        "login": ("Кіру", "Электрондық пошта", "Құпиясөз"),
        "interviews": "Сұхбаттар",
        "interview": "Транскрипт",
        "search": "Айғақтардан іздеу",
        "editor": "Осы сегмент",
        "saved": "Барлық өзгерістер сақталды.",
        "risks": "Алдымен тексерілетін|Ерекше ештеңе жоқ",
        "play": "Осы жерден ойнату",
        "queue": "Рұқсат сұраулары",
        "account": "API токендері",
        "password": "Құпиясөзді өзгерту",
    },
}
ENGLISH_NAV = (
    "Interviews",
    "Search",
    "Access requests",
    "Audit log",
    "API tokens",
    "Password",
    "Sign out",
    "Sign in",
    "Register as a researcher",
    "Testimony Archive",
    "Change language",
)


def _check(page, lang: str, heading: str, level: str = "h1") -> None:
    expect(page.locator("html")).to_have_attribute("lang", lang)
    expect(page.locator(level, has_text=heading).first).to_be_visible()
    header = page.locator("header.site-header").inner_text()
    footer = page.locator("footer").inner_text()
    for english in ENGLISH_NAV:
        assert english not in header, f"{english!r} left in English on {page.url}"
    assert "Narrators are shown by pseudonym" not in footer


@pytest.mark.parametrize("lang", ["ru", "kk"])
def test_a_custodian_works_through_the_archive_in_the_language(
    page, live_server, people, narrated, lang
):
    words = PAGES[lang]
    page.goto(f"{live_server}/")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.locator("#language-picker").select_option(label=words["picker"])
    page.get_by_role("button", name="Change language").click()
    _check(page, lang, words["home"])

    page.goto(f"{live_server}/login")
    title, email, password = words["login"]
    _check(page, lang, title)
    page.get_by_label(email).fill(people["custodian"].email)
    page.get_by_label(password, exact=True).fill("long enough password")
    page.locator("main").get_by_role("button", name=title).click()
    page.wait_for_url(f"{live_server}/")
    _check(page, lang, words["home"])

    interview_id = narrated["interview"].id
    page.goto(f"{live_server}/interviews/")
    _check(page, lang, words["interviews"])
    page.goto(f"{live_server}/interviews/{interview_id}")
    _check(page, lang, words["interview"], "h2")
    page.goto(f"{live_server}/search?q=soul")
    _check(page, lang, words["search"])
    page.goto(f"{live_server}/interviews/{interview_id}/edit")
    _check(page, lang, words["editor"], "h2")
    expect(page.locator("#save-status")).to_have_text(words["saved"])
    # What the editor's script writes comes from the page's translated messages.
    expect(page.locator("#risk-count")).to_have_text(re.compile(words["risks"]))
    expect(page.locator(".seg-time").first).to_have_attribute("title", words["play"])
    page.goto(f"{live_server}/access/queue")
    _check(page, lang, words["queue"])
    page.goto(f"{live_server}/account/tokens")
    _check(page, lang, words["account"])
    page.goto(f"{live_server}/account/password")
    _check(page, lang, words["password"])
