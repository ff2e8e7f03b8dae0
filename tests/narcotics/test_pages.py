"""The wastewater pages, as an analyst: the site map with its GeoJSON, a site's trends with their
bands and flags, the Statistics Canada trends, the EUDA check, the bulletin export; the menu; an
officer is refused."""

from __future__ import annotations

import io
import json
import re
from datetime import date, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from pingan.core import db
from pingan.core.auth import User, issue_token
from pingan.core.roles import Actor
from pingan.narcotics import actions

DATA = Path(__file__).parent / "data"
HTML = {"Accept": "text/html,application/xhtml+xml"}
SYSTEM = Actor.system("test")


def _browser(client: TestClient, user: User) -> TestClient:
    client.cookies.set("pingan_token", issue_token(user))
    return client


def _import(tmp_path: Path) -> None:
    """Two sites; WH001 with 60 days of lab results, methamphetamine spiking alone on the last day."""
    lines = ["sample_date,site,metabolite,concentration_ng_l,flow_m3_day"]
    start = date(2026, 10, 1)
    for i in range(60):
        d = start + timedelta(days=i)
        meth = 900.0 if i == 59 else 100.0 + (i % 4)
        lines += [
            f"{d},WH001,methamphetamine,{meth},100000",
            f"{d},WH001,amphetamine,{10 + i % 3},100000",
            f"{d},WH001,benzoylecgonine,{500 + (i % 5) * 3},100000",
        ]
    lab = tmp_path / "lab.csv"
    lab.write_text("\n".join(lines) + "\n")
    with db.transaction() as s:
        actions.do_import_sites(s, SYSTEM, DATA / "sites.csv")
        actions.do_import_lab(s, SYSTEM, lab, today=date(2026, 12, 6))


def _statcan(tmp_path: Path) -> None:
    head = '"REF_DATE","GEO","DGUID","Measure","Characteristics","UOM","UOM_ID","SCALAR_FACTOR","SCALAR_ID","VECTOR","COORDINATE","VALUE","STATUS","SYMBOL","TERMINATED","DECIMALS"'
    rows = [head]
    for month, load in (("2022-03", 100.0), ("2022-05", 120.0), ("2023-03", 150.0), ("2023-05", 121.0)):
        for ch, v in (
            ("Load per capita (milligrams per one thousand people per day)", load),
            ("Low 95% confidence interval, load per capita", load - 9.8),
            ("High 95% confidence interval, load per capita", load + 9.8),
            ("Standard error, load per capita", 5.0),
        ):
            rows.append(
                f'"{month}","Halifax, Nova Scotia","","Cocaine (Benzoylecgonine)","{ch}","","","","","","","{v}","","","","2"'
            )
    f = tmp_path / "statcan.csv"
    f.write_text("\n".join(rows) + "\n")
    with db.transaction() as s:
        actions.do_import_statcan(s, SYSTEM, f)


def test_the_analyst_finds_the_wastewater_pages_in_the_menu_and_the_sites_on_the_map(
    client: TestClient, analyst_zhang: User, tmp_path: Path
) -> None:
    _import(tmp_path)
    browser = _browser(client, analyst_zhang)
    page = browser.get("/narcotics", headers=HTML)
    assert page.status_code == 200
    assert 'href="/narcotics"' in page.text and 'href="/narcotics/canada"' in page.text
    assert 'id="narcotics-map"' in page.text and "/static/narcotics-map.js" in page.text
    assert "300,000" in page.text and 'href="/narcotics/sites/WH001"' in page.text
    geo = browser.get("/narcotics/sites.geojson").json()
    north = next(f for f in geo["features"] if f["properties"]["code"] == "WH001")
    assert north["geometry"]["coordinates"] == [104.04, 30.64]
    assert north["properties"]["samples"] == 180 and set(north["properties"]) == {
        "code",
        "city",
        "population",
        "samples",
        "url",
    }


def test_a_site_s_page_charts_each_residue_and_flags_the_lonely_methamphetamine_spike(
    client: TestClient, analyst_zhang: User, tmp_path: Path
) -> None:
    _import(tmp_path)
    page = _browser(client, analyst_zhang).get("/narcotics/sites/WH001?factors=consumption", headers=HTML)
    assert page.status_code == 200
    charts = json.loads(re.search(r'id="narcotics-charts">(.*?)</script>', page.text, re.S).group(1))  # type: ignore[union-attr]
    assert set(charts) == {"amphetamine", "methamphetamine", "benzoylecgonine"}
    band = charts["benzoylecgonine"]["series"]
    # 500 ng/L × 100 000 m³/day ÷ 300 000 people × 3.59 = 598.33 mg/day/1000, band from rel_se 0.26.
    assert band[2]["data"][0] == round(500 * 100_000 / 300_000 * 3.59, 3)
    assert band[0]["data"][0] < band[2]["data"][0] < band[0]["data"][0] + band[1]["data"][0]
    assert "2026-11-29" in page.text and "a spike in this residue alone on the latest sample" in page.text
    # The spike day's ratio (11/900) is below 0.05 too; every other day's (about 0.1) is inside 0.05-0.25.
    assert page.text.count("ratio below 0.05") == 1
    assert "<li>2026-11-29 · methamphetamine: amphetamine/methamphetamine ratio below 0.05" in page.text


def test_the_canada_page_lists_a_rise_on_last_year_s_same_month_with_the_method(
    client: TestClient, analyst_zhang: User, tmp_path: Path
) -> None:
    _statcan(tmp_path)
    page = _browser(client, analyst_zhang).get("/narcotics/canada", headers=HTML)
    assert page.status_code == 200
    table = page.text[page.text.index('id="rises"') :]
    assert "2023-03" in table and "2023-05" not in table.split("</table>")[0]
    assert "same month a year earlier" in page.text and "Benjamini-Hochberg" in page.text


def _euda(tmp_path: Path) -> None:
    """Three rows as the 2025 release prints them: Graz reproduced exactly, Brussels' weekend a
    half-cent tie printed rounded down, Bristol 2015 with its day values one column off."""
    rows = [
        '"Year","Metabolite","Site ID","Country","City","Wednesday","Thursday","Friday","Saturday","Sunday",'
        '"Monday","Tuesday","Weekday mean","Weekend mean","Daily mean"',
        '2024,"MDMA","AT001","AT","Graz",8.82,12.87,12.45,28.11,26.8,10.5,9.13,10.27,19.47,15.53',
        '2024,"MDMA","BE005","BE","Brussels",31.65,30.23,30.84,110.28,172.71,105.99,57.07,39.65,104.95,76.97',
        '2015,"MDMA","GB001","GB","Bristol",25.37,22.89,16.26,34.91,111.76,109.93,50.67,21.51,76.82,53.11',
    ]
    f = tmp_path / "euda.csv"
    f.write_text("\n".join(rows) + "\n")
    with db.transaction() as s:
        actions.do_import_euda(s, SYSTEM, f)


def test_the_euda_page_counts_exact_cells_of_those_compared_and_lists_the_inconsistent_ones(
    client: TestClient, analyst_zhang: User, tmp_path: Path
) -> None:
    _euda(tmp_path)
    page = _browser(client, analyst_zhang).get("/narcotics/euda", headers=HTML)
    assert page.status_code == 200
    # 9 means compared: Graz 3, Brussels 2 and Bristol's daily exact; a tie; Bristol's two moved days.
    assert "6 of 9 stored means reproduced exactly (66.7%)" in page.text
    listed = page.text[page.text.index('id="euda-inconsistent"') :].split("</table>")[0]
    assert listed.count("<tr><td>GB001") == 2 and "BE005" not in listed
    assert "day values printed one column off" in listed and "21.51" in listed and "32.98" in listed


def test_the_bulletin_exports_as_csv_and_xlsx_with_aggregates_only(
    client: TestClient, analyst_zhang: User, tmp_path: Path
) -> None:
    _import(tmp_path)
    _statcan(tmp_path)
    browser = _browser(client, analyst_zhang)
    csv_ = browser.get("/narcotics/bulletin.csv")
    assert csv_.status_code == 200 and csv_.headers["content-type"].startswith("text/csv")
    lines = csv_.content.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("scope,place,residue,period,load")
    assert any(line.startswith("site,Wuhou North (WH001),methamphetamine,2026-11-29") for line in lines)
    assert any(
        line.startswith('statcan,"Halifax, Nova Scotia",Cocaine (Benzoylecgonine),2023-05') for line in lines
    )
    xlsx = browser.get("/narcotics/bulletin.xlsx")
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet is not None and sheet.max_row == len(lines)
    assert browser.get("/narcotics/bulletin.pdf").status_code == 404


def test_an_officer_may_not_open_the_wastewater_pages(client: TestClient, officer_li: User) -> None:
    browser = _browser(client, officer_li)
    assert browser.get("/narcotics", headers=HTML).status_code == 403
    assert browser.get("/narcotics/bulletin.csv").status_code == 403


def test_an_unknown_site_is_a_404(client: TestClient, analyst_zhang: User) -> None:
    assert _browser(client, analyst_zhang).get("/narcotics/sites/NOPE", headers=HTML).status_code == 404


@pytest.mark.browser_language(None)
def test_every_wastewater_page_renders_in_chinese(
    client: TestClient, analyst_zhang: User, tmp_path: Path
) -> None:
    _import(tmp_path)
    _statcan(tmp_path)
    _euda(tmp_path)
    browser = _browser(client, analyst_zhang)
    for url, words in (
        ("/narcotics", "污水监测"),
        ("/narcotics/sites/WH001", "倾倒疑点"),
        ("/narcotics/canada", "百分之九十五置信区间"),
        ("/narcotics/euda", "EUDA 数据表核验"),
        ("/narcotics/euda", "精确复现"),
    ):
        page = browser.get(url, headers=HTML)
        assert page.status_code == 200 and words in page.text, url
