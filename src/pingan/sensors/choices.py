"""Kinds and states of sensors and officer devices: what other packages may import."""

from __future__ import annotations

from enum import StrEnum

from pingan.core.i18n import N_, register_labels


class DeviceKind(StrEnum):
    """What a registered device is (感知源 of a smart community, an officer's device)."""

    SMOKE_DETECTOR = "smoke_detector"  # 烟感
    DOOR_SENSOR = "door_sensor"  # 门磁
    SOS_BUTTON = "sos_button"  # 一键报警
    LIFT_CAMERA = "lift_camera"  # 电梯电动车识别 (sends the verdict only, never the picture)
    FIRE_LANE_SENSOR = "fire_lane_sensor"  # 消防通道占用
    HOLSTER = "holster"  # 智能枪套
    UNIT_TRACKER = "unit_tracker"  # a unit's GPS
    CROWD_COUNTER = "crowd_counter"  # 客流计数: a zone's head count, a number only (its community: the event)
    DRONE_DETECTOR = "drone_detector"  # 低慢小探测: reports a drone's position


COMMUNITY_KINDS = frozenset(
    {
        DeviceKind.SMOKE_DETECTOR,
        DeviceKind.DOOR_SENSOR,
        DeviceKind.SOS_BUTTON,
        DeviceKind.LIFT_CAMERA,
        DeviceKind.FIRE_LANE_SENSOR,
    }
)


class AlarmType(StrEnum):
    """A smart-community alarm."""

    SMOKE = "smoke"
    DOOR_FORCED = "door_forced"
    SOS = "sos"
    EBIKE_IN_LIFT = "ebike_in_lift"
    FIRE_LANE_BLOCKED = "fire_lane_blocked"


class HolsterEvent(StrEnum):
    """An event of a smart holster or conducted-energy weapon (CEW)."""

    HOLSTER_DRAW = "holster_draw"
    HOLSTER_RETURN = "holster_return"
    CEW_ARMED = "cew_armed"
    CEW_TRIGGER = "cew_trigger"
    SHOT_DETECTED = "shot_detected"
    LOW_BATTERY = "low_battery"


# A draw, a trigger or a shot puts the officer in danger: each raises (or joins) the safety alert.
DANGER_EVENTS = frozenset({HolsterEvent.HOLSTER_DRAW, HolsterEvent.CEW_TRIGGER, HolsterEvent.SHOT_DETECTED})


class Refusal(StrEnum):
    """Why the ingest refused a message (the dead letter's reason, the metric's label)."""

    TOO_LARGE = "too_large"
    MALFORMED_JSON = "malformed_json"
    UNKNOWN_TOPIC = "unknown_topic"
    UNKNOWN_SCHEMA = "unknown_schema"
    INVALID_FIELD = "invalid_field"
    FORBIDDEN_MEDIA = "forbidden_media"
    UNKNOWN_DEVICE = "unknown_device"
    TOPIC_MISMATCH = "topic_mismatch"
    BAD_SIGNATURE = "bad_signature"
    REPLAYED = "replayed"
    STALE_TIMESTAMP = "stale_timestamp"
    PROCESSING_FAILED = "processing_failed"  # valid, but acting on it failed (the error is kept)
    ZONE_RETIRED = "zone_retired"  # a count for a zone retired from its event


class AlarmDecision(StrEnum):
    """What the rules made of an accepted alarm."""

    INCIDENT = "incident"  # a new command incident
    DEDUPLICATED = "deduplicated"  # the same device and type within the window: joins that incident


class AckState(StrEnum):
    """The acknowledgement sent back on the device's `…/ack` topic (APCO 2.101 two-way link)."""

    RECEIVED = "received"
    DISPATCHED = "dispatched"
    CLOSED = "closed"


class Outcome(StrEnum):
    """What a closed alarm turned out to be: the false-alarm score learns from it."""

    UNKNOWN = "unknown"
    REAL = "real"
    FALSE = "false"


class AlertState(StrEnum):
    """An officer-safety alert: active until resolved, or marked false with the reason."""

    ACTIVE = "active"
    RESOLVED = "resolved"
    FALSE_ALARM = "false_alarm"


register_labels(
    DeviceKind,
    {
        DeviceKind.SMOKE_DETECTOR: N_("smoke detector"),
        DeviceKind.DOOR_SENSOR: N_("door sensor"),
        DeviceKind.SOS_BUTTON: N_("SOS button"),
        DeviceKind.LIFT_CAMERA: N_("lift e-bike detector"),
        DeviceKind.FIRE_LANE_SENSOR: N_("fire-lane sensor"),
        DeviceKind.HOLSTER: N_("smart holster"),
        DeviceKind.UNIT_TRACKER: N_("unit GPS tracker"),
        DeviceKind.CROWD_COUNTER: N_("crowd counter"),
        DeviceKind.DRONE_DETECTOR: N_("drone detector"),
    },
)
register_labels(
    AlarmType,
    {
        AlarmType.SMOKE: N_("smoke"),
        AlarmType.DOOR_FORCED: N_("door forced"),
        AlarmType.SOS: N_("SOS"),
        AlarmType.EBIKE_IN_LIFT: N_("e-bike in lift"),
        AlarmType.FIRE_LANE_BLOCKED: N_("fire lane blocked"),
    },
)
register_labels(
    HolsterEvent,
    {
        HolsterEvent.HOLSTER_DRAW: N_("sidearm drawn"),
        HolsterEvent.HOLSTER_RETURN: N_("sidearm holstered"),
        HolsterEvent.CEW_ARMED: N_("CEW armed"),
        HolsterEvent.CEW_TRIGGER: N_("CEW triggered"),
        HolsterEvent.SHOT_DETECTED: N_("shot detected"),
        HolsterEvent.LOW_BATTERY: N_("low battery"),
    },
)
register_labels(
    Refusal,
    {
        Refusal.TOO_LARGE: N_("too large"),
        Refusal.MALFORMED_JSON: N_("malformed JSON"),
        Refusal.UNKNOWN_TOPIC: N_("unknown topic"),
        Refusal.UNKNOWN_SCHEMA: N_("unknown schema version"),
        Refusal.INVALID_FIELD: N_("invalid field"),
        Refusal.FORBIDDEN_MEDIA: N_("image, video or biometric data"),
        Refusal.UNKNOWN_DEVICE: N_("unknown device"),
        Refusal.TOPIC_MISMATCH: N_("topic does not match the device"),
        Refusal.BAD_SIGNATURE: N_("bad signature"),
        Refusal.REPLAYED: N_("replayed"),
        Refusal.STALE_TIMESTAMP: N_("timestamp outside the window"),
        Refusal.PROCESSING_FAILED: N_("processing failed"),
        Refusal.ZONE_RETIRED: N_("zone retired"),
    },
)
register_labels(
    AlarmDecision,
    {AlarmDecision.INCIDENT: N_("new incident"), AlarmDecision.DEDUPLICATED: N_("deduplicated")},
)
register_labels(
    AckState,
    {AckState.RECEIVED: N_("received"), AckState.DISPATCHED: N_("dispatched"), AckState.CLOSED: N_("closed")},
)
register_labels(
    Outcome, {Outcome.UNKNOWN: N_("not known"), Outcome.REAL: N_("real"), Outcome.FALSE: N_("false alarm")}
)
register_labels(
    AlertState,
    {
        AlertState.ACTIVE: N_("active"),
        AlertState.RESOLVED: N_("resolved"),
        AlertState.FALSE_ALARM: N_("marked false"),
    },
)


class CrowdAlertKind(StrEnum):
    """What a large event's alert is about."""

    CROWD = "crowd"  # a zone's count reached a level (watch, control, over)
    DRONE = "drone"  # a "low, slow, small" drone reported inside a no-fly zone


register_labels(
    CrowdAlertKind,
    {CrowdAlertKind.CROWD: N_("crowd level"), CrowdAlertKind.DRONE: N_("drone in no-fly zone")},
)


class EventAlertState(StrEnum):
    """A large event's alert (crowd or drone): active until a dispatcher or supervisor closes it,
    saying how it ended. The closing states are the reasons a form offers."""

    ACTIVE = "active"
    RESOLVED = "resolved"  # dealt with on the ground: the crowd thinned, the drone landed or left
    FALSE_ALARM = "false_alarm"  # a counter's fault, a bird on the radar
    HANDED_OVER = "handed_over"  # passed to another command (the venue's security, the air police)


EVENT_ALERT_CLOSINGS = (EventAlertState.RESOLVED, EventAlertState.FALSE_ALARM, EventAlertState.HANDED_OVER)

register_labels(
    EventAlertState,
    {
        EventAlertState.ACTIVE: N_("active"),
        EventAlertState.RESOLVED: N_("resolved"),
        EventAlertState.FALSE_ALARM: N_("false alarm"),
        EventAlertState.HANDED_OVER: N_("handed over"),
    },
)
