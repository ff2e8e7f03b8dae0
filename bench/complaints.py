"""Benchmark of complaints: repeat-complaint linking quality, and the bulletin's complaints part.

1. Repeat linking on the simulator's set (`simulate.generate`, --seed, 16 stations): every filing is
   linked, in time order, to the earlier ones that `rules.find_links` marks as a repeat of the same
   matter. Scored per pair (later, earlier) against the simulator's matters (the ground truth: two
   filings of the same matter within the look-back). Baseline, same run: exact-complainant matching
   alone (the same phone or ID number: a pair whenever the complainant is the same). The thresholds
   were chosen on seed 1 (`--tune` prints the grid); the figures are reported on seed 2.
2. The complaints part of the monthly bulletin (`queries.bulletin`) on a SQLite database holding
   --complaints complaints over two years (written by bulk insert, the complainant protected as the
   actions protect it). Baseline, same run: the same figures computed in Python from the month's
   (and the 24 months') complaints loaded as ORM rows.

Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from sqlalchemy import insert, select  # noqa: E402

from pingan.core import db  # noqa: E402
from pingan.core.migrate import upgrade  # noqa: E402
from pingan.core.org import Station  # noqa: E402
from pingan.core.pii import PiiKind, protect  # noqa: E402
from pingan.supervision.complaints import queries, rules  # noqa: E402
from pingan.supervision.complaints.choices import (  # noqa: E402
    CallbackResult,
    ComplaintStatus,
    Finding,
)
from pingan.supervision.complaints.model import Complaint  # noqa: E402
from pingan.supervision.complaints.simulate import District, Filing, generate  # noqa: E402
from pingan.supervision.rules import BEIJING  # noqa: E402

LOAD_AT_START = round(os.getloadavg()[0], 2)
START = datetime(2024, 12, 1, tzinfo=UTC)
STATIONS = [f"WH-{i:02d}" for i in range(1, 17)]


def district() -> District:
    return District(
        stations=STATIONS,
        officers={s: [f"officer_{s}_{k}" for k in range(6)] for s in STATIONS},
        incidents={s: list(range(1000 * i + 1, 1000 * i + 301)) for i, s in enumerate(STATIONS)},
        cases={s: list(range(100 * i + 1, 100 * i + 41)) for i, s in enumerate(STATIONS)},
    )


def score(filings: list[Filing], matter_sim: float, person_sim: float) -> dict[str, Any]:
    """Pairs predicted by the linker and by exact-complainant matching, against the matters."""
    old = (rules.SAME_MATTER_SIMILARITY, rules.SAME_PERSON_SIMILARITY)
    rules.SAME_MATTER_SIMILARITY, rules.SAME_PERSON_SIMILARITY = matter_sim, person_sim
    try:
        by_phone: dict[str, list[int]] = defaultdict(list)
        by_id: dict[str, list[int]] = defaultdict(list)
        by_subject: dict[tuple[str, str], list[int]] = defaultdict(list)
        by_matter: dict[int, list[int]] = defaultdict(list)
        earlier: list[rules.Earlier] = []
        truth: set[tuple[int, int]] = set()
        linker: set[tuple[int, int]] = set()
        baseline: set[tuple[int, int]] = set()
        t0 = time.perf_counter()
        for i, f in enumerate(filings):
            phone, idn = f.phone or "", f.id_number or ""
            cand = (
                set(by_phone.get(phone, ()))
                | set(by_id.get(idn, ()))
                | set(by_subject.get((f.subject_kind, f.subject_ref), ()))
            )
            within = [
                earlier[j] for j in sorted(cand) if f.received_at - earlier[j].received_at <= rules.LOOKBACK
            ]
            for link in rules.find_links(
                phone, idn, f.subject_kind, f.subject_ref, f.text, f.received_at, within
            ):
                if link.repeat:
                    linker.add((i, link.earlier_id))
            for e in within:
                if rules.same_person(phone, idn, e):
                    baseline.add((i, e.id))
            for j in by_matter[f.matter]:  # the truth: the same matter within the look-back
                if f.received_at - filings[j].received_at <= rules.LOOKBACK:
                    truth.add((i, j))
            by_matter[f.matter].append(i)
            earlier.append(rules.Earlier(i, phone, idn, f.subject_kind, f.subject_ref, f.text, f.received_at))
            if phone:
                by_phone[phone].append(i)
            if idn:
                by_id[idn].append(i)
            by_subject[(f.subject_kind, f.subject_ref)].append(i)
        seconds = time.perf_counter() - t0
    finally:
        rules.SAME_MATTER_SIMILARITY, rules.SAME_PERSON_SIMILARITY = old

    def pr(pred: set[tuple[int, int]]) -> tuple[float, float]:
        hit = len(pred & truth)
        return (hit / len(pred) if pred else 0.0, hit / len(truth) if truth else 0.0)

    p, r = pr(linker)
    bp, br = pr(baseline)
    return {
        "precision": round(p, 4),
        "recall": round(r, 4),
        "baseline_precision": round(bp, 4),
        "baseline_recall": round(br, 4),
        "pairs_true": len(truth),
        "pairs_linked": len(linker),
        "pairs_baseline": len(baseline),
        "linking_seconds": round(seconds, 2),
    }


def _filing_rows(filings: list[Filing]) -> list[dict[str, Any]]:
    """Complaints as the actions would store them: the complainant protected, the handling done."""
    rows = []
    for f in filings:
        phone = protect(PiiKind.PHONE, f.phone) if f.phone else None
        idn = protect(PiiKind.NATIONAL_ID, f.id_number) if f.id_number else None
        name = protect(PiiKind.NAME, f.name)
        accepted = f.received_at + timedelta(days=f.accept_days)
        answered = accepted + timedelta(days=f.answer_days)
        row: dict[str, Any] = {
            "channel": f.channel,
            "external_ref": "",
            "received_at": f.received_at,
            **name.sealed.columns("complainant_name"),
            "complainant_key": (idn or phone).pseudonym if (idn or phone) else "",  # type: ignore[union-attr]
            "subject_kind": f.subject_kind,
            "subject_ref": f.subject_ref,
            "station_code": f.station_code,
            "officer": None,
            "category": f.category,
            "suggested_category": f.category,
            "suggested_confidence": 0.9,
            "text": f.text,
            "status": ComplaintStatus.ANSWERED,
            "is_repeat": False,
            "assigned_station": f.station_code,
            "finding": f.finding,
            "root_cause": f.root_cause,
            "accepted_at": accepted,
            "answered_at": answered,
            "answer": "",
            "callback_result": f.callback,
            "created_by": "bench",
        }
        for prefix, value in (("complainant_phone", phone), ("complainant_id", idn)):
            row.update(
                value.columns(prefix)
                if value
                else {f"{prefix}_pseudonym": None, f"{prefix}_cipher": None, f"{prefix}_masked": None}
            )
        rows.append(row)
    return rows


def naive_bulletin(session: Any, month: str) -> dict[str, Any]:
    """The bulletin's figures in Python from ORM rows: the baseline."""
    start, end = queries.month_bounds(month)
    first, _ = queries.month_bounds(queries._shift(month, -23))
    rows = session.scalars(
        select(Complaint).where(Complaint.received_at >= first, Complaint.received_at < end)
    ).all()
    monthly: dict[str, int] = defaultdict(int)
    causes: dict[str, int] = defaultdict(int)
    subst = found = repeats = received = 0
    station: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for c in rows:
        monthly[c.received_at.astimezone(BEIJING).strftime("%Y-%m")] += 1
        if start <= c.received_at < end:
            received += 1
            repeats += c.is_repeat
            if c.root_cause is not None:
                causes[c.root_cause.value] += 1
            if c.finding is not None:
                found += 1
                subst += c.finding in (Finding.SUBSTANTIATED, Finding.PARTLY)
        if (
            c.answered_at is not None
            and start <= c.answered_at < end
            and c.callback_result not in (None, CallbackResult.UNREACHABLE)
        ):
            s = station[c.station_code]
            s[1] += 1
            s[0] += c.callback_result in (CallbackResult.SATISFIED, CallbackResult.BASICALLY_SATISFIED)
    return {
        "received": received,
        "causes": dict(causes),
        "subst": (subst, found),
        "repeats": repeats,
        "stations": {k: rules.wilson(*v) for k, v in station.items()},
        "monthly": dict(monthly),
    }


def bulletin_timing(n: int, seed: int, repeats: int) -> dict[str, Any]:
    # About 1.03 filings per matter-slot a station-year (0.72 matters of 1.43 filings), over 1.67 years' worth.
    per_station_year = max(1, round(n / (len(STATIONS) * 1.67 * 1.03)))
    filings = generate(seed, district(), start=START, per_station_year=per_station_year)
    while len(filings) < n:
        per_station_year += max(1, per_station_year // 50)
        filings = generate(seed, district(), start=START, per_station_year=per_station_year)
    tmp = Path(tempfile.mkdtemp(prefix="pingan-bench-complaints-"))
    url = f"sqlite:///{tmp / 'bench.db'}"
    upgrade(url)
    db.configure(url)
    t0 = time.perf_counter()
    with db.transaction() as s:
        s.execute(
            insert(Station),
            [{"code": c, "name": c, "lat": 30.6, "lon": 104.0, "area_geojson": None} for c in STATIONS],
        )
        rows = _filing_rows(filings)
        for k in range(0, len(rows), 5000):
            s.execute(insert(Complaint), rows[k : k + 5000])
    load_s = time.perf_counter() - t0
    month = (START + timedelta(days=700)).strftime("%Y-%m")
    best = base = float("inf")
    with db.transaction() as s:
        for _ in range(repeats):
            t = time.perf_counter()
            b = queries.bulletin(s, month)
            best = min(best, time.perf_counter() - t)
            t = time.perf_counter()
            nb = naive_bulletin(s, month)
            base = min(base, time.perf_counter() - t)
        assert nb["received"] == b.received and nb["subst"] == (b.substantiated.successes, b.substantiated.n)
    return {
        "complaints": len(filings),
        "month": month,
        "received_in_month": b.received,
        "load_seconds": round(load_s, 1),
        "bulletin_seconds": round(best, 4),
        "baseline_python_seconds": round(base, 4),
        "ratio": round(base / best, 1) if best else None,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=2)
    ap.add_argument("--per-station-year", type=int, default=150, help="the linking set's size")
    ap.add_argument("--complaints", type=int, default=50_000, help="the bulletin database's size")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--tune", action="store_true", help="print the threshold grid on --seed instead")
    args = ap.parse_args()
    filings = generate(args.seed, district(), start=START, per_station_year=args.per_station_year)
    if args.tune:
        grid = [
            {"matter": m, "person": p, **score(filings, m, p)}
            for m in (0.2, 0.25, 0.3, 0.35, 0.4, 0.5)
            for p in (0.1, 0.15, 0.2, 0.3)
        ]
        print(json.dumps({"seed": args.seed, "filings": len(filings), "grid": grid}, ensure_ascii=False))
        return
    linking = score(filings, rules.SAME_MATTER_SIMILARITY, rules.SAME_PERSON_SIMILARITY)
    bulletin = bulletin_timing(args.complaints, args.seed, args.repeats)
    print(
        json.dumps(
            {
                "figure": "repeat_linking_f1_and_bulletin_seconds",
                "seed": args.seed,
                "tuned_on_seed": 1,
                "filings": len(filings),
                "thresholds": {
                    "same_matter": rules.SAME_MATTER_SIMILARITY,
                    "same_person": rules.SAME_PERSON_SIMILARITY,
                },
                "linking": linking,
                "baseline": "exact_complainant_only",
                "bulletin": bulletin,
                "load_average_at_start": LOAD_AT_START,
            },
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
