"""Words on pages: zh-CN first and English second, from gettext catalogues; every enum member has a
label in both; the user's own language beats the browser's; times are shown in the district's zone,
named."""

from __future__ import annotations

import importlib
import pkgutil
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from fastapi.testclient import TestClient

import pingan
from pingan.antifraud.orders.choices import AlertKind as OrderAlert
from pingan.antifraud.orders.choices import OrderKind, OrderState
from pingan.antifraud.warnings.choices import AlertKind as WarningAlert
from pingan.core import db, i18n
from pingan.core.audit import AuditEntry
from pingan.core.auth import MIN_PASSWORD_LENGTH, PASSWORD_TOO_SHORT, User, issue_token
from pingan.core.i18n import catalogue_path, has_label, label, locale_scope, negotiate
from pingan.core.org import Station
from pingan.core.pages import beijing_time
from pingan.core.roles import Role
from pingan.core.settings import Settings, get_settings
from tests.conftest import make_user

# A browser that names no language: pingan answers in Chinese.
pytestmark = pytest.mark.browser_language(None)

REPO = Path(__file__).resolve().parents[2]
HTML = {"Accept": "text/html"}
ENTRY_MODULES = {"pingan.web.main", "pingan.__main__"}


def _catalogue(locale: str) -> dict[str, str]:
    with catalogue_path(locale).open("rb") as f:
        catalog = read_po(f, locale=locale)
    return {str(m.id): str(m.string or "") for m in catalog if m.id and not m.fuzzy}


def _all_str_enums() -> list[type[StrEnum]]:
    for module in pkgutil.walk_packages(pingan.__path__, "pingan."):
        # A server's entry module starts the server (and refuses demo keys) when imported.
        if module.name not in ENTRY_MODULES:
            importlib.import_module(module.name)
    found: list[type[StrEnum]] = []
    todo: list[type[StrEnum]] = list(StrEnum.__subclasses__())
    while todo:
        enum = todo.pop()
        todo.extend(enum.__subclasses__())
        if enum.__module__.startswith("pingan.") and len(enum) > 0:
            found.append(enum)
    return found


# ---- labels and catalogues ----------------------------------------------------------------------


def test_every_member_of_every_enum_in_pingan_has_a_label() -> None:
    enums = _all_str_enums()
    assert Role in enums and OrderState in enums  # the walk reached core and the domains
    unlabelled = [f"{e.__module__}.{e.__name__}" for e in enums if not has_label(e)]
    assert unlabelled == []


def test_every_msgid_of_the_zh_cn_catalogue_is_translated() -> None:
    untranslated = [msgid for msgid, text in _catalogue("zh_CN").items() if not text.strip()]
    assert untranslated == []


def test_every_string_marked_in_the_source_is_in_both_catalogues() -> None:
    with (REPO / "babel.cfg").open() as f:
        method_map, options_map = parse_mapping_cfg(f)
    marked = {
        (m[2] if isinstance(m[2], str) else m[2][0])
        for m in extract_from_dir(
            str(REPO),
            method_map,
            options_map,
            keywords={"_": None, "N_": None, "gettext": None, "ngettext": (1, 2)},
        )
    }
    for locale in ("zh_CN", "en"):
        missing = sorted(marked - set(_catalogue(locale)))
        assert missing == [], f"run `make messages` and translate: {locale} lacks {missing[:5]}"


def test_every_enum_label_is_a_msgid_of_the_catalogue() -> None:
    zh = _catalogue("zh_CN")
    absent = [text for texts in i18n._BY_ENUM.values() for text in texts.values() if text not in zh]
    assert absent == []


def test_a_label_is_shown_in_the_language_of_the_request() -> None:
    with locale_scope("zh_CN"):
        assert (label(OrderKind.STOP_PAYMENT), label("executed", "OrderState")) == ("止付", "已执行")
    with locale_scope("en"):
        assert (label(OrderKind.STOP_PAYMENT), label("executed", "OrderState")) == (
            "stop-payment",
            "executed",
        )


def test_two_enums_of_one_name_keep_their_own_labels() -> None:
    with locale_scope("zh_CN"):
        assert label(OrderAlert.BANK_DOWN) == "银行接口不可用"
        assert label(WarningAlert.GATEWAY_DOWN) == "网关不可用"


def test_an_enum_with_a_member_left_out_is_refused_at_import() -> None:
    class Colour(StrEnum):
        RED = "red"
        BLUE = "blue"

    with pytest.raises(ValueError, match="Colour: no label for blue"):
        i18n.register_labels(Colour, {Colour.RED: "red"})


def test_the_short_password_message_names_the_minimum_length() -> None:
    assert f" {MIN_PASSWORD_LENGTH} " in PASSWORD_TOO_SHORT


# ---- which language ------------------------------------------------------------------------------


def test_the_users_own_setting_beats_the_browsers_language() -> None:
    assert negotiate("zh-CN,zh;q=0.9", user_locale="en") == "en"
    assert negotiate("en-GB,en;q=0.9", user_locale="zh_CN") == "zh_CN"


def test_without_a_setting_the_browsers_first_supported_language_is_spoken() -> None:
    assert negotiate("fr-FR, en;q=0.8, zh;q=0.5") == "en"
    assert negotiate("en;q=0.3, zh-TW;q=0.9") == "zh_CN"
    assert negotiate("de, fr") == "zh_CN"
    assert negotiate(None) == "zh_CN"


def _browser(client: TestClient, user: User) -> TestClient:
    client.cookies.set("pingan_token", issue_token(user))
    return client


def test_a_page_speaks_the_users_language_whatever_the_browser_asks(
    client: TestClient, database: str
) -> None:
    auditor = make_user("auditor_sun", Role.AUDITOR)
    with db.transaction() as s:
        s.get(User, auditor.id).locale = "en"  # type: ignore[union-attr]
    page = _browser(client, auditor).get("/audit", headers=HTML | {"Accept-Language": "zh-CN,zh;q=0.9"})
    assert '<html lang="en">' in page.text
    assert "Audit log" in page.text and "Log out" in page.text and "审计日志" not in page.text


def test_a_user_without_a_setting_gets_the_browsers_language(client: TestClient, database: str) -> None:
    auditor = make_user("auditor_sun", Role.AUDITOR)
    english = _browser(client, auditor).get("/audit", headers=HTML | {"Accept-Language": "en-US,en;q=0.9"})
    assert '<html lang="en">' in english.text and "Log out" in english.text
    chinese = client.get("/audit", headers=HTML)
    assert '<html lang="zh-CN">' in chinese.text and "审计日志" in chinese.text and "退出" in chinese.text


def test_the_login_page_is_chinese_unless_the_browser_asks_for_english(
    client: TestClient, database: str
) -> None:
    assert "用户名" in client.get("/login", headers=HTML).text
    assert "Username" in client.get("/login", headers=HTML | {"Accept-Language": "en"}).text


def test_a_user_sets_their_own_language_and_the_change_is_audited(client: TestClient, database: str) -> None:
    officer = make_user("officer_wu", Role.OFFICER)
    page = _browser(client, officer).get("/me/settings", headers=HTML)
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    saved = client.post("/me/settings", data={"csrf_token": token, "locale": "en"}, headers=HTML)
    assert saved.status_code == 200 and "Settings saved." in saved.text and '<html lang="en">' in saved.text
    assert '<html lang="en">' in client.get("/me/settings", headers=HTML | {"Accept-Language": "zh"}).text
    with db.read_transaction() as s:
        entry = s.query(AuditEntry).filter_by(action="user.set_locale").one()
    assert (entry.actor, entry.detail) == ("officer_wu", '{"locale": "en"}')


def test_a_language_that_is_not_offered_gets_a_field_message(client: TestClient, database: str) -> None:
    officer = make_user("officer_wu", Role.OFFICER)
    page = _browser(client, officer).get("/me/settings", headers=HTML)
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    r = client.post("/me/settings", data={"csrf_token": token, "locale": "fr"}, headers=HTML)
    assert r.status_code == 422 and 'id="err-locale"' in r.text


def test_the_header_shows_the_users_name_station_and_role_label(
    client: TestClient, database: str, station_yulin: Station
) -> None:
    officer = make_user("officer_wu", Role.OFFICER, station_code="WH-YL")
    with db.transaction() as s:
        s.get(User, officer.id).display_name = "吴警官"  # type: ignore[union-attr]
    page = _browser(client, officer).get("/me/settings", headers=HTML).text
    assert "吴警官 · 玉林派出所 · 民警" in page
    assert "officer_wu" not in page.split("</header>")[0]


def test_the_menu_is_labelled_in_the_request_language(client: TestClient, database: str) -> None:
    officer = make_user("officer_wu", Role.OFFICER)
    zh = _browser(client, officer).get("/me/settings", headers=HTML).text
    en = client.get("/me/settings", headers=HTML | {"Accept-Language": "en"}).text
    assert '<a href="/reports">报案</a>' in zh and '<a href="/reports">Reports</a>' in en


# ---- times --------------------------------------------------------------------------------------

AT = datetime(2026, 12, 6, 2, 41, tzinfo=UTC)


@pytest.fixture
def zone(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    def use(name: str) -> None:
        monkeypatch.setenv("PINGAN_TIMEZONE", name)
        get_settings.cache_clear()

    yield use
    monkeypatch.delenv("PINGAN_TIMEZONE", raising=False)
    get_settings.cache_clear()


def test_a_time_is_shown_in_beijing_time_with_the_zone_named(zone) -> None:  # type: ignore[no-untyped-def]
    zone("Asia/Shanghai")
    with locale_scope("zh_CN"):
        assert beijing_time(AT) == "2026-12-06 10:41 北京时间"
    with locale_scope("en"):
        assert beijing_time(AT) == "2026-12-06 10:41 Beijing time"
    assert beijing_time(AT, "%H:%M", zone=False) == "10:41"


def test_another_district_zone_is_shown_with_its_utc_offset(zone) -> None:  # type: ignore[no-untyped-def]
    zone("Asia/Kolkata")
    assert beijing_time(AT) == "2026-12-06 08:11 UTC+5:30"
    zone("America/Sao_Paulo")
    assert beijing_time(AT) == "2026-12-05 23:41 UTC-3"


def test_an_unknown_zone_is_refused_naming_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PINGAN_TIMEZONE", "Mars/Olympus")
    with pytest.raises(ValueError, match="PINGAN_TIMEZONE"):
        Settings()


def test_the_api_keeps_utc_while_the_page_shows_district_time(client: TestClient, database: str) -> None:
    auditor = make_user("auditor_sun", Role.AUDITOR)
    api = client.get("/api/v1/audit/entries", headers={"Authorization": f"Bearer {issue_token(auditor)}"})
    stamp = api.json()["items"][0]["at"]
    assert stamp.endswith(("Z", "+00:00"))
    page = _browser(client, auditor).get("/audit", headers=HTML).text
    local = datetime.fromisoformat(stamp.replace("Z", "+00:00")).astimezone(beijing_zone())
    assert local.strftime("%Y-%m-%d %H:%M:%S") in page and "时间（北京时间）" in page


def beijing_zone():  # type: ignore[no-untyped-def]
    from zoneinfo import ZoneInfo

    return ZoneInfo("Asia/Shanghai")


def test_a_refused_page_names_the_role_by_its_label_in_the_users_language(
    client: TestClient, database: str
) -> None:
    auditor = make_user("auditor_sun", Role.AUDITOR)
    zh = _browser(client, auditor).get("/admin/users", headers=HTML)
    assert zh.status_code == 403 and "审计员 角色无权打开此页面或执行此操作。" in zh.text
    en = client.get("/admin/users", headers=HTML | {"Accept-Language": "en"})
    assert "The role auditor may not open this page or do this." in en.text
    api = client.get("/admin/users")  # not a browser: the API's JSON, unchanged
    assert api.json()["error"] == "forbidden"
