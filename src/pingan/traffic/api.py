"""Traffic safety over HTTP: accidents, countermeasures, black spots and their EB figures."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from pingan.core import audit, clock
from pingan.core.auth import require_roles
from pingan.core.deps import MAX_ROW_ID, DbSession
from pingan.core.errors import NotFound
from pingan.core.roles import Actor
from pingan.core.scoping import record_list_read
from pingan.traffic import actions, queries, safety
from pingan.traffic.choices import CountermeasureKind
from pingan.traffic.model import Accident, Campaign
from pingan.traffic.schemas import (
    AccidentIn,
    AccidentOut,
    BlackSpotOut,
    CampaignFiguresOut,
    CampaignIn,
    CampaignOut,
    CountermeasureIn,
    CountermeasureOut,
    EffectOut,
    EnforcementIn,
    EnforcementOut,
    FindingClockOut,
    HotSpotOut,
    PatrolPlanOut,
    PersonOut,
    RacingOut,
    RacingReportIn,
    RacingReportOut,
    VehicleOut,
    ViolationIn,
    ViolationOut,
)

router = APIRouter(prefix="/api/v1/traffic", tags=["traffic"])
Reader = Annotated[Actor, Depends(require_roles(*actions.READERS))]
Recorder = Annotated[Actor, Depends(require_roles(*actions.RECORDERS))]
ReportTaker = Annotated[Actor, Depends(require_roles(*actions.REPORT_TAKERS))]
CampaignId = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]
AccidentId = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]


def accident_out(a: Accident, *, now: datetime) -> AccidentOut:
    """The accident as the API shows it: plates masked."""
    c = queries.clock_of(a, now=now)
    return AccidentOut(
        id=a.id,
        occurred_at=a.occurred_at,
        lat=a.lat,
        lon=a.lon,
        address=a.address,
        edge_id=a.edge_id,
        snap_m=a.snap_m,
        snap_flag=a.snap_flag,
        collision=a.collision,
        severity=a.severity,
        weather=a.weather,
        lighting=a.lighting,
        surface=a.surface,
        causes=queries.causes_of(a),
        deaths=a.deaths,
        serious_injuries=a.serious_injuries,
        slight_injuries=a.slight_injuries,
        major=a.major,
        vehicles=[
            VehicleOut(kind=v.kind, plate_masked=v.plate.masked if v.plate else None) for v in a.vehicles
        ],
        people=[PersonOut(role=p.role, injury=p.injury, vehicle_no=p.vehicle_no) for p in a.people],
        finding=FindingClockOut(deadline=c.deadline, reason=c.reason, overdue=c.overdue, done=c.done),
    )


@router.post("/accidents", response_model=AccidentOut, status_code=201)
def record_accident(body: AccidentIn, session: DbSession, actor: Recorder) -> AccidentOut:
    """Record an accident: placed on its road segment, or kept where given and flagged when too far
    from any road; a major one (≥ 3 deaths by default) is flagged on the live map at once."""
    item = actions.NewAccident(accident=body, actor=actor)
    with session.begin():
        checked = actions.check_record_accident(session, item)
        accident = actions.do_record_accident(session, item, checked, snapper=actions.Snapper.load(session))
        session.flush()
        out = accident_out(accident, now=clock.now())
    return out


@router.get("/accidents", response_model=list[AccidentOut])
def list_accidents(
    session: DbSession,
    actor: Reader,
    major: bool = False,
    flagged: bool = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[AccidentOut]:
    """The latest accidents; `major`: the major ones only; `flagged`: those not on a road segment."""
    with session.begin():
        rows = queries.recent_accidents(session, major_only=major, flagged_only=flagged, limit=limit)
        now = clock.now()
        out = [accident_out(a, now=now) for a in rows]
        record_list_read(
            session,
            actor=actor,
            listing="traffic_accident",
            filters={"major": major, "flagged": flagged},
            count=len(out),
        )
    return out


@router.get("/accidents/{accident_id}", response_model=AccidentOut)
def get_accident(accident_id: AccidentId, session: DbSession, actor: Reader) -> AccidentOut:
    """One accident with its vehicles (plates masked), people and finding clock. Audited."""
    with session.begin():
        a = queries.accident_detail(session, accident_id)
        if a is None:
            raise NotFound(f"no accident {accident_id}", field="accident_id")
        audit.record(
            session, actor=actor, action="accident.read", object_type="traffic_accident", object_id=a.id
        )
        out = accident_out(a, now=clock.now())
    return out


@router.post("/countermeasures", response_model=CountermeasureOut, status_code=201)
def add_countermeasure(body: CountermeasureIn, session: DbSession, actor: Recorder) -> CountermeasureOut:
    """Record a countermeasure at a segment; one dated in the future is refused (422)."""
    with session.begin():
        actions.check_add_countermeasure(session, body, actor=actor, today=clock.now().date())
        cm = actions.do_add_countermeasure(session, body, actor=actor)
        out = CountermeasureOut.model_validate(cm, from_attributes=True)
    return out


@router.get("/blackspots", response_model=list[BlackSpotOut])
def get_black_spots(
    session: DbSession,
    actor: Reader,
    years: Annotated[int, Query(ge=1, le=10)] = 3,
    top: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[BlackSpotOut]:
    """The segments ranked by EB excess over the last `years` years, with its 90% interval."""
    with session.begin():
        spots = queries.black_spots(session, end=clock.now(), years=years, top=top)
    return [
        BlackSpotOut(
            rank=s.rank,
            edge_id=s.edge_id,
            road_class=s.road_class,
            length_m=s.length_m,
            observed=s.observed,
            predicted=s.predicted,
            eb=s.eb,
            excess=s.excess,
            excess_low=s.excess_low,
            excess_high=s.excess_high,
            severity_weighted=s.severity_weighted,
        )
        for s in spots
    ]


@router.get("/effects", response_model=EffectOut | None)
def get_effect(
    session: DbSession,
    actor: Reader,
    kind: CountermeasureKind | None = None,
    years_before: Annotated[int, Query(ge=1, le=10)] = 3,
) -> EffectOut | None:
    """The EB before–after estimate of the countermeasures of `kind` (null: not estimable yet)."""
    with session.begin():
        e = queries.countermeasure_effect(session, kind=kind, now=clock.now(), years_before=years_before)
    return effect_out(e)


def effect_out(e: safety.Effect | None) -> EffectOut | None:
    """An EB estimate as the API shows it (None: not estimable)."""
    if e is None:
        return None
    return EffectOut(
        method=e.method,
        sites=e.sites,
        observed_after=e.observed_after,
        expected_after=e.expected_after,
        theta=e.theta,
        theta_low=e.theta_low,
        theta_high=e.theta_high,
        naive_ratio=e.naive_ratio,
    )


# ---------------------------------------------------------------- street racing and loud exhausts


@router.post("/racing/reports", response_model=RacingReportOut, status_code=201)
def report_racing(body: RacingReportIn, session: DbSession, actor: ReportTaker) -> RacingReportOut:
    """A citizen's report of street racing or a loud exhaust, placed on its road segment."""
    with session.begin():
        actions.check_record_racing_report(session, body, actor=actor)
        r = actions.do_record_racing_report(session, body, actor=actor, snapper=actions.Snapper.load(session))
        out = RacingReportOut.model_validate(r, from_attributes=True)
    return out


@router.get("/racing", response_model=RacingOut)
def get_racing(
    session: DbSession,
    actor: Reader,
    days: Annotated[int, Query(ge=1, le=365)] = 30,
    top: Annotated[int, Query(ge=1, le=200)] = 20,
) -> RacingOut:
    """Hot places and hours (Beijing time) of street racing over the last `days` days, from noise
    levels and citizen reports, each with its reasons, and the patrols proposed for them."""
    with session.begin():
        p = queries.racing_picture(session, end=clock.now(), days=days, top=top)
    return RacingOut(
        hot_spots=[
            HotSpotOut(
                place=h.place,
                hour=h.hour,
                score=h.score,
                loud_readings=h.loud_readings,
                night_readings=h.night_readings,
                reports=h.reports,
                reasons=list(h.reasons),
            )
            for h in p.hot_spots
        ],
        patrols=[
            PatrolPlanOut(
                place=x.place,
                start_hour=x.start_hour,
                end_hour=x.end_hour,
                score=x.score,
                reasons=list(x.reasons),
            )
            for x in p.patrols
        ],
        readings=p.readings,
        reports=p.reports,
        refused_media=p.refused_media,
    )


@router.post("/racing/enforcement", response_model=EnforcementOut, status_code=201)
def record_enforcement(body: EnforcementIn, session: DbSession, actor: Recorder) -> EnforcementOut:
    """An operation against street racing at a segment and its results: stops, vehicles seized, cases."""
    with session.begin():
        actions.check_record_enforcement(session, body, actor=actor)
        row = actions.do_record_enforcement(session, body, actor=actor)
        out = EnforcementOut.model_validate(row, from_attributes=True)
    return out


# ------------------------------------------------------------------ violations and campaigns


@router.post("/violations", response_model=ViolationOut, status_code=201)
def record_violation(body: ViolationIn, session: DbSession, actor: Recorder) -> ViolationOut:
    """A violation found (a tricycle carrying passengers, a rider without a helmet), on its segment."""
    with session.begin():
        actions.check_record_violation(session, body, actor=actor)
        row = actions.do_record_violation(session, body, actor=actor, snapper=actions.Snapper.load(session))
        out = ViolationOut.model_validate(row, from_attributes=True)
    return out


def campaign_out(c: Campaign) -> CampaignOut:
    """A campaign as the API shows it."""
    return CampaignOut(
        id=c.id,
        name=c.name,
        target=c.target,
        outcome=c.outcome,
        started_on=c.started_on,
        ended_on=c.ended_on,
        edges=queries.campaign_edges(c),
        note=c.note,
    )


@router.post("/campaigns", response_model=CampaignOut, status_code=201)
def add_campaign(body: CampaignIn, session: DbSession, actor: Recorder) -> CampaignOut:
    """An enforcement campaign over a period; one starting in the future, or ending before it starts, is refused."""
    with session.begin():
        actions.check_add_campaign(session, body, actor=actor, today=clock.now().date())
        out = campaign_out(actions.do_add_campaign(session, body, actor=actor))
    return out


@router.get("/campaigns/{campaign_id}", response_model=CampaignFiguresOut)
def get_campaign(campaign_id: CampaignId, session: DbSession, actor: Reader) -> CampaignFiguresOut:
    """A campaign's before–after figures: the EB estimate where accidents are the outcome and it can be
    made, plain counts with their caveat otherwise."""
    with session.begin():
        c = session.get(Campaign, campaign_id)
        if c is None:
            raise NotFound(f"no campaign {campaign_id}", field="campaign_id")
        f = queries.campaign_figures(session, c, now=clock.now())
        out = CampaignFiguresOut(
            campaign=campaign_out(c),
            method=f.method,
            caveat=f.caveat,
            before=f.before,
            during=f.during,
            before_days=f.before_days,
            during_days=f.during_days,
            effect=effect_out(f.effect),
        )
    return out
