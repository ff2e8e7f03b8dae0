"""Linked cases (串并案): reports sharing a payee account, suspect phone or URL fall into one cluster."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from pingan.antifraud.reports.rules import normalize_url, plan_cluster
from pingan.core.auth import User
from tests.conftest import bearer
from tests.factories import MULE_CARD_CCB, card, report_payload

pytestmark = pytest.mark.usefixtures("station_yulin")


def _report(ref: str, payee: str, suspects: list[dict[str, str]] | None = None) -> dict[str, Any]:
    body = report_payload(external_ref=ref, suspects=suspects or [])
    body["transfers"][0]["payee_account"] = payee
    return body


def _register(client: TestClient, user: User, body: dict[str, Any]) -> dict[str, Any]:
    r = client.post("/api/v1/fraud-reports", json=body, headers=bearer(user))
    assert r.status_code == 201, r.text
    return dict(r.json())


def test_two_reports_paying_the_same_mule_account_share_a_cluster(
    client: TestClient, officer_li: User
) -> None:
    a = _register(client, officer_li, _report("R-1", MULE_CARD_CCB))
    b = _register(client, officer_li, _report("R-2", MULE_CARD_CCB))
    assert a["cluster"]["id"] == b["cluster"]["id"]
    assert b["cluster"]["size"] == 2


def test_a_report_with_nothing_in_common_stands_alone(client: TestClient, officer_li: User) -> None:
    a = _register(client, officer_li, _report("R-1", card("621700", 11)))
    b = _register(client, officer_li, _report("R-2", card("621700", 12)))
    assert a["cluster"]["id"] != b["cluster"]["id"]


def test_a_shared_suspect_phone_links_reports(client: TestClient, officer_li: User) -> None:
    phone = [{"kind": "phone", "value": "17000001111"}]
    a = _register(client, officer_li, _report("R-1", card("621700", 11), phone))
    b = _register(client, officer_li, _report("R-2", card("621700", 12), phone))
    assert a["cluster"]["id"] == b["cluster"]["id"]


def test_a_suspect_landline_is_kept_on_the_report_but_links_no_reports(
    client: TestClient, officer_li: User
) -> None:
    landline = [{"kind": "phone", "value": "028-8765 4321"}]
    a = _register(client, officer_li, _report("R-1", card("621700", 11), landline))
    b = _register(client, officer_li, _report("R-2", card("621700", 12), landline))
    assert a["cluster"]["id"] != b["cluster"]["id"]
    assert [s["kind"] for s in b["suspects"]] == ["phone"]


def test_a_report_bridging_two_clusters_merges_them_into_the_older(
    client: TestClient, officer_li: User
) -> None:
    a = _register(
        client,
        officer_li,
        _report("R-1", card("621700", 11), [{"kind": "url", "value": "http://a.example/x"}]),
    )
    b = _register(
        client, officer_li, _report("R-2", card("621700", 12), [{"kind": "phone", "value": "17000002222"}])
    )
    bridge = _register(
        client,
        officer_li,
        _report(
            "R-3",
            card("621700", 13),
            [{"kind": "url", "value": "https://www.A.example/x/"}, {"kind": "phone", "value": "17000002222"}],
        ),
    )
    assert bridge["cluster"]["id"] == min(a["cluster"]["id"], b["cluster"]["id"])
    cluster = client.get(f"/api/v1/fraud-clusters/{b['cluster']['id']}", headers=bearer(officer_li)).json()
    assert cluster["id"] == bridge["cluster"]["id"]
    assert {r["external_ref"] for r in cluster["reports"]} == {"R-1", "R-2", "R-3"}


def test_the_cluster_shows_the_identifiers_its_reports_share(client: TestClient, officer_li: User) -> None:
    _register(client, officer_li, _report("R-1", MULE_CARD_CCB))
    b = _register(client, officer_li, _report("R-2", MULE_CARD_CCB))
    cluster = client.get(f"/api/v1/fraud-clusters/{b['cluster']['id']}", headers=bearer(officer_li)).json()
    shared = [s for s in cluster["shared"] if s["kind"] == "payee_account"]
    assert len(shared) == 1
    assert shared[0]["value"].startswith(f"{MULE_CARD_CCB[:4]} **** **** {MULE_CARD_CCB[-4:]}")
    assert len(shared[0]["report_ids"]) == 2


def test_an_unknown_cluster_is_404(client: TestClient, officer_li: User) -> None:
    assert client.get("/api/v1/fraud-clusters/12345", headers=bearer(officer_li)).status_code == 404


def test_urls_are_compared_by_host_and_path() -> None:
    assert normalize_url("https://WWW.Shuadan.example/task/?id=9") == normalize_url("shuadan.example/task")


def test_a_new_report_linking_to_nothing_opens_a_new_cluster() -> None:
    assert plan_cluster({}).target is None


def test_the_oldest_linked_cluster_absorbs_the_others() -> None:
    plan = plan_cluster({7: {"url"}, 3: {"payee_account"}, 5: {"suspect_phone"}})
    assert (plan.target, plan.merged) == (3, (5, 7))
    assert "shares:payee_account" in plan.reasons


def _register_batch(client: TestClient, user: User, bodies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    r = client.post("/api/v1/fraud-reports/batch", json={"reports": bodies}, headers=bearer(user))
    assert r.status_code == 201, r.text
    return [
        dict(client.get(f"/api/v1/fraud-reports/{x['id']}", headers=bearer(user)).json())
        for x in r.json()["reports"]
    ]


def test_reports_of_one_batch_paying_the_same_mule_account_share_a_cluster(
    client: TestClient, officer_li: User
) -> None:
    a, b, c = _register_batch(
        client,
        officer_li,
        [
            _report("R-1", MULE_CARD_CCB),
            _report("R-2", card("621700", 12)),
            _report("R-3", MULE_CARD_CCB),
        ],
    )
    assert a["cluster"]["id"] == c["cluster"]["id"] != b["cluster"]["id"]
    assert c["cluster"]["size"] == 2


def test_a_batch_report_bridging_an_older_cluster_and_one_opened_in_the_batch_merges_all_into_the_older(
    client: TestClient, officer_li: User
) -> None:
    phone = [{"kind": "phone", "value": "17000001111"}]
    old = _register(client, officer_li, _report("R-0", card("621700", 10), phone))
    first, bridge = _register_batch(
        client,
        officer_li,
        [_report("R-1", card("621700", 11)), _report("R-2", card("621700", 11), phone)],
    )
    assert first["cluster"]["id"] == bridge["cluster"]["id"] == old["cluster"]["id"]
    assert bridge["cluster"]["size"] == 3


def test_the_same_external_reference_twice_in_one_batch_is_refused_naming_the_second(
    client: TestClient, officer_li: User
) -> None:
    bodies = [_report("R-1", card("621700", 11)), _report("R-1", card("621700", 12))]
    r = client.post("/api/v1/fraud-reports/batch", json={"reports": bodies}, headers=bearer(officer_li))
    assert r.status_code == 409
    assert "reports.1.external_ref" in r.text
    assert client.get("/api/v1/fraud-reports", headers=bearer(officer_li)).json()["items"] == []
