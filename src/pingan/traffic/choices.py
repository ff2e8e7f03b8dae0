"""Kinds and statuses of traffic safety: what other packages may import.

The accident fields follow the UK STATS19 collision record and the US MMUCC crash record, cut down to
what a district brigade records: one code list each, with its zh/en labels.
"""

from __future__ import annotations

from enum import StrEnum

from pingan.core.i18n import N_, register_labels


class CollisionType(StrEnum):
    """How the vehicles met (MMUCC C9 manner of collision, with STATS19's pedestrian and single-vehicle cases)."""

    REAR_END = "rear_end"
    HEAD_ON = "head_on"
    ANGLE = "angle"  # 侧面碰撞 at a junction
    SIDESWIPE = "sideswipe"
    PEDESTRIAN = "pedestrian"
    SINGLE_VEHICLE = "single_vehicle"  # ran off the road, hit an object, overturned
    OTHER = "other"


class Severity(StrEnum):
    """The accident's severity by its worst casualty (STATS19 collision severity)."""

    FATAL = "fatal"
    SERIOUS = "serious"
    SLIGHT = "slight"
    DAMAGE_ONLY = "damage_only"  # 财产损失事故: no one hurt


class Injury(StrEnum):
    """One person's injury (STATS19 casualty severity, MMUCC P5's K/A/B-C/O in four)."""

    KILLED = "killed"
    SERIOUS = "serious"
    SLIGHT = "slight"
    UNINJURED = "uninjured"


class PersonRole(StrEnum):
    """Who a person in the accident was (STATS19 casualty class, MMUCC P4)."""

    DRIVER = "driver"
    PASSENGER = "passenger"
    PEDESTRIAN = "pedestrian"
    CYCLIST = "cyclist"


class VehicleKind(StrEnum):
    """The vehicle's type (STATS19 vehicle type, grouped; tricycles and e-bikes apart, as enforced here)."""

    CAR = "car"
    BUS = "bus"
    TRUCK = "truck"
    MOTORCYCLE = "motorcycle"
    TRICYCLE = "tricycle"  # 三轮车
    EBIKE = "ebike"  # 电动自行车
    BICYCLE = "bicycle"
    OTHER = "other"


class Cause(StrEnum):
    """A contributory factor (STATS19 contributory factors, grouped)."""

    SPEEDING = "speeding"
    DRINK_DRIVING = "drink_driving"
    DISTRACTION = "distraction"
    FAILURE_TO_YIELD = "failure_to_yield"
    RED_LIGHT = "red_light"
    WRONG_WAY = "wrong_way"
    FATIGUE = "fatigue"
    VEHICLE_DEFECT = "vehicle_defect"
    ROAD_DEFECT = "road_defect"
    PEDESTRIAN_ERROR = "pedestrian_error"
    OTHER = "other"


class Weather(StrEnum):
    """Weather at the time (STATS19 weather conditions, MMUCC C11)."""

    FINE = "fine"
    RAIN = "rain"
    SNOW = "snow"
    FOG = "fog"
    HIGH_WIND = "high_wind"
    OTHER = "other"
    UNKNOWN = "unknown"


class Lighting(StrEnum):
    """Light at the time (STATS19 light conditions, MMUCC C12)."""

    DAYLIGHT = "daylight"
    DARK_LIT = "dark_lit"
    DARK_UNLIT = "dark_unlit"
    DUSK_DAWN = "dusk_dawn"
    UNKNOWN = "unknown"


class RoadSurface(StrEnum):
    """The road surface (STATS19 road surface conditions, MMUCC C13)."""

    DRY = "dry"
    WET = "wet"
    SNOW_ICE = "snow_ice"
    FLOOD = "flood"
    OTHER = "other"
    UNKNOWN = "unknown"


class SnapFlag(StrEnum):
    """Whether the accident's place sits on a road segment. A point is never moved: the segment is
    recorded beside it, with the distance."""

    SNAPPED = "snapped"
    TOO_FAR = "too_far"  # farther from any segment than the snap limit: a human places it
    NO_GRAPH = "no_graph"  # no road graph stored yet


class CountermeasureKind(StrEnum):
    """A safety measure put in at a place."""

    CAMERA = "camera"  # 电子警察 / 测速
    SIGNAL_CHANGE = "signal_change"
    PATROL = "patrol"
    SPEED_TABLE = "speed_table"  # 减速台


register_labels(
    CollisionType,
    {
        CollisionType.REAR_END: N_("rear-end"),
        CollisionType.HEAD_ON: N_("head-on"),
        CollisionType.ANGLE: N_("angle (side impact)"),
        CollisionType.SIDESWIPE: N_("sideswipe"),
        CollisionType.PEDESTRIAN: N_("vehicle hit pedestrian"),
        CollisionType.SINGLE_VEHICLE: N_("single vehicle"),
        CollisionType.OTHER: N_("other collision"),
    },
)
register_labels(
    Severity,
    {
        Severity.FATAL: N_("fatal"),
        Severity.SERIOUS: N_("serious injury"),
        Severity.SLIGHT: N_("slight injury"),
        Severity.DAMAGE_ONLY: N_("damage only"),
    },
)
register_labels(
    Injury,
    {
        Injury.KILLED: N_("killed"),
        Injury.SERIOUS: N_("seriously injured"),
        Injury.SLIGHT: N_("slightly injured"),
        Injury.UNINJURED: N_("uninjured"),
    },
)
register_labels(
    PersonRole,
    {
        PersonRole.DRIVER: N_("driver"),
        PersonRole.PASSENGER: N_("passenger"),
        PersonRole.PEDESTRIAN: N_("pedestrian"),
        PersonRole.CYCLIST: N_("cyclist"),
    },
)
register_labels(
    VehicleKind,
    {
        VehicleKind.CAR: N_("car"),
        VehicleKind.BUS: N_("bus"),
        VehicleKind.TRUCK: N_("truck"),
        VehicleKind.MOTORCYCLE: N_("motorcycle"),
        VehicleKind.TRICYCLE: N_("tricycle"),
        VehicleKind.EBIKE: N_("e-bike"),
        VehicleKind.BICYCLE: N_("bicycle"),
        VehicleKind.OTHER: N_("other vehicle"),
    },
)
register_labels(
    Cause,
    {
        Cause.SPEEDING: N_("speeding"),
        Cause.DRINK_DRIVING: N_("drink or drug driving"),
        Cause.DISTRACTION: N_("distraction"),
        Cause.FAILURE_TO_YIELD: N_("failure to yield"),
        Cause.RED_LIGHT: N_("ran a red light"),
        Cause.WRONG_WAY: N_("wrong way"),
        Cause.FATIGUE: N_("fatigue"),
        Cause.VEHICLE_DEFECT: N_("vehicle defect"),
        Cause.ROAD_DEFECT: N_("road defect"),
        Cause.PEDESTRIAN_ERROR: N_("pedestrian error"),
        Cause.OTHER: N_("other cause"),
    },
)
register_labels(
    Weather,
    {
        Weather.FINE: N_("fine"),
        Weather.RAIN: N_("rain"),
        Weather.SNOW: N_("snow"),
        Weather.FOG: N_("fog"),
        Weather.HIGH_WIND: N_("high wind"),
        Weather.OTHER: N_("other weather"),
        Weather.UNKNOWN: N_("weather unknown"),
    },
)
register_labels(
    Lighting,
    {
        Lighting.DAYLIGHT: N_("daylight"),
        Lighting.DARK_LIT: N_("dark, lit"),
        Lighting.DARK_UNLIT: N_("dark, unlit"),
        Lighting.DUSK_DAWN: N_("dusk or dawn"),
        Lighting.UNKNOWN: N_("light unknown"),
    },
)
register_labels(
    RoadSurface,
    {
        RoadSurface.DRY: N_("dry"),
        RoadSurface.WET: N_("wet"),
        RoadSurface.SNOW_ICE: N_("snow or ice"),
        RoadSurface.FLOOD: N_("flooded"),
        RoadSurface.OTHER: N_("other surface"),
        RoadSurface.UNKNOWN: N_("surface unknown"),
    },
)
register_labels(
    SnapFlag,
    {
        SnapFlag.SNAPPED: N_("on a road segment"),
        SnapFlag.TOO_FAR: N_("far from any road: place it"),
        SnapFlag.NO_GRAPH: N_("no road graph stored"),
    },
)
register_labels(
    CountermeasureKind,
    {
        CountermeasureKind.CAMERA: N_("camera"),
        CountermeasureKind.SIGNAL_CHANGE: N_("signal change"),
        CountermeasureKind.PATROL: N_("patrol"),
        CountermeasureKind.SPEED_TABLE: N_("speed table"),
    },
)


# ------------------------------------------------------------------- street racing, loud exhausts


class RacingKind(StrEnum):
    """What a citizen reports (飙车炸街): racing on a street, or a modified exhaust fired off."""

    RACING = "racing"  # 飙车
    LOUD_EXHAUST = "loud_exhaust"  # 炸街: a modified exhaust or revving, often at night


class NoiseRefusal(StrEnum):
    """Why the noise-level ingest refused a message (kept as a dead letter)."""

    TOO_LARGE = "too_large"
    UNKNOWN_TOPIC = "unknown_topic"
    MALFORMED_JSON = "malformed_json"
    FORBIDDEN_MEDIA = "forbidden_media"  # audio, pictures or video: aggregate dB levels only
    INVALID_FIELD = "invalid_field"
    REPLAYED = "replayed"  # a sensor's reading number already taken (a QoS 1 copy)
    PROCESSING_FAILED = "processing_failed"


# ------------------------------------------------------------------ violations and campaigns


class ViolationKind(StrEnum):
    """A traffic violation found on the road, with the tricycle cases the brigade enforces apart."""

    TRICYCLE_UNLICENSED = "tri_unlicensed"  # 无牌无证三轮车
    TRICYCLE_PASSENGERS = "tri_passengers"  # 三轮车违法载人
    TRICYCLE_MOTORWAY = "tri_motorway"  # 三轮车驶入机动车道
    EBIKE_NO_HELMET = "ebike_no_helmet"  # 电动自行车未戴头盔
    WRONG_WAY = "wrong_way"
    RED_LIGHT = "red_light"
    ILLEGAL_MODIFICATION = "modification"  # 非法改装 (loud exhausts)
    OTHER = "other"


class CampaignOutcome(StrEnum):
    """What a campaign is measured by: accidents (EB before–after), or violations (plain counts)."""

    ACCIDENTS = "accidents"
    VIOLATIONS = "violations"


register_labels(
    RacingKind,
    {RacingKind.RACING: N_("street racing"), RacingKind.LOUD_EXHAUST: N_("loud exhaust")},
)
register_labels(
    NoiseRefusal,
    {
        NoiseRefusal.TOO_LARGE: N_("message too large"),
        NoiseRefusal.UNKNOWN_TOPIC: N_("unknown topic"),
        NoiseRefusal.MALFORMED_JSON: N_("malformed JSON"),
        NoiseRefusal.FORBIDDEN_MEDIA: N_("audio, picture or video refused"),
        NoiseRefusal.INVALID_FIELD: N_("invalid field"),
        NoiseRefusal.REPLAYED: N_("reading already taken"),
        NoiseRefusal.PROCESSING_FAILED: N_("processing failed"),
    },
)
register_labels(
    ViolationKind,
    {
        ViolationKind.TRICYCLE_UNLICENSED: N_("unlicensed tricycle"),
        ViolationKind.TRICYCLE_PASSENGERS: N_("tricycle carrying passengers"),
        ViolationKind.TRICYCLE_MOTORWAY: N_("tricycle in a motor lane"),
        ViolationKind.EBIKE_NO_HELMET: N_("e-bike rider without a helmet"),
        ViolationKind.WRONG_WAY: N_("driving the wrong way"),
        ViolationKind.RED_LIGHT: N_("running a red light"),
        ViolationKind.ILLEGAL_MODIFICATION: N_("illegal modification"),
        ViolationKind.OTHER: N_("other violation"),
    },
)
register_labels(
    CampaignOutcome,
    {CampaignOutcome.ACCIDENTS: N_("accidents"), CampaignOutcome.VIOLATIONS: N_("violations")},
)
