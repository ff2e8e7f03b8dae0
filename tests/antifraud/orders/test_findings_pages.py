"""The supervisors' findings pages: a paged queue, evidence as tables, the approval plan before approval,
bulk approval through a confirmation step, and the history of decisions."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from pingan.antifraud.orders import actions
from pingan.antifraud.orders.choices import FindingKind, FindingStatus, OrderKind, OrderReason
from pingan.antifraud.orders.model import PoliceFinding, RestrictionOrder
from pingan.antifraud.orders.robot import ROBOT
from pingan.core import clock, db
from pingan.core.audit import AuditEntry
from pingan.core.auth import User
from pingan.core.pii import PiiKind, protect
from pingan.core.roles import Actor, Role
from tests.antifraud.orders.conftest import MULE_ABC, MULE_CCB, MULE_ICBC, mule_report, register
from tests.conftest import bearer
from tests.factories import card

# A browser that names no language: pingan answers in Chinese, as these tests read.
pytestmark = [pytest.mark.usefixtures("station_yulin"), pytest.mark.browser_language(None)]

ANALYST_ZHANG = Actor("zhang", Role.ANTIFRAUD_ANALYST)
T0 = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)


def _draft_findings(count: int, *, kind: FindingKind = FindingKind.REPORT) -> list[int]:
    """`count` robot drafts, one a minute from T0, each naming one fresh CCB card; returns their ids."""
    ids = []
    for n in range(count):
        with clock.frozen(T0 + timedelta(minutes=n)), db.transaction() as s:
            draft = actions.FindingDraft(
                report_id=None,
                case_ref=f"510107-2026-{500 + n:06d}",
                evidence={"report": f"510107-2026-{500 + n:06d}", "transfers": []},
                accounts=[
                    (actions.AccountRef("CCB", protect(PiiKind.CARD, card("621700", 50_000 + n))), None)
                ],
                actor=ROBOT,
                kind=kind,
            )
            ids.append(actions.do_draft_finding(s, draft).id)
    return ids


def _ids_on(page_html: str) -> list[int]:
    return [int(x) for x in re.findall(r'id="finding-(\d+)"', page_html)]


def _link(page_html: str, rel: str) -> str | None:
    m = re.search(rf'<a [^>]*href="([^"]+)" rel="{rel}"', page_html)
    return m.group(1).replace("&amp;", "&") if m else None


def _trace_finding(accounts: list[tuple[str, str, int]]) -> int:
    """An analyst's trace finding naming (bank, card, traced fen) accounts; returns its id."""
    with db.transaction() as s:
        draft = actions.FindingDraft(
            report_id=None,
            case_ref="510107-2026-000777",
            evidence={
                "trace": {"method": "fifo", "seeds": [7001], "start": "2026-11-20T02:00:00+00:00",
                          "max_hops": 6, "window_hours": 72.0, "gaps": []},
                "recommendations": [
                    {"to": protect(PiiKind.CARD, number).masked, "bank": bank, "recoverable_fen": fen,
                     "confidence": 0.9, "reasons": ["traced_held", "hop:1", "method:fifo"]}
                    for bank, number, fen in accounts
                ],
            },
            accounts=[
                (actions.AccountRef(bank, protect(PiiKind.CARD, number)), fen) for bank, number, fen in accounts
            ],
            actor=ANALYST_ZHANG,
            kind=FindingKind.TRACE,
        )  # fmt: skip
        return actions.do_draft_finding(s, draft).id


def test_the_queue_shows_20_drafts_and_the_next_link_brings_the_next_20_by_cursor(
    client: TestClient, supervisor_liu: User
) -> None:
    ids = _draft_findings(45)
    first = client.get("/findings", headers=bearer(supervisor_liu))
    assert first.status_code == 200
    assert _ids_on(first.text) == ids[:20]  # longest waiting first
    assert _link(first.text, "prev") is None
    next_url = _link(first.text, "next")
    assert next_url is not None and "cursor=" in next_url and "offset" not in next_url
    second = client.get(next_url, headers=bearer(supervisor_liu))
    assert _ids_on(second.text) == ids[20:40]
    third = client.get(_link(second.text, "next") or "", headers=bearer(supervisor_liu))
    assert _ids_on(third.text) == ids[40:] and _link(third.text, "next") is None
    back = client.get(_link(third.text, "prev") or "", headers=bearer(supervisor_liu))
    assert _ids_on(back.text) == ids[20:40]


def test_a_finding_decided_meanwhile_does_not_shift_the_next_page(
    client: TestClient, supervisor_liu: User
) -> None:
    ids = _draft_findings(25)
    first = client.get("/findings", headers=bearer(supervisor_liu))
    with db.transaction() as s:
        f = actions.get_finding(s, ids[0])
        actions.do_decide_finding(s, f, approve=False, note="no basis", actor=Actor("liu", Role.SUPERVISOR))
    second = client.get(_link(first.text, "next") or "", headers=bearer(supervisor_liu))
    assert _ids_on(second.text) == ids[20:]


def test_a_cursor_the_server_did_not_issue_is_refused_naming_the_field(
    client: TestClient, supervisor_liu: User
) -> None:
    r = client.get("/findings?cursor=bm90LWEtY3Vyc29y", headers=bearer(supervisor_liu))
    assert r.status_code == 422 and "cursor" in r.text


def test_the_evidence_of_a_report_finding_is_a_table_with_masked_cards_and_bank_names(
    client: TestClient, supervisor_liu: User
) -> None:
    register(mule_report(1, banks=("CCB",), amount_fen=420_000))
    page = client.get("/findings", headers=bearer(supervisor_liu)).text
    assert "6217 **** **** " in page and "中国建设银行" in page and "¥4,200.00" in page
    assert '"amount_fen"' not in page and "amount_fen" not in page  # no raw JSON
    assert MULE_CCB not in page


def test_the_evidence_of_a_trace_finding_lists_its_recommendations_as_a_table(
    client: TestClient, supervisor_liu: User
) -> None:
    _trace_finding([("ICBC", MULE_ICBC, 250_000)])
    page = client.get("/findings", headers=bearer(supervisor_liu)).text
    assert "中国工商银行" in page and "¥2,500.00" in page and "90%" in page
    assert "recoverable_fen" not in page and "7001" not in page  # no raw JSON, no store account id


def test_the_queue_lists_the_holders_other_cards_an_approval_will_stop_before_approval(
    client: TestClient, supervisor_liu: User, mule_zhao_registered: None
) -> None:
    register(mule_report(1))  # pays Zhao's CCB card; Zhao also holds cards at ICBC and ABC
    page = client.get("/findings", headers=bearer(supervisor_liu)).text
    plan = page.split("批准后将止付或冻结")[1].split("</table>")[0]  # "Approval will stop or freeze"
    for number, bank in ((MULE_ICBC, "中国工商银行"), (MULE_ABC, "中国农业银行")):
        assert protect(PiiKind.CARD, number).masked in plan and bank in plan
    assert protect(PiiKind.CARD, MULE_CCB).masked not in plan  # stopped already, on the report


def test_the_confirmation_page_lists_each_account_with_its_cap_before_anything_is_approved(
    client: TestClient, supervisor_liu: User, mule_zhao_registered: None
) -> None:
    register(mule_report(1))
    report_finding = _finding_of_case("510107-2026-000001")
    trace_finding = _trace_finding(
        [("BOC", card("621661", 4242), 250_000), ("CMB", card("622588", 4343), 120_000)]
    )
    r = client.get(
        f"/findings/confirm?ids={report_finding}&ids={trace_finding}", headers=bearer(supervisor_liu)
    )
    assert r.status_code == 200
    rows = re.findall(r"<tr>(.*?)</tr>", r.text.split("批准后将止付或冻结的全部账户")[1], re.S)
    freezes = [row for row in rows if "¥" in row]
    assert len(freezes) == 2
    assert any("¥2,500.00" in row and "中国银行" in row and "6216 **** **** " in row for row in freezes)
    assert any("¥1,200.00" in row and "招商银行" in row for row in freezes)
    stops = [row for row in rows if "全部余额" in row]  # the whole balance
    assert len(stops) == 2  # Zhao's ICBC and ABC cards
    assert 'id="total-freeze-cap">¥3,700.00' in r.text
    assert 'id="total-stops">2' in r.text and 'id="total-freezes">2' in r.text
    with db.read_transaction() as s:
        assert set(s.execute(select(PoliceFinding.status)).scalars()) == {FindingStatus.DRAFT}
        assert (
            s.execute(select(RestrictionOrder).where(RestrictionOrder.finding_id.is_not(None))).first()
            is None
        )


def _finding_of_case(case_ref: str) -> int:
    with db.read_transaction() as s:
        return int(s.execute(select(PoliceFinding.id).where(PoliceFinding.case_ref == case_ref)).scalar_one())


def _confirm_form(client: TestClient, user: User, ids: list[int]) -> dict[str, object]:
    page = client.get("/findings/confirm?" + "&".join(f"ids={i}" for i in ids), headers=bearer(user)).text
    plan = re.search(r'name="plan" value="([0-9a-f]+)"', page)
    assert plan is not None
    return {"ids": [str(i) for i in ids], "plan": plan.group(1)}


def test_bulk_approval_approves_each_selected_finding_and_audits_each_one(
    client: TestClient, supervisor_liu: User, mule_zhao_registered: None
) -> None:
    register(mule_report(1))
    register(mule_report(2))
    chosen = [_finding_of_case("510107-2026-000001"), _finding_of_case("510107-2026-000002")]
    left = _draft_findings(1)[0]
    r = client.post(
        "/findings/approve",
        data=_confirm_form(client, supervisor_liu, chosen),
        headers=bearer(supervisor_liu),
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/findings?done=approved&n=2"
    with db.read_transaction() as s:
        status = {i: st for i, st in s.execute(select(PoliceFinding.id, PoliceFinding.status))}
        audited = s.execute(
            select(AuditEntry.object_id).where(AuditEntry.action == "finding.approve")
        ).scalars()
        stopped = s.execute(
            select(RestrictionOrder.finding_id).where(RestrictionOrder.reason == OrderReason.HOLDER_LINKED)
        ).scalars()
        assert sorted(audited) == sorted(str(i) for i in chosen)
        assert set(stopped) == {chosen[0]}  # Zhao's other cards, on the finding of the report paying him
    assert [status[i] for i in chosen] == [FindingStatus.APPROVED, FindingStatus.APPROVED]
    assert status[left] is FindingStatus.DRAFT
    done = client.get(r.headers["location"], headers=bearer(supervisor_liu)).text
    assert 'class="okmsg"' in done and "已批准 2 项认定" in done


def test_the_plan_the_confirmation_showed_is_what_approval_issues(
    client: TestClient, supervisor_liu: User, mule_zhao_registered: None
) -> None:
    register(mule_report(1))
    report_finding = _finding_of_case("510107-2026-000001")
    trace_finding = _trace_finding([("BOC", card("621661", 4242), 250_000)])
    form = _confirm_form(client, supervisor_liu, [report_finding, trace_finding])
    client.post("/findings/approve", data=form, headers=bearer(supervisor_liu), follow_redirects=False)
    with db.read_transaction() as s:
        issued = {
            (o.kind, o.bank_code, o.account.masked, o.amount_fen)
            for o in s.execute(
                select(RestrictionOrder).where(RestrictionOrder.finding_id.is_not(None))
            ).scalars()
        }
    assert issued == {
        (OrderKind.STOP_PAYMENT, "ICBC", protect(PiiKind.CARD, MULE_ICBC).masked, None),
        (OrderKind.STOP_PAYMENT, "ABC", protect(PiiKind.CARD, MULE_ABC).masked, None),
        (OrderKind.FREEZE, "BOC", protect(PiiKind.CARD, card("621661", 4242)).masked, 250_000),
    }


def test_bulk_approval_with_one_refused_finding_approves_none_and_says_which(
    client: TestClient, supervisor_liu: User
) -> None:
    ids = _draft_findings(2)
    form = _confirm_form(client, supervisor_liu, ids)
    with db.transaction() as s:  # another supervisor refuses the second meanwhile
        f = actions.get_finding(s, ids[1])
        actions.do_decide_finding(s, f, approve=False, note="no basis", actor=Actor("wu", Role.SUPERVISOR))
    r = client.post("/findings/approve", data=form, headers=bearer(supervisor_liu))
    assert r.status_code == 409
    assert "510107-2026-000501" in r.text and "refused already" in r.text
    with db.read_transaction() as s:
        assert s.get(PoliceFinding, ids[0]).status is FindingStatus.DRAFT  # type: ignore[union-attr]


def test_bulk_approval_refuses_a_plan_that_changed_since_the_confirmation(
    client: TestClient, supervisor_liu: User, mule_zhao_registered: None
) -> None:
    register(mule_report(1))
    fid = _finding_of_case("510107-2026-000001")
    form = _confirm_form(client, supervisor_liu, [fid]) | {"plan": "0" * 32}
    r = client.post("/findings/approve", data=form, headers=bearer(supervisor_liu))
    assert r.status_code == 409 and "changed since this page was opened" in r.text
    with db.read_transaction() as s:
        assert s.get(PoliceFinding, fid).status is FindingStatus.DRAFT  # type: ignore[union-attr]


def test_a_refused_finding_shows_in_the_history_with_its_reason(
    client: TestClient, supervisor_liu: User
) -> None:
    (fid,) = _draft_findings(1)
    r = client.post(
        f"/findings/{fid}/decision",
        data={"decision": "refuse", "note": "账户与本案无关 unrelated account"},
        headers=bearer(supervisor_liu),
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/findings?done=refused&n=1"
    assert 'class="okmsg"' in client.get(r.headers["location"], headers=bearer(supervisor_liu)).text
    history = client.get("/findings/history?status=refused", headers=bearer(supervisor_liu)).text
    row = history.split(f'id="finding-{fid}"')[1].split("</tr>")[0]
    assert "账户与本案无关 unrelated account" in row and "liu" in row and "510107-2026-000500" in row
    assert fid not in _ids_on(client.get("/findings", headers=bearer(supervisor_liu)).text)


def test_a_refusal_without_a_reason_is_refused_naming_the_field(
    client: TestClient, supervisor_liu: User
) -> None:
    (fid,) = _draft_findings(1)
    r = client.post(f"/findings/{fid}/decision", data={"decision": "refuse"}, headers=bearer(supervisor_liu))
    assert r.status_code == 422 and "note" in r.text
    with db.read_transaction() as s:
        assert s.get(PoliceFinding, fid).status is FindingStatus.DRAFT  # type: ignore[union-attr]


def test_the_history_pages_by_cursor_newest_decision_first(client: TestClient, supervisor_liu: User) -> None:
    ids = _draft_findings(23)
    for n, fid in enumerate(ids):
        with clock.frozen(T0 + timedelta(hours=1, minutes=n)), db.transaction() as s:
            f = actions.get_finding(s, fid)
            actions.do_decide_finding(
                s, f, approve=False, note=f"reason {n}", actor=Actor("liu2", Role.SUPERVISOR)
            )
    first = client.get("/findings/history", headers=bearer(supervisor_liu)).text
    assert _ids_on(first) == ids[::-1][:20]
    second = client.get(_link(first, "next") or "", headers=bearer(supervisor_liu)).text
    assert _ids_on(second) == ids[::-1][20:]


def test_the_queue_filters_by_kind(client: TestClient, supervisor_liu: User) -> None:
    report_ids = _draft_findings(2)
    trace_id = _trace_finding([("BOC", card("621661", 4242), 250_000)])
    traces = client.get("/findings?kind=trace", headers=bearer(supervisor_liu)).text
    assert _ids_on(traces) == [trace_id]
    reports = client.get("/findings?kind=report", headers=bearer(supervisor_liu)).text
    assert _ids_on(reports) == report_ids
