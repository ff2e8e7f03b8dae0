"""Pure decisions of 110 call-backs: which closed incidents a week's sample takes, and the figures.

- **The sample.** Each week the closed incidents a call-back can reach are sampled per station at the
  stated rate, with a seeded generator: the same week, rate, seed and population give the same
  sample on any machine, and nobody picks the calls by hand. Stratifying by station gives every
  station a sample of its own, which its satisfaction score needs.
- **The figures.** The call-back rate (call-backs made among the closed incidents that could be
  reached), the reach rate (callers reached among call-backs made) and the satisfaction (satisfied
  among callers reached), each a count with its base; the satisfaction comes with its 95% Wilson
  interval, as the complaints' satisfaction does, never as a bare percentage.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from pingan.supervision.callbacks.choices import CallbackOutcome
from pingan.supervision.complaints.rules import Share, wilson
from pingan.supervision.rules import BEIJING

# The bureau's stated rate: one closed incident in ten is called back. 110 feedback rules ask for a
# call-back "after an incident" without a rate; a tenth keeps a week's call-backs within what the
# command centre's call-back desk can make, and a station's monthly sample near 30 callers or more.
DEFAULT_RATE = 0.10
DEFAULT_SEED = 110


def week_bounds(week_start: date) -> tuple[datetime, datetime]:
    """The week's UTC instants: Monday 00:00 to the next Monday 00:00, Beijing time."""
    start = datetime.combine(week_start, time(0), tzinfo=BEIJING)
    return start.astimezone(UTC), (start + timedelta(days=7)).astimezone(UTC)


def sample_size(population: int, rate: float) -> int:
    """How many of a station's `population` closed incidents are called back: the rate, rounded up,
    so that a station with any closed incident has at least one call-back."""
    return min(population, max(1, math.ceil(population * rate - 1e-9))) if population else 0


def draw_sample(
    closed: Mapping[str, Sequence[int]], *, week_start: date, rate: float, seed: int
) -> dict[str, list[int]]:
    """Per station, the incident ids called back: `sample_size` of them, drawn without replacement by
    a generator seeded with the seed, the week and the station (a string seed hashes the same on every
    machine and Python run). The ids are sorted first, so the order they were read in does not matter."""
    out: dict[str, list[int]] = {}
    for station in sorted(closed):
        ids = sorted(set(closed[station]))
        k = sample_size(len(ids), rate)
        if k:
            rng = random.Random(f"{seed}:{week_start.isoformat()}:{station}")  # noqa: S311 - reproducible by design, not secret
            out[station] = sorted(rng.sample(ids, k))
    return out


@dataclass(frozen=True)
class Figures:
    """The call-back figures of a set of call-back tasks and the closed incidents they were drawn from."""

    eligible: int  # closed incidents a call-back could reach, in the weeks drawn
    drawn: int
    called: int  # outcome recorded
    reached: int
    satisfied: int

    @property
    def callback_rate(self) -> Share:
        """Call-backs made among the closed incidents a call-back could reach."""
        return wilson(self.called, self.eligible)

    @property
    def reach_rate(self) -> Share:
        """Callers reached among the call-backs made."""
        return wilson(self.reached, self.called)

    @property
    def satisfaction(self) -> Share:
        """Satisfied callers among those reached, with the 95% Wilson interval."""
        return wilson(self.satisfied, self.reached)


def figures(eligible: int, drawn: int, outcomes: Sequence[CallbackOutcome | None]) -> Figures:
    """The figures of `outcomes` (one per task drawn; None: not called yet)."""
    called = [o for o in outcomes if o is not None]
    reached = [o for o in called if o is not CallbackOutcome.NOT_REACHED]
    return Figures(
        eligible=eligible,
        drawn=drawn,
        called=len(called),
        reached=len(reached),
        satisfied=sum(1 for o in reached if o is CallbackOutcome.SATISFIED),
    )
