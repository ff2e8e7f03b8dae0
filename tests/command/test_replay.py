"""Replaying generated calls writes every call through the command actions, at the file's times,
with units assigned, moving and clearing."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from pingan.cli import app
from pingan.command.choices import Disposition, IncidentEventKind, IncidentStatus
from pingan.command.model import Incident, IncidentEvent, Unit, UnitStatusLog
from pingan.core import db
from pingan.sim import incidents, replay

PARAMS = incidents.IncidentParams(
    seed=11, start=date(2026, 3, 2), until=date(2026, 3, 2), calls_per_day=150, duplicate_share=0.5
)


def _morning() -> list[incidents.SimCall]:
    """The calls of 08:00 to 09:00 Beijing time: a few minutes' span, so ×1000 takes seconds."""
    calls = list(incidents.generate_calls(PARAMS))
    start = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)  # 08:00 Beijing
    window = [c for c in calls if start <= c.received_at < start + timedelta(hours=1)]
    assert len(window) >= 3
    return window


def test_a_replay_at_x1000_writes_every_call_through_the_actions_at_its_recorded_time(district: None) -> None:
    calls = _morning()
    began = time.monotonic()
    stats = replay.replay(calls, speed=1000)
    took = time.monotonic() - began
    span = (calls[-1].received_at - calls[0].received_at).total_seconds()
    assert took >= span / 1000 * 0.9, "paced at ×1000, not as fast as possible"
    assert stats.calls == len(calls)
    with db.read_transaction() as s:
        for c in calls:
            incident = s.get(Incident, stats.by_seq[c.seq])
            assert incident is not None
            assert incident.received_at == c.received_at
            assert (incident.text, incident.category_code) == (c.text, c.category_code)
            if c.kind == "hoax":
                assert incident.disposition is Disposition.HOAX
            elif c.kind == "duplicate":
                assert incident.disposition in (Disposition.ATTACHED, Disposition.DUPLICATE)
                assert incident.related_incident_id == stats.by_seq[c.duplicate_of or 0]
            else:
                steps = {
                    e.kind: e.at
                    for e in s.execute(
                        select(IncidentEvent).where(IncidentEvent.incident_id == incident.id)
                    ).scalars()
                }
                signed = c.received_at + timedelta(seconds=c.sign_off_s)
                assert steps[IncidentEventKind.SIGNED_OFF] == signed
                assert steps[IncidentEventKind.DISPATCHED] >= signed + timedelta(seconds=c.dispatch_s)
                dispatched = steps[IncidentEventKind.DISPATCHED]
                assert steps[IncidentEventKind.ON_SCENE] == dispatched + timedelta(seconds=25 + c.travel_s)
                assert incident.status is IncidentStatus.CLOSED
        logs = (
            s.execute(
                select(UnitStatusLog).where(UnitStatusLog.actor == "replay", UnitStatusLog.move.is_not(None))
            )
            .scalars()
            .all()
        )
        assert len(logs) == stats.moves
        # Every unit came back and stands where its last call was.
        units = s.execute(select(Unit).where(Unit.fix_at.is_not(None))).scalars().all()
        assert units and all(u.incident_id is None for u in units)
        points = {(c.lat, c.lon) for c in calls}
        assert any((u.lat, u.lon) in points for u in units)


def test_replay_shifted_to_now_keeps_the_gaps_between_calls(district: None) -> None:
    calls = _morning()[:3]
    shift_to = calls[0].received_at + timedelta(days=400)
    stats = replay.replay(calls, speed=1000, shift_to=shift_to)
    with db.read_transaction() as s:
        got = [s.get(Incident, stats.by_seq[c.seq]) for c in calls]
        assert [i.received_at for i in got if i] == [c.received_at + timedelta(days=400) for c in calls]


def test_the_replay_command_plays_a_file_and_refuses_a_bad_speed(district: None, tmp_path: Path) -> None:
    calls = _morning()[:4]
    path = tmp_path / "calls.jsonl"
    path.write_text("".join(c.to_json() + "\n" for c in calls), encoding="utf-8")
    ok = CliRunner().invoke(app, ["command", "replay", str(path), "--speed", "1000", "--as-recorded"])
    assert ok.exit_code == 0, ok.output
    assert "4 calls:" in ok.output
    with db.read_transaction() as s:
        times = sorted(t for (t,) in s.execute(select(Incident.received_at)))
    assert times == [c.received_at for c in calls]
    bad = CliRunner().invoke(app, ["command", "replay", str(path), "--speed", "0"])
    assert bad.exit_code != 0 and "--speed" in bad.output


def test_attached_duplicate_and_hoax_calls_are_stamped_with_the_simulated_time(district: None) -> None:
    # The day is long past: a call closed as it is taken must close at its recorded time, not at the
    # moment the replay wrote it (which is today).
    day = list(incidents.generate_calls(PARAMS))
    hoax = next(c for c in day if c.kind == "hoax")
    dup = next(c for c in day if c.kind == "duplicate")
    original = next(c for c in day if c.seq == dup.duplicate_of)
    stats = replay.replay(
        sorted({hoax, dup, original}, key=lambda c: c.seq), speed=1e9, sleep=lambda _s: None
    )
    # The duplicate comes minutes after its incident, which is still open: it is attached.
    assert (stats.hoaxes, stats.attached) == (1, 1)
    with db.read_transaction() as s:
        for c in (hoax, dup):
            incident = s.get(Incident, stats.by_seq[c.seq])
            assert incident is not None
            assert incident.closed_at == c.received_at
            closed = [e.at for e in incident.events if e.kind is IncidentEventKind.CLOSED]
            assert closed == [c.received_at]
        related = s.get(Incident, stats.by_seq[original.seq])
        assert related is not None
        attached = [e.at for e in related.events if e.kind is IncidentEventKind.CALL_ATTACHED]
        assert attached == [dup.received_at]
        # Nothing of that day carries today's date.
        assert all(e.at.date() <= original.received_at.date() + timedelta(days=1) for e in related.events)


def test_a_replay_keeps_a_given_start_and_counts_how_far_behind_it_ran(district: None) -> None:
    calls = _morning()[:2]
    slept: list[float] = []
    wall = iter([0.0] + [5.0] * 1000)  # the clock jumps 5 s after the start: every step is late
    start = calls[0].received_at - timedelta(seconds=100)
    stats = replay.replay(calls, speed=1000, start_at=start, sleep=slept.append, monotonic=lambda: next(wall))
    assert stats.calls == 2
    assert slept == []  # 100 s of the file at ×1000 is 0.1 s: due before the clock's 5 s
    first_due = (calls[0].received_at - start).total_seconds() / 1000
    assert stats.behind_max_s >= 5.0 - first_due - 1e-9 and stats.behind_1s > 0
    # Without the jump, the first call waits for its place on the clock that began at `start`.
    slept.clear()
    replay.replay(calls[:1], speed=1000, start_at=start, sleep=slept.append, monotonic=lambda: 0.0)
    assert slept and abs(slept[0] - first_due) < 1e-9


def test_a_start_after_the_first_call_is_refused(district: None) -> None:
    calls = _morning()[:1]
    with pytest.raises(ValueError, match="start_at"):
        replay.replay(calls, speed=10, start_at=calls[0].received_at + timedelta(seconds=1))
