"""Fixtures of the directive tests: the Yulin and Huaxi stations, the bureau's supervisor Liu who
issues directives, Yulin's officer Li who answers them, and a clock at 2026-03-20 10:00 Beijing time."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from pingan.core import clock, db
from pingan.core.org import Station, do_upsert_station
from pingan.core.roles import Actor

NOW = datetime(2026, 3, 20, 2, 0, tzinfo=UTC)  # 10:00 Beijing
FLOOD_TEXT = (
    "各派出所：汛期将至，为维护辖区治安稳定，现就有关工作通知如下。一、排查辖区低洼地带和地下车库的积水风险。"
    "二、对河道沿线的施工工地开展巡查。三、建立易涝点位值守台账。重点区域：玉林片区。请于3月25日前签收并组织落实。"
)
# The same directive as another office would write it: reordered, synonyms swapped, a new closing.
FLOOD_REWORDED = (
    "各派出所：汛期将至，为维护辖区治安稳定，现就有关工作通知如下。一、对河道沿线的施工工地组织开展巡查。二、摸排辖区低洼地带"
    "和地下车库的积水风险。三、建立易涝点位值守台账。重点区域：玉林片区。请各所收到后于3月27日前签收。"
)
FRAUD_TEXT = (
    "各派出所：为防范电信网络诈骗，请组织民警走访辖区高校开展新生反诈教育，建立学生群体预警劝阻名单，"
    "与学校保卫处共建反诈联络员机制，并于3月30日前报送走访学校和学生人数。"
)


@pytest.fixture(autouse=True)
def frozen_now() -> Iterator[datetime]:
    """The platform's clock stands at 2026-03-20 10:00 Beijing time."""
    with clock.frozen(NOW):
        yield NOW


@pytest.fixture
def station_huaxi(database: str) -> Station:
    with db.transaction() as s:
        return do_upsert_station(
            s,
            code="WH-HX",
            name="华西坝派出所",
            lat=30.64,
            lon=104.07,
            area_geojson=None,
            actor=Actor.system("test"),
        )


def directive_body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "subject": "汛期安全隐患排查",
        "text": FLOOD_TEXT,
        "stations": ["WH-YL"],
        "deadline": (NOW + timedelta(days=5)).isoformat(),
        "required_answer": "acknowledge",
    }
    body.update(changes)
    return body
