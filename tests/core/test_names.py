"""Pages name stations and people, not codes and usernames: a station by its name, a person by their
display name, a code or username that nothing has as it is. A change made here shows at once; one
made by another process shows once the names kept have aged (NAMES_TTL_S)."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from pingan.core import db, names
from pingan.core.auth import User
from pingan.core.org import Station, do_upsert_station
from pingan.core.pages import who
from tests.conftest import SYSTEM


def test_a_station_is_shown_by_its_name_and_an_unknown_code_as_it_is(station_yulin: Station) -> None:
    assert names.station("WH-YL") == "玉林派出所"
    assert names.station("WH-XX") == "WH-XX"
    assert names.station(None) == names.station("") == ""


def test_a_person_is_shown_by_their_display_name_and_a_robot_by_what_it_is(officer_li: User) -> None:
    with db.transaction() as s:
        s.execute(update(User).where(User.username == officer_li.username).values(display_name="李敏"))
    names.forget()
    assert who(officer_li.username) == "李敏"
    assert who("nobody-has-this-name") == "nobody-has-this-name"
    assert who("robot") == "止付机器人", "a robot is named by what it is (in the default language)"


def test_a_station_renamed_here_shows_its_new_name_at_once(station_yulin: Station) -> None:
    assert names.station("WH-YL") == "玉林派出所"
    with db.transaction() as s:
        do_upsert_station(
            s, code="WH-YL", name="玉林路派出所", lat=30.6, lon=104.0, area_geojson=None, actor=SYSTEM
        )
    assert names.station("WH-YL") == "玉林路派出所"


def test_a_station_renamed_by_another_process_shows_once_the_names_have_aged(
    station_yulin: Station, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert names.station("WH-YL") == "玉林派出所"
    with db.transaction() as s:  # not through do_upsert_station: as another process's change looks here
        s.execute(update(Station).where(Station.code == "WH-YL").values(name="玉林路派出所"))
    assert names.station("WH-YL") == "玉林派出所", "kept for NAMES_TTL_S"
    monkeypatch.setattr(names, "NAMES_TTL_S", 0.0)
    assert names.station("WH-YL") == "玉林路派出所"
