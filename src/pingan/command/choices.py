"""Statuses and kinds of the command platform: what other packages may import."""

from __future__ import annotations

from enum import StrEnum

from pingan.core.i18n import N_, register_labels


class Priority(StrEnum):
    """How urgent an incident is (警情等级): 1 is the most urgent. The codes sort by urgency."""

    URGENT = "1"  # 紧急: danger to life, a crime in progress
    HIGH = "2"  # 较急: a crime just committed, a fight, a traffic accident with injuries
    ROUTINE = "3"  # 一般: disputes, noise, help-seeking, consultations


class Disposition(StrEnum):
    """How a call ends: each call ends as exactly one of these."""

    NEW = "new"  # a new incident, which enters the dispatch queue
    ATTACHED = "attached"  # another call about an incident already open (same place, same type)
    HOAX = "hoax"  # 虚假报警: a false or prank call, closed with its reason
    DUPLICATE = "duplicate"  # 重复报警: the same caller about the same matter, closed with its reason


class IncidentStatus(StrEnum):
    """Whether an incident still needs the command centre."""

    OPEN = "open"
    CLOSED = "closed"


class IncidentEventKind(StrEnum):
    """The steps of an incident's event log, from which the 110 clock chain is computed."""

    CALL_RECEIVED = "call_received"  # 接警
    SIGNED_OFF = "signed_off"  # 签收
    DISPATCHED = "dispatched"  # 派警: a unit assigned by the dispatcher
    ACKNOWLEDGED = "acknowledged"  # 接受指令: the unit acknowledged
    EN_ROUTE = "en_route"  # 出警
    ON_SCENE = "on_scene"  # 到达现场
    FEEDBACK = "feedback"  # 反馈
    CALL_ATTACHED = "call_attached"  # another call attached to this incident
    UNIT_RELEASED = "unit_released"  # an assigned unit taken off before it arrived
    CASE_SOLVED = "case_solved"  # 破案: a property crime's case solved (its 24-hour clock stops)
    CLOSED = "closed"


class UnitState(StrEnum):
    """Where a unit (警力: a patrol car, a foot or e-bike patrol) stands in its work."""

    AVAILABLE = "available"
    ASSIGNED = "assigned"  # the dispatcher assigned it, not yet acknowledged
    DISPATCHED = "dispatched"  # the unit acknowledged the dispatch
    EN_ROUTE = "en_route"
    ON_SCENE = "on_scene"
    OFF_DUTY = "off_duty"


class UnitMove(StrEnum):
    """A move of a unit's state machine (`rules.UNIT_TRANSITIONS`)."""

    ASSIGN = "assign"
    ACKNOWLEDGE = "acknowledge"
    DEPART = "depart"
    ARRIVE = "arrive"
    CLEAR = "clear"  # back to available, with the feedback on the incident
    RELEASE = "release"  # the dispatcher takes an assigned unit off before it arrives
    GO_OFF_DUTY = "go_off_duty"
    COME_ON_DUTY = "come_on_duty"


class UnitKind(StrEnum):
    """What a unit is."""

    PATROL_CAR = "patrol_car"  # 巡逻车
    FOOT_PATROL = "foot_patrol"  # 步巡
    EBIKE_PATROL = "ebike_patrol"  # 电动车巡逻
    TRAFFIC = "traffic"  # 交警


class AreaKind(StrEnum):
    """Urban or suburban, which sets the on-scene target (5 or 10 minutes in the 110 rules)."""

    URBAN = "urban"
    SUBURBAN = "suburban"


class LocationFlag(StrEnum):
    """Why an incident's place needs a human look. Coordinates are kept as given, never snapped."""

    NONE = "none"
    NO_COORDINATES = "no_coordinates"
    OUTSIDE_DISTRICT = "outside_district"


class RoadClass(StrEnum):
    """A road segment's class: the OpenStreetMap `highway` values a car may use. `road_edge.road_class`
    stays open-ended (an imported extract may carry others); these are the ones a page names."""

    MOTORWAY = "motorway"
    MOTORWAY_LINK = "motorway_link"
    TRUNK = "trunk"
    TRUNK_LINK = "trunk_link"
    PRIMARY = "primary"
    PRIMARY_LINK = "primary_link"
    SECONDARY = "secondary"
    SECONDARY_LINK = "secondary_link"
    TERTIARY = "tertiary"
    TERTIARY_LINK = "tertiary_link"
    UNCLASSIFIED = "unclassified"
    RESIDENTIAL = "residential"
    LIVING_STREET = "living_street"
    SERVICE = "service"


register_labels(
    Priority,
    {Priority.URGENT: N_("1 urgent"), Priority.HIGH: N_("2 high"), Priority.ROUTINE: N_("3 routine")},
)
register_labels(
    Disposition,
    {
        Disposition.NEW: N_("new incident"),
        Disposition.ATTACHED: N_("attached to an open incident"),
        Disposition.HOAX: N_("hoax call"),
        Disposition.DUPLICATE: N_("duplicate call"),
    },
)
# Not the bare "closed": that msgid is an account's (已销户), and an incident is concluded (已办结).
register_labels(IncidentStatus, {IncidentStatus.OPEN: N_("open"), IncidentStatus.CLOSED: N_("concluded")})
register_labels(
    IncidentEventKind,
    {
        IncidentEventKind.CALL_RECEIVED: N_("call received"),
        IncidentEventKind.SIGNED_OFF: N_("signed off"),
        IncidentEventKind.DISPATCHED: N_("unit dispatched"),
        IncidentEventKind.ACKNOWLEDGED: N_("unit acknowledged"),
        IncidentEventKind.EN_ROUTE: N_("unit en route"),
        IncidentEventKind.ON_SCENE: N_("unit on scene"),
        IncidentEventKind.FEEDBACK: N_("feedback"),
        IncidentEventKind.CALL_ATTACHED: N_("call attached"),
        IncidentEventKind.UNIT_RELEASED: N_("unit released"),
        IncidentEventKind.CASE_SOLVED: N_("case solved"),
        IncidentEventKind.CLOSED: N_("incident concluded"),
    },
)
register_labels(
    UnitState,
    {
        UnitState.AVAILABLE: N_("available"),
        UnitState.ASSIGNED: N_("assigned"),
        UnitState.DISPATCHED: N_("dispatched"),
        UnitState.EN_ROUTE: N_("en route"),
        UnitState.ON_SCENE: N_("on scene"),
        UnitState.OFF_DUTY: N_("off duty"),
    },
)
register_labels(
    UnitMove,
    {
        UnitMove.ASSIGN: N_("assign"),
        UnitMove.ACKNOWLEDGE: N_("acknowledge"),
        UnitMove.DEPART: N_("depart"),
        UnitMove.ARRIVE: N_("arrive"),
        UnitMove.CLEAR: N_("clear"),
        UnitMove.RELEASE: N_("release"),
        UnitMove.GO_OFF_DUTY: N_("go off duty"),
        UnitMove.COME_ON_DUTY: N_("come on duty"),
    },
)
register_labels(
    UnitKind,
    {
        UnitKind.PATROL_CAR: N_("patrol car"),
        UnitKind.FOOT_PATROL: N_("foot patrol"),
        UnitKind.EBIKE_PATROL: N_("e-bike patrol"),
        UnitKind.TRAFFIC: N_("traffic unit"),
    },
)
register_labels(AreaKind, {AreaKind.URBAN: N_("urban"), AreaKind.SUBURBAN: N_("suburban")})
register_labels(
    LocationFlag,
    {
        LocationFlag.NONE: N_("located"),
        LocationFlag.NO_COORDINATES: N_("no coordinates: place it"),
        LocationFlag.OUTSIDE_DISTRICT: N_("outside the district: check the place"),
    },
)


class StatsGrouping(StrEnum):
    """What a statistics change table is broken down by (`stats.period_table`)."""

    CLASS = "class"  # 类别, the first level of the category code
    TYPE = "type"  # 类型, the second level
    STATION = "station"


register_labels(
    StatsGrouping,
    {
        StatsGrouping.CLASS: N_("Category class"),
        StatsGrouping.TYPE: N_("Category type"),
        StatsGrouping.STATION: N_("Station"),
    },
)
# The Chinese words are those of the urban road classes of CJJ 37 (快速路, 主干路, 次干路, 支路).
register_labels(
    RoadClass,
    {
        RoadClass.MOTORWAY: N_("motorway"),
        RoadClass.MOTORWAY_LINK: N_("motorway slip road"),
        RoadClass.TRUNK: N_("expressway"),
        RoadClass.TRUNK_LINK: N_("expressway slip road"),
        RoadClass.PRIMARY: N_("arterial road"),
        RoadClass.PRIMARY_LINK: N_("arterial road link"),
        RoadClass.SECONDARY: N_("secondary arterial road"),
        RoadClass.SECONDARY_LINK: N_("secondary arterial road link"),
        RoadClass.TERTIARY: N_("branch road"),
        RoadClass.TERTIARY_LINK: N_("branch road link"),
        RoadClass.UNCLASSIFIED: N_("unclassified road"),
        RoadClass.RESIDENTIAL: N_("residential street"),
        RoadClass.LIVING_STREET: N_("living street"),
        RoadClass.SERVICE: N_("service road"),
    },
)
