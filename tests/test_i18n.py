"""The interface in Russian, Kazakh and English: complete catalogues, the picker,
the browser's language, translated pages and errors, dates in the reader's locale."""

from __future__ import annotations

import re
import subprocess
from datetime import date
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from flask_babel import refresh

from archive import accounts, i18n, unit_of_work
from archive.extensions import db
from archive.models import User

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "archive" / "translations"
TRANSLATED = ("ru", "kk")
KEYWORDS = {**DEFAULT_KEYWORDS, "lazy_gettext": None, "_l": None, "Nn_": (1, 2)}


def _extracted() -> dict[str, tuple[str, int]]:
    """Every marked message of the templates and the Python code, as ``pybabel
    extract`` with the project's babel.cfg finds it: msgid -> (file, line)."""
    with open(ROOT / "babel.cfg") as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    found = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=KEYWORDS
    ):
        msgid = message if isinstance(message, str) else message[0]
        if msgid:
            found.setdefault(msgid, (filename, lineno))
    return found


def _catalogue(locale: str):
    with open(TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po", "rb") as po:
        return read_po(po, locale=locale)


@pytest.fixture(scope="module", autouse=True)
def compiled_catalogues():
    """The app reads .mo files, which ``make`` builds from the .po files."""
    for locale in TRANSLATED:
        po = TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po"
        mo = po.with_suffix(".mo")
        if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
            pytest.fail(f"{mo} is missing or older than its .po: run `make translations`")


def test_extraction_finds_the_interface():
    found = _extracted()
    assert len(found) > 300
    for msgid in ("Sign in", "Access requests", "Not found.", "Narrator's pseudonym"):
        assert msgid in found


@pytest.mark.parametrize("locale", TRANSLATED)
def test_every_message_is_translated(locale):
    catalogue = _catalogue(locale)
    problems = []
    for msgid, (filename, lineno) in sorted(_extracted().items()):
        message = catalogue.get(msgid)
        where = f"{filename}:{lineno}"
        if message is None:
            problems.append(f"missing: {msgid!r} ({where})")
        elif message.fuzzy:
            problems.append(f"fuzzy: {msgid!r} ({where})")
        elif not message.string or (isinstance(message.string, tuple) and not all(message.string)):
            problems.append(f"untranslated: {msgid!r} ({where})")
    assert not problems, (
        f"{len(problems)} messages lack a {locale} translation (`make messages`, "
        "translate, `make translations`):\n" + "\n".join(problems)
    )


@pytest.mark.parametrize("locale", TRANSLATED)
def test_translations_keep_placeholders_and_plural_forms(locale):
    catalogue = _catalogue(locale)
    assert catalogue.num_plurals == {"ru": 3, "kk": 2}[locale]
    errors = [f"{message.id!r}: {', '.join(map(str, errs))}" for message, errs in catalogue.check()]
    assert not errors, "\n".join(errors)
    for message in catalogue:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        wanted = set(re.findall(r"%\(\w+\)[sdr]|<[^>]+>", ids[-1])) - {"%(num)s", "%(num)d"}
        for string in strings:
            got = set(re.findall(r"%\(\w+\)[sdr]|<[^>]+>", string)) - {"%(num)s", "%(num)d"}
            assert got == wanted, f"{locale} {message.id!r} -> {string!r}"
            # A bare % would break Jinja's formatting of every translated string.
            assert "%" not in re.sub(r"%\(\w+\)[sdr]", "", string), string


def test_a_changed_catalogue_is_compiled_by_make_test():
    po = "archive/translations/ru/LC_MESSAGES/messages.po"
    plan = subprocess.run(
        ["make", "-n", "-W", po, "test"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    assert "pybabel" in plan and "compile" in plan and po in plan
    assert plan.index("compile") < plan.index("pytest")


# --- choosing the language ---------------------------------------------------------


def _lang(body: str) -> str:
    match = re.search(r'<html lang="([^"]+)"', body)
    assert match
    return match.group(1)


def test_english_by_default(client):
    body = client.get("/login").get_data(as_text=True)
    assert _lang(body) == "en"
    assert "<h1>Sign in</h1>" in body


@pytest.mark.parametrize(
    ("header", "lang", "heading"),
    [
        ("ru-RU,ru;q=0.9,en;q=0.5", "ru", "<h1>Войти</h1>"),
        ("kk-KZ,kk;q=0.9,ru;q=0.8", "kk", "<h1>Кіру</h1>"),
        ("de-DE,de;q=0.9", "en", "<h1>Sign in</h1>"),
    ],
)
def test_the_browser_language_is_the_default(client, header, lang, heading):
    body = client.get("/login", headers={"Accept-Language": header}).get_data(as_text=True)
    assert _lang(body) == lang
    assert heading in body


@pytest.mark.parametrize(
    ("lang", "texts"),
    [
        ("ru", ["Электронная почта", "Пароль", "Зарегистрироваться как исследователь"]),
        ("kk", ["Электрондық пошта", "Құпиясөз", "Зерттеуші ретінде тіркелу"]),
    ],
)
def test_login_page_in_russian_and_kazakh(client, lang, texts):
    client.set_cookie(i18n.LANGUAGE_COOKIE, lang)
    body = client.get("/login").get_data(as_text=True)
    assert _lang(body) == lang
    for text in texts:
        assert text in body
    for english in (">Sign in<", ">Interviews<", ">Search<", "Register as a researcher"):
        assert english not in body


def test_picker_keeps_a_visitors_choice_in_a_cookie(client):
    response = client.post_form(
        "/language",
        {"language": "kk", "next": "/search"},
        headers={"Referer": "http://localhost/search?q=x"},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/search?q=x"
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("archive_lang=kk;")
    assert "Max-Age=31536000" in cookie and "SameSite=Lax" in cookie
    body = client.get("/search").get_data(as_text=True)
    assert _lang(body) == "kk"
    assert "Айғақтардан іздеу" in body
    # The cookie outweighs the browser's language.
    body = client.get("/search", headers={"Accept-Language": "ru"}).get_data(as_text=True)
    assert _lang(body) == "kk"


def test_picker_keeps_a_signed_in_persons_choice_in_the_account(client, make_user, app):
    user = make_user("archivist")
    client.login_as(user)
    response = client.post_form("/language", {"language": "ru", "next": "/interviews/"})
    assert response.headers["Location"] == "/interviews/"
    db.session.expire_all()
    assert db.session.get(User, user.id).locale == "ru"
    # Another browser, without the cookie and asking for English: the account decides.
    other = app.test_client()
    other.login_as(db.session.get(User, user.id))
    body = other.get("/interviews/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert _lang(body) == "ru"
    assert "<h1>Интервью</h1>" in body


@pytest.mark.parametrize(
    "target", ["https://evil.example/x", "//evil.example/x", "javascript:alert(1)", ""]
)
def test_picker_returns_only_to_a_local_page(client, target):
    response = client.post_form(
        "/language", {"language": "ru", "next": target}, headers={"Referer": target}
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    # A Referer from another site never brings its query along.
    response = client.post_form(
        "/language",
        {"language": "ru", "next": "/search"},
        headers={"Referer": "https://evil.example/search?q=x"},
    )
    assert response.headers["Location"] == "/search"


def test_picker_refuses_an_unknown_language_and_a_missing_token(client):
    response = client.post_form("/language", {"language": "xx", "next": "/search"})
    assert response.headers["Location"] == "/search"
    assert "archive_lang" not in str(response.headers)
    response = client.post("/language", data={"language": "ru", "next": "/search"})
    assert response.status_code == 400
    assert "archive_lang" not in str(response.headers)


def test_picker_lists_the_three_languages_in_their_own_names(client):
    client.set_cookie(i18n.LANGUAGE_COOKIE, "ru")
    body = client.get("/").get_data(as_text=True)
    picker = body[body.index('id="language-picker"') :]
    picker = picker[: picker.index("</select>")]
    assert re.findall(r">(\S+)</option>", picker) == ["Русский", "Қазақша", "English"]
    assert '<option value="ru" lang="ru" selected>' in picker


# --- translated content ---------------------------------------------------------------


def test_json_error_in_the_accounts_language(client, make_user):
    user = make_user("archivist")
    client.login_as(user)
    response = client.get("/api/v1/interviews/999999")
    assert response.status_code == 404
    assert response.get_json() == {"error": "Not found."}
    accounts.set_locale(db.session.get(User, user.id), "ru")
    unit_of_work.commit()
    response = client.get("/api/v1/interviews/999999")
    assert response.status_code == 404
    assert response.get_json() == {"error": "Не найдено."}


def test_flash_and_form_errors_in_russian(client, make_user):
    make_user("archivist", email="ana@example.org")
    client.set_cookie(i18n.LANGUAGE_COOKIE, "ru")
    response = client.post_form("/login", {"email": "ana@example.org", "password": "wrong-one!"})
    body = response.get_data(as_text=True)
    assert "Неверный адрес электронной почты или пароль." in body
    response = client.post_form("/login", {"email": "", "password": ""})
    # WTForms' own messages come from its Russian catalogue.
    assert "Обязательное поле." in response.get_data(as_text=True)


def test_dates_in_the_readers_locale(client, make_user):
    from archive import interviews

    user = make_user("interviewer")
    interview = interviews.create_interview(
        user, {"title": "Dates", "recorded_on": date(2022, 1, 5), "language": "ru"}
    )
    unit_of_work.commit()
    client.login_as(user)
    path = f"/interviews/{interview.id}"

    def page() -> str:
        # CLDR puts no-break spaces in dates ("5 янв. 2022 г.").
        return re.sub(r"[\u00a0\u202f]", " ", client.get(path).get_data(as_text=True))

    assert "Jan 5, 2022" in page()
    client.set_cookie(i18n.LANGUAGE_COOKIE, "ru")
    assert "5 янв. 2022 г." in page()
    client.set_cookie(i18n.LANGUAGE_COOKIE, "kk")
    assert "2022 ж. 05 қаң." in page()


def test_stored_codes_are_shown_translated(client, make_user):
    user = make_user("custodian")
    client.login_as(user)
    client.set_cookie(i18n.LANGUAGE_COOKIE, "ru")
    body = client.get("/").get_data(as_text=True)
    assert '<span class="role">хранитель</span>' in body
    body = client.get("/interviews/").get_data(as_text=True)
    assert ">по запросу</option>" in body and ">on request<" not in body


def test_a_service_error_is_translated_with_its_values_put_in_after(client, make_user):
    from archive.accounts import tokens

    user = make_user("interviewer")
    _row, token = tokens.issue_token(user, user)
    unit_of_work.commit()
    headers = {"Authorization": f"Bearer {token}"}
    body = {"title": "Almaty", "language": "xx"}
    response = client.post("/api/v1/interviews", json=body, headers=headers)
    assert response.status_code == 422
    assert response.get_json()["error"] == (
        "Unknown language code 'xx': use a code such as en, ru, kk or de, "
        "or leave it empty to detect the language."
    )
    response = client.post(
        "/api/v1/interviews", json=body, headers={**headers, "Accept-Language": "kk"}
    )
    assert response.get_json()["error"].startswith("Белгісіз тіл коды 'xx':")
    accounts.set_locale(db.session.get(User, user.id), "ru")
    unit_of_work.commit()
    response = client.post("/api/v1/interviews", json=body, headers=headers)
    assert response.status_code == 422
    assert response.get_json()["error"].startswith("Неизвестный код языка 'xx':")
    # A typed value is put in after translation, never looked up in the catalogue.
    response = client.post(
        "/api/v1/interviews", json={**body, "language": "Not found."}, headers=headers
    )
    assert "'Not found.'" in response.get_json()["error"]


def test_scripts_get_their_messages_and_plural_forms_translated(app):
    with app.test_request_context(headers={"Accept-Language": "ru"}):
        refresh()
        strings = i18n.js_strings()
    assert strings["lang"] == "ru"
    assert strings["messages"]["All changes saved."] == "Все изменения сохранены."
    assert set(strings["messages"]) == set(i18n.JS_MESSAGES)
    forms = strings["plurals"]["%(num)s segment to check first (Alt+R: the next one)."]
    assert forms["one"].startswith("%(num)s сегмент ")
    assert forms["few"].startswith("%(num)s сегмента ")
    assert forms["many"].startswith("%(num)s сегментов ")
    with app.test_request_context(headers={"Accept-Language": "en"}):
        refresh()  # the test's app context outlives one request; a real one does not
        # In English the scripts show their own text, unchanged.
        assert i18n.js_strings() == {"lang": "en", "messages": {}, "plurals": {}}


def test_every_script_message_is_listed_for_translation():
    """A t("...") or tr("...") call in a script whose text is not in JS_MESSAGES would
    stay English on a Russian or Kazakh page."""
    listed = set(i18n.JS_MESSAGES) | {pair[0] for pair in i18n.JS_PLURALS}
    for script in (ROOT / "archive" / "static" / "js").rglob("*.js"):
        source = script.read_text()
        called = re.findall(r'\btrn?\(\s*"((?:[^"\\]|\\.)*)"', source)
        called += re.findall(r'\bt\(\s*"((?:[^"\\]|\\.)*)"', source)
        for text in called:
            assert text in listed, f"{script.name}: {text!r} is not in i18n.JS_MESSAGES"


def test_the_typed_name_notice_in_russian(client, make_user):
    """The notice that a protected name was typed into a field, and the field's name,
    in the reader's language; the name itself is not in it."""
    from archive import interviews

    user = make_user("interviewer")
    interview = interviews.create_interview(
        user,
        {
            "title": "Testimony of Gulnara Bekova",
            "speakers": [
                {"pseudonym": "Svetlana", "role": "narrator", "real_name": "Gulnara Bekova"}
            ],
        },
    )
    unit_of_work.commit()
    speaker = interview.speakers[0]
    client.login_as(user)
    client.set_cookie(i18n.LANGUAGE_COOKIE, "ru")
    page = client.post_form(
        f"/interviews/{interview.id}/speakers/{speaker.id}",
        {"pseudonym": "Svetlana", "role": "narrator"},
        token_from=f"/interviews/{interview.id}/speakers",
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "Защищённое имя введено в поля: название." in page
    assert "A protected name" not in page
    assert ": сохранено." in page
    assert "Gulnara" not in page and "Bekova" not in page


@pytest.mark.parametrize(
    ("lang", "number", "length"),
    [
        ("en", "12,345.5", "3 minutes"),
        ("ru", "12 345,5", "3 минуты"),
        ("kk", "12 345,5", "3 минут"),
    ],
)
def test_numbers_and_lengths_in_the_readers_locale(app, lang, number, length):
    with app.test_request_context(headers={"Accept-Language": lang}):
        refresh()
        assert re.sub(r"[\u00a0\u202f]", " ", i18n.format_number(12345.5)) == number
        assert i18n.format_duration(185) == length


def test_text_outside_a_request_is_english_not_an_error(app):
    """A worker or a command has no reader: strings come out in English."""
    from flask_babel import gettext, refresh

    with app.app_context():
        refresh()
        assert gettext("Home") == "Home"
