"""Accidents on the district's road graph from a KNOWN safety performance function, with planted true
black spots and countermeasures of known effect, so that a ranking and an effect estimate can be
scored against the truth (`bench/traffic.py`).

Per segment: an AADT drawn around its class's mean (lognormal, σ 0.35); the true SPF
μ = exp(β0[class]) · AADT^0.8 · length_km per year; a site effect γ ~ Gamma(1/k, k) with k = 0.5
(what makes real counts overdispersed); and, on `planted` segments of the arterial classes (primary,
secondary), a multiplier of 3 to 6: the true black spots. Each year's count is Poisson(μ·γ·m·trend^y).
A crash is killed-or-seriously-injured (KSI) with probability 0.12 (0.3 on a planted spot).

Countermeasures: after the `years` before, the `treated` segments with the most accidents, as a
brigade picks them (which is what makes a naive before/after biased: regression to the mean), get a
treatment of true effect `theta` (after/expected) for `years_after` more years; every segment follows
the district trend (`trend` a year).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from pingan.command.roads import Roads
from pingan.core import db
from pingan.core.roles import Actor
from pingan.traffic import actions, queries
from pingan.traffic.choices import CollisionType, Injury, Lighting, PersonRole, VehicleKind, Weather
from pingan.traffic.schemas import AccidentIn, PersonIn, VehicleIn

TRUE_B0 = {"primary": -6.6, "secondary": -6.8, "residential": -7.0}
TRUE_B_AADT = 0.8
TRUE_K = 0.5
CLASS_AADT = {"primary": 20_000.0, "secondary": 8_000.0, "residential": 1_500.0}
PLANTED_CLASSES = ("primary", "secondary")
KSI_SHARE, KSI_SHARE_SPOT = 0.12, 0.3


@dataclass(frozen=True)
class AccidentHistory:
    """Simulated counts: `before[y, i]` accidents on segment i in before-year y, `after` likewise."""

    road_class: np.ndarray
    length_m: np.ndarray
    aadt: np.ndarray
    true_mu: np.ndarray  # per year, by the true SPF, without the site effect
    planted: np.ndarray  # indices of the true black spots
    before: np.ndarray
    before_ksi: np.ndarray
    treated: np.ndarray  # indices of the treated segments
    after: np.ndarray
    theta: float
    trend: float


def simulate_accidents(
    roads: Roads,
    seed: int,
    *,
    years: int = 3,
    planted: int = 50,
    treated: int = 40,
    years_after: int = 2,
    theta: float = 0.7,
    trend: float = 0.97,
) -> AccidentHistory:
    """Accident counts per segment and year on `roads` (see module), deterministic from `seed`."""
    rng = np.random.default_rng(seed)
    cls = np.array(roads.road_class)
    n = cls.size
    mean_aadt = np.array([CLASS_AADT.get(c, 1_500.0) for c in cls])
    aadt = np.round(mean_aadt * rng.lognormal(0.0, 0.35, n))
    b0 = np.array([TRUE_B0.get(c, TRUE_B0["residential"]) for c in cls])
    length_km = np.maximum(roads.length_m, 1.0) / 1000.0
    mu = np.exp(b0) * aadt**TRUE_B_AADT * length_km
    gamma = rng.gamma(1.0 / TRUE_K, TRUE_K, n)
    candidates = np.flatnonzero(np.isin(cls, PLANTED_CLASSES))
    spots = np.sort(rng.choice(candidates, size=min(planted, candidates.size), replace=False))
    mult = np.ones(n)
    mult[spots] = rng.uniform(3.0, 6.0, spots.size)
    lam = mu * gamma * mult
    before = np.stack([rng.poisson(lam * trend**y) for y in range(years)])
    ksi_p = np.where(mult > 1, KSI_SHARE_SPOT, KSI_SHARE)
    before_ksi = rng.binomial(before, ksi_p)
    total = before.sum(axis=0)
    # The brigade treats its worst sites by raw count (ties broken by the seed).
    order = np.lexsort((rng.random(n), -total))
    chosen = np.sort(order[:treated])
    effect = np.ones(n)
    effect[chosen] = theta
    after = np.stack([rng.poisson(lam * effect * trend ** (years + y)) for y in range(years_after)])
    return AccidentHistory(
        road_class=cls,
        length_m=roads.length_m.copy(),
        aadt=aadt,
        true_mu=mu,
        planted=spots,
        before=before,
        before_ksi=before_ksi,
        treated=chosen,
        after=after,
        theta=theta,
        trend=trend,
    )


# -------------------------------------------------------------------------------- the demo's accidents
# The demo's traffic year: the simulator's accidents (`sim.accidents`, a known safety performance
# function with planted black spots) on the stored road graph, written through the accident write path,
# so that the brigade's list, black spots, map and monthly report have substance.
#
# Each simulated crash of the last `years` gets a point along its segment, a time (more by day and at the
# rush hours), a manner of collision and its casualties: a killed-or-seriously-injured crash (the
# simulator's KSI count) has a death one time in five, else a serious injury; the others a slight injury
# or none. `share` keeps that share of the crashes, drawn alike on every segment: a thinned Poisson count
# is still Poisson, so the black spots stand out as they do in the full simulation.
#
# The brigade's work on them: the scene is investigated 15-90 minutes after the crash, and the finding
# (事故认定) issued 1 to 9.5 days later, within the 10 days the rule allows; one in thirty-three
# (`FINDING_LATE_SHARE`, an assumption) is late, 10.5 to 20 days after. A finding whose day has not
# come by `now` is not issued yet: the recent accidents' clocks run, and a few are overdue. These
# times are drawn from a generator of their own, so the crashes are those of the seed without them.
FINDING_LATE_SHARE = 0.03

# The hour of a crash: few at night, peaks at the morning and evening rush (an assumption, shaped as
# urban crash counts by hour usually are).
_HOUR_WEIGHT = np.array([1, 1, 1, 1, 1, 2, 4, 8, 10, 7, 6, 6, 6, 6, 6, 7, 8, 10, 9, 6, 4, 3, 2, 1], float)
_COLLISIONS = list(CollisionType)
_COLLISION_WEIGHT = np.array([0.30, 0.06, 0.25, 0.12, 0.12, 0.10, 0.05])  # in CollisionType's order
_WEATHER = [Weather.FINE, Weather.RAIN, Weather.FOG]
_WEATHER_WEIGHT = np.array([0.78, 0.19, 0.03])


def seed(
    roads: Roads,
    *,
    now: datetime,
    years: int = 1,
    share: float = 0.3,
    sim_seed: int = 2026,
    actor: Actor | None = None,
) -> int:
    """Write the simulated accidents of the `years` before `now`, unless any accident is recorded;
    returns how many were written."""
    with db.transaction() as session:
        if queries.has_accidents(session):
            return 0
    history = simulate_accidents(roads, sim_seed, years=years, years_after=1)
    rng = np.random.default_rng(sim_seed)
    work = np.random.default_rng([sim_seed, 1])  # the findings' times
    by = actor or Actor.system("import")
    node = {int(n): k for k, n in enumerate(roads.node_id)}
    written = 0
    for y in range(years):
        counts = rng.binomial(history.before[y], share)
        # The kept crashes' KSI: drawn from the segment's own, without replacement.
        ksi = rng.hypergeometric(history.before_ksi[y], history.before[y] - history.before_ksi[y], counts)
        start = now - timedelta(days=365 * (years - y))
        batch: list[AccidentIn] = []
        for edge in np.flatnonzero(counts):
            a, b = node[int(roads.source[edge])], node[int(roads.target[edge])]
            for k in range(int(counts[edge])):
                accident = _accident(rng, roads, a, b, start, serious=k < ksi[edge])
                batch.append(_with_finding(work, accident, now))
        batch.sort(key=lambda x: x.occurred_at)
        written += _write(batch, by)
    return written


def _accident(
    rng: np.random.Generator, roads: Roads, a: int, b: int, start: datetime, *, serious: bool
) -> AccidentIn:
    t = float(rng.uniform(0.05, 0.95))  # inside the segment, so that it snaps to it and no neighbour
    day = int(rng.integers(0, 365))
    local_hour = int(rng.choice(24, p=_HOUR_WEIGHT / _HOUR_WEIGHT.sum()))  # Beijing time
    at = start + timedelta(days=day, hours=local_hour - 8, minutes=int(rng.integers(0, 60)))
    collision = _COLLISIONS[int(rng.choice(len(_COLLISIONS), p=_COLLISION_WEIGHT))]
    injury: Injury | None = None  # property damage only
    if serious:
        injury = Injury.KILLED if rng.random() < 0.2 else Injury.SERIOUS
    elif rng.random() < 0.6:
        injury = Injury.SLIGHT
    vehicles = [VehicleIn(kind=VehicleKind.CAR), VehicleIn(kind=VehicleKind.EBIKE)]
    people = [PersonIn(role=PersonRole.DRIVER, injury=Injury.UNINJURED, vehicle_no=1)]
    if collision is CollisionType.PEDESTRIAN:
        vehicles = vehicles[:1]
        people.append(PersonIn(role=PersonRole.PEDESTRIAN, injury=injury or Injury.UNINJURED))
    else:
        people.append(PersonIn(role=PersonRole.DRIVER, injury=injury or Injury.UNINJURED, vehicle_no=2))
    return AccidentIn(
        occurred_at=at,
        lat=float(roads.lat[a] + t * (roads.lat[b] - roads.lat[a])),
        lon=float(roads.lon[a] + t * (roads.lon[b] - roads.lon[a])),
        collision=collision,
        weather=_WEATHER[int(rng.choice(len(_WEATHER), p=_WEATHER_WEIGHT))],
        lighting=Lighting.DAYLIGHT if 7 <= local_hour < 19 else Lighting.DARK_LIT,
        vehicles=vehicles,
        people=people,
        scene_investigated_at=at + timedelta(minutes=int(rng.integers(15, 90))),
    )


def _with_finding(rng: np.random.Generator, accident: AccidentIn, now: datetime) -> AccidentIn:
    """The accident with its finding's time, where that time has come by `now`."""
    assert accident.scene_investigated_at is not None
    late = rng.random() < FINDING_LATE_SHARE
    days = float(rng.uniform(10.5, 20.0) if late else rng.uniform(1.0, 9.5))
    issued = accident.scene_investigated_at + timedelta(days=days)
    return accident.model_copy(update={"finding_issued_at": issued}) if issued <= now else accident


def _write(batch: list[AccidentIn], actor: Actor, size: int = 500) -> int:
    """Write through the accident write path, `size` accidents a transaction."""
    with db.transaction() as session:
        snapper = actions.Snapper.load(session)  # the road graph, read once
    for k in range(0, len(batch), size):
        with db.transaction() as session:
            for accident in batch[k : k + size]:
                item = actions.NewAccident(accident, actor)
                checked = actions.check_record_accident(session, item)
                actions.do_record_accident(session, item, checked, snapper=snapper)
    return len(batch)
