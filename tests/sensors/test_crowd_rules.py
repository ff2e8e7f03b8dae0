"""The pure rules of large events (issue #20 item 5): graded crowd levels at their boundaries, zone
polygons that can and cannot be a zone, and drones inside, outside and on a no-fly boundary."""

from __future__ import annotations

import pytest

from pingan.sensors import rules

SQUARE = [[104.0, 30.0], [104.01, 30.0], [104.01, 30.01], [104.0, 30.01], [104.0, 30.0]]


@pytest.mark.parametrize(
    ("count", "level"),
    [(0, ""), (699, ""), (700, "watch"), (899, "watch"), (900, "control"), (999, "control"),
     (1000, "over"), (1500, "over")],
)  # fmt: skip
def test_a_crowd_count_is_graded_at_70_90_and_100_percent_of_capacity(count: int, level: str) -> None:
    assert rules.rule_crowd(count, 1000, current_level="").level == level


def test_an_alert_is_raised_only_when_the_level_rises() -> None:
    assert rules.rule_crowd(700, 1000, current_level="").raise_alert
    assert not rules.rule_crowd(800, 1000, current_level="watch").raise_alert
    assert rules.rule_crowd(950, 1000, current_level="watch").raise_alert
    falling = rules.rule_crowd(750, 1000, current_level="control")
    assert falling.level == "watch" and not falling.raise_alert
    assert rules.rule_crowd(1000, 1000, current_level="control").percent == 100.0


def test_a_closed_ring_with_an_area_is_a_zone() -> None:
    assert rules.polygon_problem([SQUARE]) is None


@pytest.mark.parametrize(
    ("coordinates", "problem"),
    [
        (SQUARE, "one outer ring"),
        ([SQUARE[:3]], "at least 4 positions"),
        ([[*SQUARE[:-1], [104.0, 30.001]]], "not closed"),
        ([[[104.0, 30.0], [104.01, 30.0], [104.02, 30.0], [104.0, 30.0]]], "no area"),
        # A double-click's corner twice: four positions, two corners only.
        ([[[104.0, 30.0], [104.01, 30.01], [104.01, 30.01], [104.0, 30.0]]], "3 distinct corners"),
        ([[[104.0, 30.0], [200.0, 30.0], [104.01, 30.01], [104.0, 30.0]]], "position 1 is outside"),
        ([[[104.0, 30.0], ["104", 30.0], [104.01, 30.01], [104.0, 30.0]]], "position 1 is not"),
        ([[[104.0, 30.0], [10**400, 30.0], [104.01, 30.01], [104.0, 30.0]]], "position 1 is outside"),
        ("not a list", "one outer ring"),
    ],
)
def test_a_polygon_that_cannot_be_a_zone_is_refused_naming_why(coordinates: object, problem: str) -> None:
    found = rules.polygon_problem(coordinates)
    assert found is not None and problem in found


@pytest.mark.parametrize(
    ("lon", "lat", "inside"),
    [
        (104.005, 30.005, True),  # the middle
        (104.0, 30.005, True),  # on the west edge
        (104.01, 30.01, True),  # on a corner
        (104.0101, 30.005, False),  # just east of it
        (104.005, 29.9999, False),  # just south of it
        (103.9, 30.005, False),
    ],
)
def test_a_drone_is_checked_against_the_no_fly_polygon(lon: float, lat: float, inside: bool) -> None:
    assert rules.point_in_polygon(lon, lat, SQUARE) is inside
    assert rules.rule_drone(lon, lat, [(7, SQUARE)]) == (7 if inside else None)


def test_a_drone_in_two_overlapping_no_fly_zones_names_the_first() -> None:
    bigger = [[103.9, 29.9], [104.1, 29.9], [104.1, 30.1], [103.9, 30.1], [103.9, 29.9]]
    assert rules.rule_drone(104.005, 30.005, [(3, bigger), (7, SQUARE)]) == 3
    assert rules.rule_drone(104.05, 30.05, [(3, bigger), (7, SQUARE)]) == 3
    assert rules.rule_drone(104.5, 30.5, [(3, bigger), (7, SQUARE)]) is None
