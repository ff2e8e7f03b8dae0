"""Pure decisions of traffic safety: the accident's severity and whether it is major, the finding
clock, and where a point lies on the road graph. No I/O; the clock is passed in."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from pingan.traffic.choices import Injury, Severity, SnapFlag

# 道路交通事故处理程序规定 (公安部令第146号, 2017), the article on the finding (we read it as art. 62;
# the number is not verified against the gazette): the finding (事故认定书) is made within 10 days of the
# scene investigation, or, where tests or appraisals were ordered, within 5 days of their results.
FINDING_DAYS = 10
FINDING_AFTER_TESTS_DAYS = 5


def severity_of(injuries: list[Injury]) -> Severity:
    """The accident's severity by its worst casualty (STATS19)."""
    if Injury.KILLED in injuries:
        return Severity.FATAL
    if Injury.SERIOUS in injuries:
        return Severity.SERIOUS
    if Injury.SLIGHT in injuries:
        return Severity.SLIGHT
    return Severity.DAMAGE_ONLY


def is_major(deaths: int, *, threshold: int) -> bool:
    """A major accident (重大事故): `threshold` deaths or more (3 by default, `PINGAN_TRAFFIC_MAJOR_DEATHS`)."""
    return deaths >= threshold


@dataclass(frozen=True)
class FindingClock:
    """Where the accident finding stands: its deadline (None while it cannot start), and why."""

    deadline: datetime | None
    reason: str
    overdue: bool
    done: bool


def finding_clock(
    *,
    scene_investigated_at: datetime | None,
    tests_ordered: bool,
    tests_reported_at: datetime | None,
    finding_issued_at: datetime | None,
    now: datetime,
) -> FindingClock:
    """The finding's deadline: 10 days from the scene investigation, or 5 days from the test results."""
    if tests_ordered:
        if tests_reported_at is None:
            return FindingClock(None, "awaiting_test_results", False, finding_issued_at is not None)
        deadline, reason = tests_reported_at + timedelta(days=FINDING_AFTER_TESTS_DAYS), "5d_after_tests"
    elif scene_investigated_at is None:
        return FindingClock(None, "awaiting_scene_investigation", False, finding_issued_at is not None)
    else:
        deadline, reason = scene_investigated_at + timedelta(days=FINDING_DAYS), "10d_from_scene"
    done = finding_issued_at is not None
    end = finding_issued_at if finding_issued_at is not None else now
    return FindingClock(deadline, reason, end > deadline, done)


@dataclass(frozen=True)
class Snap:
    """Where a point lies on the road graph: the segment's index, the distance in metres, the flag."""

    index: int | None
    distance_m: float | None
    flag: SnapFlag


def snap_points(
    x: np.ndarray, y: np.ndarray, ax: np.ndarray, ay: np.ndarray, bx: np.ndarray, by: np.ndarray,
    *, limit_m: float,
) -> list[Snap]:  # fmt: skip
    """Each point (x, y) against segments a→b, all in metres of one flat projection: the nearest
    segment and the distance to it, or TOO_FAR beyond `limit_m` (the point is never moved)."""
    if ax.size == 0:
        return [Snap(None, None, SnapFlag.NO_GRAPH) for _ in range(x.size)]
    dx, dy = bx - ax, by - ay
    seg2 = np.maximum(dx * dx + dy * dy, 1e-12)
    out = []
    for px, py in zip(x.tolist(), y.tolist(), strict=True):
        t = np.clip(((px - ax) * dx + (py - ay) * dy) / seg2, 0.0, 1.0)
        d = np.hypot(ax + t * dx - px, ay + t * dy - py)
        k = int(np.argmin(d))
        dist = float(d[k])
        if dist > limit_m:
            out.append(Snap(None, round(dist, 1), SnapFlag.TOO_FAR))
        else:
            out.append(Snap(k, round(dist, 1), SnapFlag.SNAPPED))
    return out
