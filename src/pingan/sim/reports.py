"""Fraud reports (报案) of the victims who come forward, in the interchange format of docs/reports.md.

`validate_report` checks one report object against that format with the platform's own normalisers, so
the generator and `sim check` agree with `pingan reports import`.
"""

from __future__ import annotations

import csv
import io
import json
import random
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import numpy as np
import pyarrow as pa

from pingan.antifraud.banks.directory import check_bank
from pingan.antifraud.reports.choices import Typology
from pingan.core.errors import Invalid
from pingan.core.pii import normalize_card, normalize_name, normalize_national_id, normalize_phone
from pingan.sim import params as cfg
from pingan.sim.accounts import BANK_CODES, card_numbers
from pingan.sim.calls import report_narrative
from pingan.sim.fraud import FraudPlan
from pingan.sim.normal import CHANNELS, US_PER_S
from pingan.sim.world import STREAM_REPORTS, World, stream

BEIJING = timezone(timedelta(hours=8))
REPORT_TYPOLOGIES = (
    "刷单返利", "虚假投资理财", "虚假网络贷款", "冒充电商物流客服", "冒充公检法", "冒充领导熟人", "网络游戏虚假交易",
    "网络婚恋交友", "其他",
)  # fmt: skip
REPORT_CHANNELS = ("mobile_banking", "online_banking", "counter", "atm", "third_party", "qr")
SUSPECT_KINDS = ("phone", "url", "app", "social")
CSV_HEADER = (
    "external_ref", "victim_name", "victim_national_id", "victim_phone", "fraud_started_at", "reported_at",
    "station_code", "officer", "typology", "narrative", "occurred_at", "amount_fen", "payer_card", "payer_bank",
    "payee_account", "payee_bank", "channel", "suspects",
)  # fmt: skip
_APPS = ("鑫盛优选", "汇金宝", "易借花", "速贷通", "云端任务", "金鼎国际", "趣聊", "安心理财")
_WORDS = ("task", "invest", "loan", "refund", "safe", "love", "vip", "gold")


def beijing_iso(us: int) -> str:
    """An instant (UTC microseconds) as ISO 8601 Beijing time with its offset, to the second."""
    return datetime.fromtimestamp(us // US_PER_S, tz=UTC).astimezone(BEIJING).isoformat(timespec="seconds")


def _suspects(rng: np.random.Generator, n_camp: int, typologies: np.ndarray) -> list[list[dict[str, str]]]:
    """Contact points of each campaign's gang; reports of one campaign share them (串并案)."""
    out = []
    for c in range(n_camp):
        phone = f"{rng.choice([170, 171, 165, 167])}{int(rng.integers(0, 10**8)):08d}"
        word = _WORDS[int(typologies[c]) % len(_WORDS)]
        out.append(
            [
                {"kind": "phone", "value": phone},
                {"kind": "url", "value": f"http://{word}{c:04d}.example/{int(rng.integers(1000, 9999))}"},
                {"kind": "app", "value": _APPS[int(rng.integers(0, len(_APPS)))]},
                {"kind": "social", "value": f"QQ:{int(rng.integers(10**8, 10**10))}"},
            ]
        )
    return out


def build_reports(world: World, plan: FraudPlan, persons: pa.Table) -> list[dict[str, Any]]:
    """One report object per reporting victim, ordered by the time of the report."""
    rng = stream(world.params.seed, STREAM_REPORTS)
    v = plan.victims
    reporting = np.flatnonzero(v.reports)
    reporting = reporting[np.argsort(v.report_us[reporting], kind="stable")]
    suspects = _suspects(rng, plan.campaigns.size, plan.campaigns.typology)
    pay = plan.payments
    by_victim = np.argsort(pay.victim, kind="stable")
    bounds = np.searchsorted(pay.victim[by_victim], np.arange(v.person.size + 1))
    payer_cards = card_numbers(world.accounts, v.account[reporting]).to_pylist()
    mule_cards = dict(zip(pay.mule.tolist(), card_numbers(world.accounts, pay.mule).to_pylist(), strict=True))
    names = persons.column("name").take(pa.array(v.person[reporting])).to_pylist()
    ids = persons.column("national_id").take(pa.array(v.person[reporting])).to_pylist()
    phones = persons.column("phone").take(pa.array(v.person[reporting])).to_pylist()
    bank = world.accounts.bank
    # Narratives in varied wording (sim/calls.py), from their own stream so the rest stays as it was.
    wording = random.Random(f"report-narratives:{world.params.seed}")
    reports: list[dict[str, Any]] = []
    for i, vi in enumerate(reporting.tolist()):
        station = world.stations[int(world.persons.station[v.person[vi]])]
        typ = cfg.TYPOLOGIES[int(v.typology[vi])]
        year = datetime.fromtimestamp(int(v.report_us[vi]) // US_PER_S, tz=BEIJING).year
        transfers = []
        for pi in by_victim[bounds[vi] : bounds[vi + 1]].tolist():
            transfers.append(
                {
                    "occurred_at": beijing_iso(int(pay.ts[pi])),
                    "amount_fen": int(pay.amount[pi]),
                    "payer_card": payer_cards[i],
                    "payer_bank": BANK_CODES[int(bank[v.account[vi]])],
                    "payee_account": mule_cards[int(pay.mule[pi])],
                    "payee_bank": BANK_CODES[int(bank[pay.mule[pi]])],
                    "channel": CHANNELS[int(pay.channel[pi])],
                }
            )
        reports.append(
            {
                "external_ref": f"{cfg.DISTRICT_REGION_CODE}-{year}-{i + 1:06d}",
                "victim": {"name": names[i], "national_id": ids[i], "phone": phones[i]},
                "fraud_started_at": beijing_iso(int(v.contact_us[vi])),
                "reported_at": beijing_iso(int(v.report_us[vi])),
                "station_code": station.code,
                "officer": station.officers[int(rng.integers(0, len(station.officers)))],
                "typology": typ,
                "narrative": report_narrative(wording, Typology(typ)).text,
                "transfers": transfers,
                "suspects": suspects[int(v.campaign[vi])],
            }
        )
    return reports


def report_victim_index(plan: FraudPlan) -> np.ndarray:
    """Victim index of each report, in the order `build_reports` writes them."""
    reporting = np.flatnonzero(plan.victims.reports)
    return reporting[np.argsort(plan.victims.report_us[reporting], kind="stable")]


def reports_jsonl(reports: Iterable[dict[str, Any]]) -> str:
    """Reports as JSON Lines, one object per line, UTF-8 without escapes."""
    return "".join(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n" for r in reports)


def reports_csv(reports: Iterable[dict[str, Any]]) -> str:
    """Reports as CSV, one row per transfer; the suspects ride on the first row of each report."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_HEADER)
    for r in reports:
        for j, t in enumerate(r["transfers"]):
            suspects = ";".join(f"{s['kind']}:{s['value']}" for s in r["suspects"]) if j == 0 else ""
            w.writerow(
                [r["external_ref"], r["victim"]["name"], r["victim"]["national_id"], r["victim"]["phone"],
                 r["fraud_started_at"], r["reported_at"], r["station_code"], r["officer"], r["typology"],
                 r["narrative"], t["occurred_at"], t["amount_fen"], t["payer_card"], t["payer_bank"],
                 t["payee_account"], t["payee_bank"], t["channel"], suspects]
            )  # fmt: skip
    return buf.getvalue()


def _instant(value: Any, field: str) -> datetime:
    if not isinstance(value, str):
        raise Invalid("a time is an ISO 8601 string", field=field)
    try:
        t = datetime.fromisoformat(value)
    except ValueError as exc:
        raise Invalid(f"not an ISO 8601 time: {value!r}", field=field) from exc
    if t.tzinfo is None:
        raise Invalid("a time needs its UTC offset", field=field)
    return t


def validate_report(obj: Any, station_codes: set[str]) -> None:
    """Raise Invalid, naming the field, where a report object breaks docs/reports.md."""
    if not isinstance(obj, dict):
        raise Invalid("a report is a JSON object")
    ref = obj.get("external_ref")
    if not isinstance(ref, str) or not ref:
        raise Invalid("external_ref is required", field="external_ref")
    victim = obj.get("victim")
    if not isinstance(victim, dict):
        raise Invalid("victim is an object", field="victim")
    normalize_name(str(victim.get("name", "")), field="victim.name")
    normalize_national_id(str(victim.get("national_id", "")), field="victim.national_id")
    normalize_phone(str(victim.get("phone", "")), field="victim.phone")
    started = _instant(obj.get("fraud_started_at"), "fraud_started_at")
    reported = _instant(obj.get("reported_at"), "reported_at")
    if reported < started:
        raise Invalid("reported_at is before fraud_started_at", field="reported_at")
    if obj.get("station_code") not in station_codes:
        raise Invalid(f"unknown station {obj.get('station_code')!r}", field="station_code")
    if not isinstance(obj.get("officer"), str) or not obj["officer"]:
        raise Invalid("officer is required", field="officer")
    if obj.get("typology") not in REPORT_TYPOLOGIES:
        raise Invalid(f"unknown typology {obj.get('typology')!r}", field="typology")
    transfers = obj.get("transfers")
    if not isinstance(transfers, list) or not transfers:
        raise Invalid("a report has at least one transfer", field="transfers")
    for j, t in enumerate(transfers):
        where = f"transfers[{j}]"
        if not isinstance(t, dict):
            raise Invalid("a transfer is an object", field=where)
        if _instant(t.get("occurred_at"), f"{where}.occurred_at") < started:
            raise Invalid("occurred_at is before fraud_started_at", field=f"{where}.occurred_at")
        amount = t.get("amount_fen")
        if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
            raise Invalid("amount_fen is a positive integer", field=f"{where}.amount_fen")
        normalize_card(str(t.get("payer_card", "")), field=f"{where}.payer_card")
        normalize_card(str(t.get("payee_account", "")), field=f"{where}.payee_account")
        check_bank(str(t.get("payer_bank", "")), field=f"{where}.payer_bank")
        check_bank(str(t.get("payee_bank", "")), field=f"{where}.payee_bank")
        if t.get("channel") not in REPORT_CHANNELS:
            raise Invalid(f"unknown channel {t.get('channel')!r}", field=f"{where}.channel")
    for j, s in enumerate(obj.get("suspects") or []):
        if not isinstance(s, dict) or s.get("kind") not in SUSPECT_KINDS or not s.get("value"):
            raise Invalid("a suspect has a known kind and a value", field=f"suspects[{j}]")
