"""The command platform's pure rules: place, attach, the unit state machine, the clock chain and the
weekly bulletin, each against figures worked out by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pingan.command import rules
from pingan.command.categories import catalogue
from pingan.command.choices import AreaKind, LocationFlag, UnitMove, UnitState
from pingan.command.choices import IncidentEventKind as K

T0 = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)
SQUARE = ((104.0, 30.6), (104.1, 30.6), (104.1, 30.7), (104.0, 30.7), (104.0, 30.6))
CITY = rules.StationArea("WH-A", 30.65, 104.05, SQUARE, AreaKind.URBAN)
FAR = rules.StationArea("WH-B", 30.65, 104.25, None, AreaKind.SUBURBAN)
TARGETS = rules.Targets(sign_off_s=30, on_scene_s=300, feedback_s=1800)


def test_the_catalogue_has_three_levels_with_the_common_110_classes() -> None:
    cat = catalogue()
    assert {c.name for c in cat.by_code.values() if c.level == 1} >= {
        "刑事类",
        "治安类",
        "交通类",
        "火灾救援类",
        "求助类",
    }
    assert cat.display("010102") == "刑事类 / 盗窃 / 扒窃"
    assert cat.get("010102") is not None and cat.get("010102").type_code == "0101"  # type: ignore[union-attr]


def test_an_incident_with_neither_text_nor_category_is_refused_naming_text() -> None:
    problems = rules.intake_problems(text="  ", category_code=None, catalogue=catalogue())
    assert [p.field for p in problems] == ["text"]


def test_an_unknown_category_code_is_refused_naming_the_code() -> None:
    problems = rules.intake_problems(text="有人打架", category_code="999999", catalogue=catalogue())
    assert problems[0].field == "category_code" and "999999" in problems[0].message


def test_a_point_inside_a_station_area_is_that_station_s() -> None:
    placed = rules.place(30.62, 104.03, [CITY, FAR])
    assert (placed.station_code, placed.flag) == ("WH-A", LocationFlag.NONE)


def test_a_point_outside_every_area_is_flagged_and_goes_to_the_nearest_station() -> None:
    placed = rules.place(30.65, 104.2, [CITY, FAR])
    assert placed.flag is LocationFlag.OUTSIDE_DISTRICT
    assert placed.station_code == "WH-B"
    assert placed.reasons[0] == "outside_district"


def test_a_call_without_coordinates_is_flagged_for_placing() -> None:
    assert rules.place(None, None, [CITY]).flag is LocationFlag.NO_COORDINATES


@given(st.floats(30.6001, 30.6999), st.floats(104.0001, 104.0999))
def test_every_point_strictly_inside_the_square_is_in_it(lat: float, lon: float) -> None:
    assert rules.in_ring(lat, lon, SQUARE)


def _open(
    id_: int, lat: float, lon: float, minutes_before: int, type_code: str = "0202"
) -> rules.OpenIncident:
    return rules.OpenIncident(id_, type_code, lat, lon, T0 - timedelta(minutes=minutes_before))


def _suggest(*incidents: rules.OpenIncident, type_code: str = "0202") -> rules.AttachSuggestion:
    return rules.suggest_attach(
        type_code=type_code,
        lat=30.6125,
        lon=104.0525,
        received_at=T0,
        open_incidents=incidents,
        radius_m=200,
        window=timedelta(minutes=30),
    )


def test_a_second_call_about_the_same_fight_nearby_and_soon_attaches() -> None:
    s = _suggest(_open(7, 30.6125, 104.0533, 10))  # about 77 m east, 10 minutes earlier
    assert s.incident_id == 7
    assert s.reasons == ("same_type:0202", "distance_m:77", "minutes_apart:10")


def test_a_call_too_far_away_does_not_attach() -> None:
    assert _suggest(_open(7, 30.6125, 104.0560, 10)).incident_id is None  # about 335 m


def test_a_call_outside_the_window_does_not_attach() -> None:
    assert _suggest(_open(7, 30.6125, 104.0533, 31)).incident_id is None


def test_a_call_of_another_type_does_not_attach() -> None:
    assert _suggest(_open(7, 30.6125, 104.0533, 10, type_code="0101")).incident_id is None


def test_of_two_matches_the_nearer_is_suggested() -> None:
    assert _suggest(_open(7, 30.6125, 104.0540, 5), _open(8, 30.6126, 104.0526, 20)).incident_id == 8


def test_every_state_has_a_way_out_and_available_is_reachable_from_each() -> None:
    for state, moves in rules.UNIT_TRANSITIONS.items():
        assert moves, state
        seen, frontier = {state}, [state]
        while frontier:
            for nxt in rules.UNIT_TRANSITIONS[frontier.pop()].values():
                if nxt not in seen:
                    seen.add(nxt)
                    frontier.append(nxt)
        assert UnitState.AVAILABLE in seen


@pytest.mark.parametrize(
    ("state", "move"),
    [(s, m) for s in UnitState for m in UnitMove if m not in rules.UNIT_TRANSITIONS[s]],
    ids=lambda v: v.value,
)
def test_a_move_not_in_the_table_is_refused_naming_the_state_and_move(
    state: UnitState, move: UnitMove
) -> None:
    decision = rules.decide_move(state, move)
    assert not decision.allowed
    assert f"is {state.value} cannot {move.value}" in decision.reason


def _chain(*steps: tuple[K, int], now_s: int = 3600, targets: rules.Targets = TARGETS) -> rules.ClockChain:
    return rules.clock_chain(
        [(k, T0 + timedelta(seconds=s)) for k, s in steps], targets, now=T0 + timedelta(seconds=now_s)
    )


def test_the_chain_takes_each_step_from_the_log_and_names_a_late_sign_off() -> None:
    chain = _chain(
        (K.CALL_RECEIVED, 0),
        (K.SIGNED_OFF, 45),
        (K.DISPATCHED, 60),
        (K.ACKNOWLEDGED, 80),
        (K.EN_ROUTE, 90),
        (K.ON_SCENE, 280),
        (K.FEEDBACK, 1000),
    )
    assert [s.since_previous_s for s in chain.steps] == [None, 45, 15, 20, 10, 190, 720]
    assert chain.reasons == ("sign_off:45s>30s",)
    assert not chain.measure("on_scene").breached and not chain.measure("feedback").breached


def test_a_step_not_reached_runs_against_now_and_breaches_past_its_deadline() -> None:
    chain = _chain((K.CALL_RECEIVED, 0), (K.SIGNED_OFF, 10), (K.DISPATCHED, 20), now_s=400)
    on_scene = chain.measure("on_scene")
    assert on_scene.running and on_scene.breached and on_scene.seconds == 400
    assert chain.reasons == ("on_scene:running 400s>300s",)


def test_the_queue_counts_down_to_the_first_running_deadline() -> None:
    chain = _chain((K.CALL_RECEIVED, 0), now_s=10)
    assert chain.next_deadline is not None
    assert (chain.next_deadline.name, chain.next_deadline.deadline) == (
        "sign_off",
        T0 + timedelta(seconds=30),
    )


def test_the_earliest_of_repeated_steps_counts() -> None:
    chain = _chain(
        (K.CALL_RECEIVED, 0), (K.SIGNED_OFF, 5), (K.DISPATCHED, 20), (K.ON_SCENE, 200), (K.ON_SCENE, 100)
    )
    assert chain.measure("on_scene").seconds == 100


def test_the_weekly_bulletin_matches_the_hand_computed_fixture() -> None:
    # Five incidents, worked out by hand:
    #   A signed off at 20 s, on scene at 240 s, feedback 600 s later -> all three met
    #   B signed off at 50 s (late), on scene at 400 s (late), feedback 2000 s later (late)
    #   C signed off at 10 s, dispatched, never reached, past the 300 s deadline -> on-scene missed
    #   D signed off at 25 s, not dispatched (a consultation)
    #   E received 10 s before "now", not signed off yet: its clock still runs and is not counted
    # sign-off: within A, C, D = 3 of 4 counted (E running) = 75.0 %
    # on scene: A within, B late, C missed = 1 of 3 = 33.3 %
    # feedback: A within, B late = 1 of 2 = 50.0 %
    now = 5000
    chains = [
        _chain(
            (K.CALL_RECEIVED, 0),
            (K.SIGNED_OFF, 20),
            (K.DISPATCHED, 30),
            (K.ON_SCENE, 240),
            (K.FEEDBACK, 840),
            now_s=now,
        ),
        _chain(
            (K.CALL_RECEIVED, 0),
            (K.SIGNED_OFF, 50),
            (K.DISPATCHED, 60),
            (K.ON_SCENE, 400),
            (K.FEEDBACK, 2400),
            now_s=now,
        ),
        _chain((K.CALL_RECEIVED, 0), (K.SIGNED_OFF, 10), (K.DISPATCHED, 20), now_s=now),
        _chain((K.CALL_RECEIVED, 0), (K.SIGNED_OFF, 25), now_s=now),
        rules.clock_chain([(K.CALL_RECEIVED, T0)], TARGETS, now=T0 + timedelta(seconds=10)),
    ]
    responses = [
        rules.UnitResponse("玉林1", 210),
        rules.UnitResponse("玉林1", 330),  # mean 270
        rules.UnitResponse("玉林2", 340),  # mean 340
        rules.UnitResponse("玉林3", 120),
    ]
    b = rules.weekly_bulletin(chains, responses, slowest=2)
    assert b.incidents == 5
    assert (b.sign_off.within, b.sign_off.total, b.sign_off.percent) == (3, 4, 75.0)
    assert (b.on_scene.within, b.on_scene.total, b.on_scene.percent) == (1, 3, 33.3)
    assert (b.feedback.within, b.feedback.total, b.feedback.percent) == (1, 2, 50.0)
    assert [(u.call_sign, u.mean_s, u.responses) for u in b.slowest_units] == [
        ("玉林2", 340, 1),
        ("玉林1", 270, 2),
    ]


def test_a_bulletin_of_an_empty_week_has_no_percentages() -> None:
    b = rules.weekly_bulletin([], [])
    assert (b.incidents, b.sign_off.percent, b.slowest_units) == (0, None, ())


def test_targets_missing_a_priority_are_refused_naming_the_setting() -> None:
    from pydantic import ValidationError

    from pingan.core.settings import CommandSettings

    with pytest.raises(ValidationError, match="PINGAN_COMMAND_SIGN_OFF_S"):
        CommandSettings(sign_off_s={"1": 30})
