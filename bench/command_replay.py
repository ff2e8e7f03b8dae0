"""Benchmark of the live map under a replayed busy day: event → on the map. Prints one JSON object.

- **The day:** `pingan.sim.incidents.generate_calls` for one day, its rate set so that the day holds
  `--incidents` calls (10,000 by default; every call is a row of `incident`, whatever its disposition).
  `--hours H` replays the busiest H consecutive hours of that day (by calls, Beijing time) instead of
  all 24: a whole day at ×100 takes 14.4 minutes of wall time. The JSON says which was replayed.
- **The replay:** `pingan.sim.replay.replay` at `--speed` (×100), the calls' times shifted to now,
  each step in its own transaction through the command actions: the call, sign-off, the assignment
  of the nearest free unit of the station, acknowledge, depart, a GPS fix half-way, arrive (a fix at
  the call's point) and clear. A command centre has many writers (call-takers, units); one
  single-threaded replay on a loaded machine cannot write a step every 10 ms, so the stations are
  dealt among `--writers` processes (4), which replay their stations' calls on one clock
  (`replay(start_at=…)`). Each station has `--units-per-station` units. How far the writers fell
  behind their schedule is reported (`replay_behind_*`): the figure is only "at ×100" if that is small.
- **The server:** the whole app under uvicorn, a separate process, on a free port.
- **The figure:** a dispatcher's live stream `GET /live/stream?topics=map`, read by a third process
  (httpx, streaming) that stamps each `map` event on arrival. For every audit entry the map topic
  watches (`incident.take_call`, `incident.sign_off`, `unit.move`, `unit.position`), the latency is
  from the entry's own time (`audit_entry.at`, taken inside its transaction, so a little before the
  commit: the figure is an upper bound of commit → arrival) to the arrival of the first `map` event
  whose id reaches the entry's id and that names its incident or unit. p50 / p99 / max in ms;
  `backlog` is the watched entries no event had delivered `--drain-s` seconds after the replay's end.
- **Baseline, same run:** a page without the stream, polling the map's two GeoJSON sources
  (`/command/map/incidents.geojson` and `/units.geojson`, 24 h window) every `--poll-s` seconds (5 s),
  as the page would have to without server-sent events, by a fourth process. A change is on that
  page when the first poll that started after it was written has finished: latency = that poll's
  end − the entry's time. Both run at once, against the same server, so each carries the other's load:
  the polling page's reads of the day's GeoJSON (every incident of the last 24 h) cost the server
  seconds each late in the day, and they slow the stream too. `--poll-s 0` runs without that page
  (and without a baseline), to measure the stream alone.

Measured on the machine it runs on: wall clock, all processes sharing its cores.

    .venv/bin/python bench/command_replay.py --hours 2
    .venv/bin/python bench/command_replay.py            # the whole day: about 15 minutes
"""

from __future__ import annotations

import argparse
import bisect
import json
import multiprocessing as mp
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

REPO = Path(__file__).resolve().parent.parent
PG_ADMIN = os.environ.get("PINGAN_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
WATCHED = ("incident.take_call", "incident.sign_off", "unit.move", "unit.position")
DAY = date(2026, 6, 12)  # a Friday in summer: a busy weekday, summer categories up

# The stream reader: one line per `map` event, "arrival time <TAB> event id <TAB> data".
SSE_CLIENT = r"""
import sys, time, httpx
url, token, out = sys.argv[1], sys.argv[2], sys.argv[3]
headers = {"Authorization": f"Bearer {token}", "Accept": "text/event-stream"}
with open(out, "w", buffering=1) as f, httpx.Client(timeout=httpx.Timeout(10.0, read=None)) as c:
    with c.stream("GET", url + "/live/stream", params={"topics": "map"}, headers=headers) as r:
        print("status", r.status_code, file=sys.stderr, flush=True)
        name, data, eid = "message", [], ""
        for line in r.iter_lines():
            if line == "":
                if name == "map" and data:
                    f.write(f"{time.time()}\t{eid}\t{''.join(data)}\n")
                name, data, eid = "message", [], ""
            elif line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].strip())
            elif line.startswith("id:"):
                eid = line[3:].strip()
"""

# The polling page: "start <TAB> end <TAB> status" per poll of both sources.
POLLER = r"""
import sys, time, httpx
url, token, out, every = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
headers = {"Authorization": f"Bearer {token}"}
with open(out, "w", buffering=1) as f, httpx.Client(timeout=60.0) as c:
    nxt = time.time()
    while True:
        t0 = time.time()
        a = c.get(url + "/command/map/incidents.geojson", params={"window": "24"}, headers=headers)
        b = c.get(url + "/command/map/units.geojson", headers=headers)
        f.write(f"{t0}\t{time.time()}\t{a.status_code},{b.status_code}\t{len(a.content)}\n")
        nxt += every
        time.sleep(max(0.0, nxt - time.time()))
"""


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.array(values), q)) if values else float("nan")


def make_database(kind: str, tmp: Path) -> tuple[str, Any]:
    if kind == "sqlite":
        return f"sqlite:///{tmp / 'bench.db'}", None
    name = f"pingan_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return make_url(PG_ADMIN).set(database=name).render_as_string(hide_password=False), drop


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def busiest_window(items: list[Any], hours: int) -> list[Any]:
    """The calls of the `hours` consecutive hours (Beijing time) holding the most calls."""
    if hours >= 24:
        return items
    per_hour = Counter((c.received_at + timedelta(hours=8)).hour for c in items)
    best = max(range(24 - hours + 1), key=lambda h: sum(per_hour[h + k] for k in range(hours)))
    return [c for c in items if best <= (c.received_at + timedelta(hours=8)).hour < best + hours]


def writer(url: str, part: list[Any], speed: float, shift_to: Any, start_at: Any, wall_start: float,
           results: Any) -> None:  # fmt: skip
    """One writer process: replays its part of the calls on the common clock, puts its figures."""
    from pingan.core import db
    from pingan.sim.replay import replay

    db.configure(url)
    time.sleep(max(0.0, wall_start - time.time()))
    t = time.perf_counter()
    stats = replay(part, speed=speed, shift_to=shift_to, start_at=start_at)
    results.put(
        {
            "wall_s": time.perf_counter() - t,
            "steps_behind_1s": stats.behind_1s,
            "behind_max_s": stats.behind_max_s,
            "moves": stats.moves,
            "fixes": stats.fixes,
            "waits": stats.waits,
            "gave_up": stats.gave_up,
            "calls": stats.calls,
        }
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", choices=["sqlite", "postgres"], default="postgres")
    ap.add_argument("--incidents", type=int, default=10_000, help="calls in the day")
    ap.add_argument("--hours", type=int, default=24, help="replay the busiest H hours of the day")
    ap.add_argument("--speed", type=float, default=100.0)
    ap.add_argument("--units-per-station", type=int, default=40)
    ap.add_argument(
        "--poll-s", type=float, default=5.0, help="the baseline page's poll interval; 0: no polling page"
    )
    ap.add_argument("--drain-s", type=float, default=10.0)
    ap.add_argument("--writers", type=int, default=4, help="replay processes, the stations dealt among them")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="pingan-bench-replay-"))
    url, drop = make_database(args.db, tmp)
    os.environ["PINGAN_DATABASE_URL"] = url
    # The stream ends when its login does (30 min by default), and a whole day at ×100 on a loaded
    # machine takes longer: the reader's token lasts 4 hours.
    os.environ["PINGAN_TOKEN_TTL_MINUTES"] = str(4 * 60)
    sys.path.insert(0, str(REPO))
    from pingan.command import actions
    from pingan.command.choices import UnitKind
    from pingan.command.schemas import UnitIn
    from pingan.core import clock, db
    from pingan.core.audit import AuditEntry
    from pingan.core.auth import do_add_user, issue_token
    from pingan.core.migrate import upgrade
    from pingan.core.org import do_upsert_station
    from pingan.core.roles import Actor, Role
    from pingan.sim.geography import district_stations
    from pingan.sim.incidents import IncidentParams, generate_calls

    procs: list[subprocess.Popen[bytes]] = []
    try:
        upgrade(url)
        db.configure(url)
        system = Actor.system("bench")
        kinds = (UnitKind.PATROL_CAR, UnitKind.PATROL_CAR, UnitKind.EBIKE_PATROL, UnitKind.FOOT_PATROL)
        with db.transaction() as s:
            for st in district_stations():
                area = json.dumps({"type": "Polygon", "coordinates": st.polygon()})
                do_upsert_station(
                    s, code=st.code, name=st.name, lat=st.lat, lon=st.lon, area_geojson=area, actor=system
                )
            s.flush()
            for st in district_stations():
                for k in range(args.units_per_station):
                    body = UnitIn(call_sign=f"{st.code}-{k + 1:02d}", station_code=st.code, kind=kinds[k % 4])
                    unit = actions.do_add_unit(s, body, system)
                    unit.lat, unit.lon, unit.fix_at = st.lat, st.lon, clock.now()
            user = do_add_user(
                s,
                username="bench_dispatcher",
                role=Role.DISPATCHER,
                password=secrets.token_urlsafe(16),
                actor=system,
            )
            token = issue_token(user)

        # The day: its rate set so that it holds `--incidents` calls.
        def day_calls(per_day: float) -> list[Any]:
            return list(
                generate_calls(IncidentParams(seed=args.seed, start=DAY, until=DAY, calls_per_day=per_day))
            )

        t0 = time.perf_counter()
        first = day_calls(float(args.incidents))
        items = day_calls(args.incidents * args.incidents / max(1, len(first)))
        day_total = len(items)
        items = busiest_window(items, args.hours)
        generate_s = time.perf_counter() - t0
        kinds_count = Counter(c.kind for c in items)

        # The server, the stream reader and the polling page: three processes.
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        env = {**os.environ, "PINGAN_DATABASE_URL": url}
        py = sys.executable
        procs.append(
            subprocess.Popen(
                [py, "-m", "uvicorn", "--factory", "pingan.web.app:create_app", "--port", str(port),
                 "--log-level", "warning"],
                env=env, cwd=REPO,
            )
        )  # fmt: skip
        import httpx

        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code < 500:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("the server did not start")
            time.sleep(0.3)
        events_path, polls_path = tmp / "events.tsv", tmp / "polls.tsv"
        procs.append(subprocess.Popen([py, "-c", SSE_CLIENT, base, token, str(events_path)], env=env))
        time.sleep(3)  # the stream is open and its hub has found the log's end
        if args.poll_s > 0:
            procs.append(
                subprocess.Popen([py, "-c", POLLER, base, token, str(polls_path), str(args.poll_s)], env=env)
            )

        with db.read_transaction() as s:
            start_id = int(s.execute(text("SELECT coalesce(max(id), 0) FROM audit_entry")).scalar_one())
        # The writers: the stations dealt round, each writer replaying its stations' calls on one
        # clock (the window's first call, shifted to a common start a few seconds from now).
        codes = [st.code for st in district_stations()]
        parts = [
            [c for c in items if codes.index(c.station_code) % args.writers == k] for k in range(args.writers)
        ]
        wall_start = time.time() + 5
        shift_to = clock.now() + timedelta(seconds=5)
        ctx = mp.get_context("spawn")
        results: Any = ctx.Queue()
        workers = [
            ctx.Process(
                target=writer,
                args=(url, part, args.speed, shift_to + (part[0].received_at - items[0].received_at),
                      items[0].received_at, wall_start, results),
            )
            for part in parts
            if part
        ]  # fmt: skip
        for w in workers:
            w.start()
        stats = [results.get() for _ in workers]
        for w in workers:
            w.join()
        replay_s = max(r["wall_s"] for r in stats)
        time.sleep(args.drain_s)
        for p in reversed(procs[1:]):
            p.send_signal(signal.SIGTERM)
            p.wait(10)

        # Each watched entry, with its time: taken inside its transaction, before the commit.
        with db.read_transaction() as s:
            rows = s.execute(
                select(AuditEntry.id, AuditEntry.action, AuditEntry.object_id, AuditEntry.at)
                .where(AuditEntry.id > start_id, AuditEntry.action.in_(WATCHED))
                .order_by(AuditEntry.id)
            ).all()
        entries = [(int(i), a, int(o), at.timestamp()) for i, a, o, at in rows]

        events = []
        for line in events_path.read_text().splitlines():
            at_s, eid_s, data = line.split("\t", 2)
            body = json.loads(data)
            events.append((float(at_s), int(eid_s or 0), set(body["incidents"]), set(body["units"])))
        # Event ids rise with the log, except a late commit's own batch: search from the first event
        # whose running maximum reaches the entry.
        running = list(np.maximum.accumulate([e[1] for e in events])) if events else []
        latencies, undelivered = [], 0
        for eid, action, object_id, written in entries:
            k = bisect.bisect_left(running, eid)
            got = None
            for at, e_id, incs, units in events[k:]:
                named = object_id in (incs if action.startswith("incident.") else units)
                if e_id >= eid and at >= written and named:
                    got = at
                    break
            if got is None:
                undelivered += 1
            else:
                latencies.append((got - written) * 1000)

        polls = []
        for line in polls_path.read_text().splitlines() if polls_path.exists() else []:
            a, b, status, _size = line.split("\t")
            polls.append((float(a), float(b), status))
        bad_polls = sum(1 for p in polls if p[2] != "200,200")
        starts = [p[0] for p in polls]
        poll_lat = []
        for _, _, _, written in entries:
            k = bisect.bisect_left(starts, written)
            if k < len(polls):
                poll_lat.append((polls[k][1] - written) * 1000)
        poll_s = [(b - a) * 1000 for a, b, _ in polls]
        with db.read_transaction() as s:
            audited = Counter(
                dict(
                    s.execute(
                        text("SELECT action, count(*) FROM audit_entry WHERE id > :a GROUP BY action"),
                        {"a": start_id},
                    ).all()
                )
            )
        out = {
            "figure": "live map: commit -> map event received, replay of a busy day at x100 with units moving",
            "db": args.db,
            "day": DAY.isoformat(),
            "calls_in_day": day_total,
            "replayed": "whole day" if args.hours >= 24 else f"busiest {args.hours} h of the day",
            "calls_replayed": len(items),
            "calls_by_kind": dict(kinds_count),
            "speed": args.speed,
            "units": args.units_per_station * 16,
            "generate_s": round(generate_s, 1),
            "replay_wall_s": round(replay_s, 1),
            "replay_schedule_s": round(
                ((items[-1].received_at - items[0].received_at).total_seconds()) / args.speed, 1
            )
            if items
            else 0,
            "writers": len(workers),
            "replay_behind_max_s": round(max(r["behind_max_s"] for r in stats), 2),
            "replay_steps_behind_1s": sum(r["steps_behind_1s"] for r in stats),
            "unit_moves": sum(r["moves"] for r in stats),
            "gps_fixes": sum(r["fixes"] for r in stats),
            "dispatch_waits": sum(r["waits"] for r in stats),
            "dispatch_gave_up": sum(r["gave_up"] for r in stats),
            "watched_entries": len(entries),
            "map_events": len(events),
            "p50_ms": round(pct(latencies, 50), 1),
            "p99_ms": round(pct(latencies, 99), 1),
            "max_ms": round(max(latencies), 1) if latencies else None,
            "target_p99_ms": 1000,
            "backlog": undelivered,
            "baseline": f"a page polling the map's two GeoJSON sources every {args.poll_s:g} s, same run"
            if args.poll_s > 0
            else "none: no polling page in this run (--poll-s 0)",
            "baseline_polls": len(polls),
            "baseline_failed_polls": bad_polls,
            "baseline_poll_ms_p50": round(pct(poll_s, 50), 1),
            "baseline_poll_ms_p99": round(pct(poll_s, 99), 1),
            "baseline_p50_ms": round(pct(poll_lat, 50), 1),
            "baseline_p99_ms": round(pct(poll_lat, 99), 1),
            "ratio_p99": round(pct(poll_lat, 99) / pct(latencies, 99), 1) if latencies and poll_lat else None,
            "audit_entries_by_action": dict(audited),
            "raw_files": str(tmp),  # events.tsv and polls.tsv, kept for a second look
        }
        print(json.dumps(out, indent=1, ensure_ascii=False))
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
        db.get_engine().dispose()
        if drop:
            drop()


if __name__ == "__main__":
    main()
