"""The wastewater JSON API: sites, a site's trends with its flags, the monthly rises; readers only."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from pingan.core.auth import User
from tests.conftest import bearer
from tests.narcotics.test_pages import _import, _statcan


def test_the_api_gives_sites_trends_and_rises_as_aggregates(
    client: TestClient, analyst_zhang: User, tmp_path: Path
) -> None:
    _import(tmp_path)
    _statcan(tmp_path)
    auth = bearer(analyst_zhang)
    sites = client.get("/api/v1/narcotics/sites", headers=auth).json()
    assert [(s["code"], s["population"], s["samples"]) for s in sites] == [
        ("WH001", 300_000, 180),
        ("WH002", 120_000, 0),
    ]
    t = client.get("/api/v1/narcotics/sites/WH001/trends?factors=consumption", headers=auth).json()
    first = next(x for x in t["loads"] if x["metabolite"] == "benzoylecgonine")
    assert first["load_mg_per_day_per_1000"] == pytest.approx(500 * 100_000 / 300_000 * 3.59)
    assert first["ci95_low"] < first["load_mg_per_day_per_1000"] < first["ci95_high"]
    assert {f["reasons"][0].split(":")[0] for f in t["flags"]} == {
        "amp_meth_ratio_below",
        "spike_alone_latest",
    }
    r = client.get("/api/v1/narcotics/statcan/rises", headers=auth).json()
    assert [(x["geo"], x["month"]) for x in r["rises"]] == [("Halifax, Nova Scotia", "2023-03")] and r[
        "tests"
    ] == 2
    assert "same month a year earlier" in r["method"]


def test_an_unknown_site_is_a_404_naming_the_field_and_an_officer_is_refused(
    client: TestClient, analyst_zhang: User, officer_li: User
) -> None:
    missing = client.get("/api/v1/narcotics/sites/NOPE/trends", headers=bearer(analyst_zhang))
    assert missing.status_code == 404 and "code" in missing.text
    assert client.get("/api/v1/narcotics/sites", headers=bearer(officer_li)).status_code == 403
    bad = client.get("/api/v1/narcotics/sites/WH001/trends?factors=guess", headers=bearer(analyst_zhang))
    assert bad.status_code == 422 and "factors" in bad.text
