"""Chinese addresses: cpca reads the province, city and district; the district's gazetteer gives the
point of a street and house number or a landmark; anything else stays without coordinates, and says why."""

from __future__ import annotations

import math
from pathlib import Path

from fastapi.testclient import TestClient

from pingan.command import actions, address, imports
from pingan.command.model import Incident
from pingan.command.schemas import IncidentIn
from pingan.core import db
from pingan.core.auth import User, issue_token
from tests.command.conftest import YULIN
from tests.conftest import SYSTEM

# 玉林北路 runs from (30.6125, 104.042) east to (30.6125, 104.063) with numbers 1-200 (gazetteer.toml):
# number 12 lies 11/199 of the way along.
YULIN_NORTH_12 = (30.6125, 104.042 + 11 / 199 * 0.021)


def metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    (la1, lo1), (la2, lo2) = (tuple(math.radians(v) for v in p) for p in (a, b))
    h = math.sin((la2 - la1) / 2) ** 2 + math.cos(la1) * math.cos(la2) * math.sin((lo2 - lo1) / 2) ** 2
    return 2 * 6371008.8 * math.asin(math.sqrt(h))


def test_a_full_address_gives_every_part_and_the_house_s_point_on_its_street() -> None:
    g = address.geocode("四川省成都市武侯区玉林北路12号")
    p = g.parts
    assert (p.province, p.city, p.district, p.street, p.number) == (
        "四川省",
        "成都市",
        "武侯区",
        "玉林北路",
        12,
    )
    assert g.reason == "geocoded:street:玉林北路"
    assert g.lat is not None and g.lon is not None
    assert metres((g.lat, g.lon), YULIN_NORTH_12) < 1.0


def test_a_partial_address_is_read_as_the_district_s_and_keeps_what_follows_the_number() -> None:
    for text in ("武侯区玉林北路12号3栋2单元", "成都玉林北路12号", "玉林北路 12 号"):
        g = address.geocode(text)
        assert g.reason == "geocoded:street:玉林北路", text
        assert g.lat is not None and g.lon is not None
        assert metres((g.lat, g.lon), YULIN_NORTH_12) < 1.0, text
    p = address.parse("武侯区玉林北路12号3栋2单元")
    assert (p.province, p.city, p.district) == ("四川省", "成都市", "武侯区")
    assert p.rest == "玉林北路12号3栋2单元"
    # What the text does not say is not reported as said.
    assert address.parse("玉林北路12号").district is None


def test_a_street_name_holding_a_city_s_name_is_not_read_as_that_city() -> None:
    # 玉林 is also a city of Guangxi; cpca alone reads 玉林北路 as 玉林市 + 北路.
    g = address.geocode("玉林北路12号")
    assert (g.parts.province, g.parts.city) == (None, None)
    assert g.found
    # An unknown street named after a city is not that city either (长沙路 is no street of Changsha).
    unknown = address.geocode("长沙路8号")
    assert unknown.parts.city is None
    assert unknown.reason == "address_unresolved:unknown_street:长沙路"
    # Nor after a direction or an ordinal: 玉林中路 (not in the gazetteer) is no road of 玉林市.
    for text, street in (
        ("玉林中路菜市场门口", None),
        ("玉林中路8号", "玉林中路"),
        ("长沙东路3号", "长沙东路"),
    ):
        parts = address.parse(text)
        assert (parts.province, parts.city, parts.district) == (None, None, None), text
        assert parts.unknown_street == street, text


def test_an_address_in_another_city_or_district_gets_no_point() -> None:
    wuhan = address.geocode("湖北省武汉市洪山区珞喻路1037号")
    assert (wuhan.parts.province, wuhan.parts.city, wuhan.parts.district) == ("湖北省", "武汉市", "洪山区")
    assert (wuhan.lat, wuhan.lon) == (None, None)
    assert wuhan.reason == "address_outside_district:湖北省武汉市洪山区"
    # Even a street name the gazetteer knows is not placed when the district named is another one.
    jinjiang = address.geocode("四川省成都市锦江区玉林北路12号")
    assert not jinjiang.found
    assert jinjiang.reason == "address_outside_district:四川省成都市锦江区"
    assert address.geocode("广西玉林市玉林北路3号").reason.startswith("address_outside_district:广西")


def test_what_the_gazetteer_cannot_place_is_unresolved_with_why() -> None:
    cases = {
        "四川省成都市武侯区长寿路8号": "address_unresolved:unknown_street:长寿路",
        "玉林北路": "address_unresolved:no_house_number:玉林北路",
        "玉林北路999号": "address_unresolved:no_such_number:玉林北路999号",
        "成都市人民南路四段5号": "address_unresolved:unknown_section:人民南路四段",
        "四川省成都市武侯区": "address_unresolved",
        "": "address_unresolved",
    }
    for text, reason in cases.items():
        g = address.geocode(text)
        assert (g.reason, g.lat, g.lon) == (reason, None, None), text


def test_a_landmark_gives_its_point() -> None:
    g = address.geocode("成都武侯祠大门口")
    assert g.parts.landmark == "武侯祠"
    # 武侯祠大街 is a street and 武侯祠 a landmark: the street with its number is the better point.
    street = address.geocode("武侯祠大街1号")
    assert street.reason == "geocoded:street:武侯祠大街"
    assert g.reason == "geocoded:landmark:武侯祠" and (g.lat, g.lon) == (30.6745, 104.0785)


def test_the_gazetteer_s_streets_and_landmarks_lie_in_the_district() -> None:
    gaz = address.district_gazetteer()
    points = [p for s in gaz.streets.values() for p in s.points] + list(gaz.landmarks.values())
    assert all(30.59 <= lat <= 30.69 and 103.99 <= lon <= 104.09 for lat, lon in points)
    assert gaz.adcode == "510107"


# --- intake ---------------------------------------------------------------------------------------------


def test_a_call_with_an_address_and_no_coordinates_is_geocoded_and_says_so(api: TestClient) -> None:
    r = api.post("/api/v1/incidents", json={"text": "家里被盗", "address": "武侯区玉林北路12号"})
    assert r.status_code == 201
    body = r.json()
    assert metres((body["lat"], body["lon"]), YULIN_NORTH_12) < 1.0
    assert body["location_reasons"][:2] == ["geocoded:street:玉林北路", "in_area:WH-YL"]
    assert (body["station_code"], body["location_flag"]) == ("WH-YL", "none")


def test_coordinates_given_by_the_caller_win_over_the_address(api: TestClient) -> None:
    r = api.post(
        "/api/v1/incidents",
        json={"text": "家里被盗", "address": "武侯祠大街1号", "lat": YULIN[0], "lon": YULIN[1]},
    )
    body = r.json()
    assert (body["lat"], body["lon"]) == YULIN
    assert not any(x.startswith(("geocoded", "address_")) for x in body["location_reasons"])
    assert body["station_code"] == "WH-YL"


def test_an_address_that_cannot_be_placed_leaves_the_call_without_coordinates(api: TestClient) -> None:
    r = api.post("/api/v1/incidents", json={"text": "有人打架", "address": "湖北省武汉市洪山区珞喻路1037号"})
    assert r.status_code == 201
    body = r.json()
    assert (body["lat"], body["lon"], body["location_flag"]) == (None, None, "no_coordinates")
    assert body["location_reasons"][0] == "address_outside_district:湖北省武汉市洪山区"
    unknown = api.post("/api/v1/incidents", json={"text": "有人打架", "address": "武侯区长寿路8号"}).json()
    assert unknown["location_reasons"][0] == "address_unresolved:unknown_street:长寿路"
    assert unknown["lat"] is None


def test_the_incident_page_shows_the_parsed_address(client: TestClient, dispatcher: User) -> None:
    with db.transaction() as s:
        item = actions.NewCall(
            call=IncidentIn(text="家里被盗", address="四川省成都市武侯区玉林北路12号3栋"), actor=SYSTEM
        )
        incident_id = actions.do_take_call(s, item).id
    client.cookies.set("pingan_token", issue_token(dispatcher))
    page = client.get(f"/command/incidents/{incident_id}")
    assert page.status_code == 200
    html = page.text
    start = html.index('id="address-parts"')
    parts = html[start : html.index("</dl>", start)]
    for shown in ("四川省", "成都市", "武侯区", "玉林北路", "12号"):
        assert shown in parts
    assert "placed from the address: street 玉林北路" in html  # the reason in words, not its code


def test_an_imported_row_with_only_an_address_is_placed_by_it(district: None, tmp_path: Path) -> None:
    csv_path = tmp_path / "calls.csv"
    csv_path.write_text(
        "编号,时间,内容,地址\n"
        "B-1,2026-10-05T21:14:00+08:00,电动车被偷,四川省成都市武侯区玉林北路12号\n"
        "B-2,2026-10-05T21:20:00+08:00,有人打架,湖北省武汉市洪山区珞喻路1037号\n",
        encoding="utf-8",
    )
    mapping = imports.parse_mapping(
        {"columns": {"id": "编号", "received_at": "时间", "text": "内容", "address": "地址"}}
    )
    result = imports.import_file(csv_path, mapping, actor=SYSTEM)
    assert len(result.imported) == 2
    with db.read_transaction() as s:
        placed, far = (s.get(Incident, i) for i in result.imported)
        assert placed is not None and far is not None
        assert placed.lat is not None and placed.lon is not None
        assert metres((placed.lat, placed.lon), YULIN_NORTH_12) < 1.0
        assert (placed.station_code, placed.location_reasons.split(",")[0]) == (
            "WH-YL",
            "geocoded:street:玉林北路",
        )
        assert (far.lat, far.location_flag.value) == (None, "no_coordinates")
        assert far.location_reasons.startswith("address_outside_district:湖北省武汉市洪山区")
