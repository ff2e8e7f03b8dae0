"""`pingan sim devices`: the district's registered devices, played on the MQTT broker.

The plan is made first, from the seed alone (same seed, devices and road graph: the same messages in
the same order at the same offsets), then published in real time (or faster, `speed`), each message
signed with its device's key and numbered after the device's last accepted number:

- community alarms arrive as a Poisson process at `alarms_per_hour` over the community devices; each
  is false with its type's share (`FALSE_ALARM_SHARE`, an assumption). A real smoke alarm is
  confirmed by a second smoke detector of its community when it has one; a real alarm of another
  type repeats once (the device going on ringing), which the ingest's dedup window joins.
- holster events arrive at `holster_per_hour`, only from holsters whose unit works an open incident
  (the danger is at a job): a draw, sometimes the CEW armed first, and the holster returned later.
- each tracker's unit drives along the stored road graph (command's `road_segments`) from the node
  nearest its position, at a town speed, turning at random (never straight back unless it must),
  with a fix every `position_every_s`.
- with a crowd event, each zone's count follows an arrival curve (a ramp in, a plateau with
  noise, a ramp out) to its share of the capacity, every `crowd_every_s`: aggregate numbers only.
"""

from __future__ import annotations

import json
import math
import random
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pingan.command.queries import RoadSegments
from pingan.sensors.actions import DeviceForSimulation
from pingan.sensors.choices import AlarmType, DeviceKind, HolsterEvent
from pingan.sensors.rules import sign

# ASSUMPTION (docs/mqtt.md): the share of each alarm type that turns out false. Automatic smoke
# alarms are mostly cooking fumes, steam or dust; door contacts mostly residents; SOS buttons are
# pressed by children and by mistake; the lift's e-bike recogniser and the fire-lane sensor mostly see
# what they report. Not measured in the seed's district: replace with its outcome statistics.
FALSE_ALARM_SHARE: dict[AlarmType, float] = {
    AlarmType.SMOKE: 0.85,
    AlarmType.DOOR_FORCED: 0.75,
    AlarmType.SOS: 0.6,
    AlarmType.EBIKE_IN_LIFT: 0.2,
    AlarmType.FIRE_LANE_BLOCKED: 0.3,
}
KIND_ALARM: dict[DeviceKind, AlarmType] = {
    DeviceKind.SMOKE_DETECTOR: AlarmType.SMOKE,
    DeviceKind.DOOR_SENSOR: AlarmType.DOOR_FORCED,
    DeviceKind.SOS_BUTTON: AlarmType.SOS,
    DeviceKind.LIFT_CAMERA: AlarmType.EBIKE_IN_LIFT,
    DeviceKind.FIRE_LANE_SENSOR: AlarmType.FIRE_LANE_BLOCKED,
}
TOWN_SPEED_MS = (6.0, 12.0)  # a patrol car's speed in town, 22-43 km/h, drawn per unit


@dataclass(frozen=True)
class Params:
    """How much the simulator publishes, and for how long."""

    duration_s: float = 300.0
    alarms_per_hour: float = 60.0
    holster_per_hour: float = 4.0
    position_every_s: float = 5.0
    crowd_event: str = ""
    crowd_zones: int = 3
    crowd_capacity: int = 5000
    crowd_every_s: float = 10.0
    topic_root: str = "pingan"  # the ingest's PINGAN_SENSORS_TOPIC_ROOT


@dataclass(frozen=True)
class Planned:
    """One message to publish: when (seconds after the start), by which device, on which topic, with
    its kind's fields (the envelope and signature are added when it is sent), and the truth."""

    at_s: float
    device: str
    topic: str
    fields: dict[str, Any]
    truth: str = ""  # "real" or "false" for an alarm, "" otherwise


@dataclass(frozen=True)
class Graph:
    """The road graph as the simulator walks it: node coordinates and each node's neighbours."""

    lat: np.ndarray
    lon: np.ndarray
    neighbours: dict[int, list[int]]

    @classmethod
    def from_segments(cls, seg: RoadSegments) -> Graph:
        index: dict[tuple[float, float], int] = {}
        lat: list[float] = []
        lon: list[float] = []

        def node(la: float, lo: float) -> int:
            key = (round(la, 7), round(lo, 7))
            if key not in index:
                index[key] = len(lat)
                lat.append(la)
                lon.append(lo)
            return index[key]

        neighbours: dict[int, list[int]] = defaultdict(list)
        for k in range(len(seg.edge_id)):
            a = node(float(seg.a_lat[k]), float(seg.a_lon[k]))
            b = node(float(seg.b_lat[k]), float(seg.b_lon[k]))
            if a != b:
                neighbours[a].append(b)
                neighbours[b].append(a)  # a car may drive either way in the simulation
        return cls(np.array(lat), np.array(lon), {n: sorted(set(v)) for n, v in neighbours.items()})

    def nearest(self, lat: float, lon: float) -> int:
        d = (self.lat - lat) ** 2 + ((self.lon - lon) * math.cos(math.radians(lat))) ** 2
        return int(np.argmin(d))

    def metres(self, a: int, b: int) -> float:
        dy = (self.lat[b] - self.lat[a]) * 111_320.0
        dx = (self.lon[b] - self.lon[a]) * 111_320.0 * math.cos(math.radians(float(self.lat[a])))
        return float(math.hypot(dx, dy))


def _poisson_times(rng: random.Random, per_hour: float, duration_s: float) -> list[float]:
    times: list[float] = []
    if per_hour <= 0:
        return times
    t = rng.expovariate(per_hour / 3600.0)
    while t < duration_s:
        times.append(round(t, 3))
        t += rng.expovariate(per_hour / 3600.0)
    return times


def plan_alarms(rng: random.Random, devices: Sequence[DeviceForSimulation], p: Params) -> list[Planned]:
    """Community alarms with their false share; a real smoke alarm confirmed by a second detector."""
    community = [d for d in devices if d.kind in KIND_ALARM]
    if not community:
        return []
    smoke_by_community: dict[str, list[DeviceForSimulation]] = defaultdict(list)
    for d in community:
        if d.kind is DeviceKind.SMOKE_DETECTOR:
            smoke_by_community[d.community].append(d)
    out: list[Planned] = []
    for t in _poisson_times(rng, p.alarms_per_hour, p.duration_s):
        d = rng.choice(community)
        alarm = KIND_ALARM[d.kind]
        false = rng.random() < FALSE_ALARM_SHARE[alarm]
        topic = f"{p.topic_root}/{d.community}/{d.device_id}/alarm"
        truth = "false" if false else "real"
        out.append(Planned(t, d.device_id, topic, {"type": alarm.value}, truth))
        if false:
            continue
        later = round(t + rng.uniform(5.0, 60.0), 3)
        others = [o for o in smoke_by_community[d.community] if o.device_id != d.device_id]
        if alarm is AlarmType.SMOKE and others:
            o = rng.choice(others)
            out.append(Planned(later, o.device_id, f"{p.topic_root}/{o.community}/{o.device_id}/alarm",
                               {"type": alarm.value}, truth))  # fmt: skip
        else:
            out.append(Planned(later, d.device_id, topic, {"type": alarm.value}, truth))
    return out


def plan_holster(
    rng: random.Random, devices: Sequence[DeviceForSimulation], working: set[str], p: Params
) -> list[Planned]:
    """Draws by officers whose unit (in `working`: call signs on an open incident) is at a job."""
    holsters = [d for d in devices if d.kind is DeviceKind.HOLSTER and d.unit_call_sign in working]
    out: list[Planned] = []
    if not holsters:
        return out
    for t in _poisson_times(rng, p.holster_per_hour, p.duration_s):
        d = rng.choice(holsters)
        topic = f"{p.topic_root}/holster/{d.device_id}/event"
        if rng.random() < 0.3:
            out.append(Planned(max(0.0, round(t - 2.0, 3)), d.device_id, topic,
                               {"event": HolsterEvent.CEW_ARMED.value}))  # fmt: skip
        out.append(Planned(t, d.device_id, topic, {"event": HolsterEvent.HOLSTER_DRAW.value}))
        back = round(t + rng.uniform(20.0, 120.0), 3)
        out.append(Planned(back, d.device_id, topic, {"event": HolsterEvent.HOLSTER_RETURN.value}))
    return out


def plan_tracks(
    rng: random.Random,
    devices: Sequence[DeviceForSimulation],
    starts: dict[str, tuple[float, float]],
    graph: Graph | None,
    p: Params,
) -> list[Planned]:
    """Each tracker's unit driving the road graph from the node nearest its start, a fix each period."""
    trackers = [d for d in devices if d.kind is DeviceKind.UNIT_TRACKER and d.unit_call_sign]
    out: list[Planned] = []
    if graph is None or not graph.neighbours or p.position_every_s <= 0:
        return out
    for d in trackers:
        start = starts.get(d.unit_call_sign)
        here = graph.nearest(*start) if start else rng.choice(sorted(graph.neighbours))
        came_from = -1
        speed = rng.uniform(*TOWN_SPEED_MS)
        travelled = 0.0  # metres along the current edge
        t = round(rng.uniform(0.0, p.position_every_s), 3)
        nxt = here
        while t < p.duration_s:
            step = speed * p.position_every_s
            while step > 0:
                if nxt == here:
                    choices = [n for n in graph.neighbours.get(here, []) if n != came_from]
                    choices = choices or graph.neighbours.get(here, [])
                    if not choices:
                        break
                    nxt, travelled = rng.choice(choices), 0.0
                length = graph.metres(here, nxt)
                if travelled + step < length:
                    travelled += step
                    step = 0.0
                else:
                    step -= length - travelled
                    came_from, here, travelled = here, nxt, 0.0
            f = travelled / max(graph.metres(here, nxt), 1e-9) if nxt != here else 0.0
            lat = float(graph.lat[here] + f * (graph.lat[nxt] - graph.lat[here]))
            lon = float(graph.lon[here] + f * (graph.lon[nxt] - graph.lon[here]))
            topic = f"{p.topic_root}/units/{d.unit_call_sign}/position"
            out.append(Planned(t, d.device_id, topic, {"lat": round(lat, 6), "lon": round(lon, 6)}))
            t = round(t + p.position_every_s, 3)
    return out


def crowd_share(t: float, duration_s: float) -> float:
    """The arrival curve: the share of the event's peak crowd present at `t` (0..1): a logistic ramp
    in over the first quarter, a plateau, and a ramp out over the last fifth."""
    if duration_s <= 0:
        return 0.0
    x = t / duration_s
    rise = 1.0 / (1.0 + math.exp(-(x - 0.12) / 0.03))
    fall = 1.0 / (1.0 + math.exp((x - 0.9) / 0.03))
    return max(0.0, min(1.0, rise * fall))


def plan_crowd(rng: random.Random, p: Params) -> list[Planned]:
    """Zone counts of a crowd event along the arrival curve: numbers only, never an image or a face."""
    out: list[Planned] = []
    if not p.crowd_event or p.crowd_zones <= 0 or p.crowd_every_s <= 0:
        return out
    # Zones fill unevenly; the busiest peaks a little over its capacity (a graded alert's case).
    peaks = [rng.uniform(0.6, 1.05) for _ in range(p.crowd_zones)]
    t = 0.0
    while t < p.duration_s:
        share = crowd_share(t, p.duration_s)
        for z, peak in enumerate(peaks):
            count = max(0, round(p.crowd_capacity * peak * share * rng.uniform(0.97, 1.03)))
            zone = f"zone-{z + 1}"
            out.append(Planned(round(t, 3), f"{p.crowd_event}-{zone}",
                               f"{p.topic_root}/crowd/{p.crowd_event}/{zone}/count", {"count": count}))  # fmt: skip
        t += p.crowd_every_s
    return out


def plan(
    seed: int,
    devices: Sequence[DeviceForSimulation],
    *,
    working: set[str],
    starts: dict[str, tuple[float, float]],
    graph: Graph | None,
    p: Params,
) -> list[Planned]:
    """The whole run's messages in the order they go out; a function of its arguments alone."""
    rng = random.Random(seed)
    messages = [
        *plan_alarms(random.Random(rng.random()), devices, p),
        *plan_holster(random.Random(rng.random()), devices, working, p),
        *plan_tracks(random.Random(rng.random()), devices, starts, graph, p),
        *plan_crowd(random.Random(rng.random()), p),
    ]
    return sorted(messages, key=lambda m: (m.at_s, m.device, m.topic))


def _acked(info: Any) -> bool:
    """Whether the broker acknowledged a QoS 1 message (one queued while away is not, yet)."""
    try:
        return bool(info.is_published())
    except (RuntimeError, ValueError):
        return False


@dataclass
class Sent:
    """What a run published, by topic kind, and the alarms' truth."""

    by_kind: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    false_alarms: int = 0
    real_alarms: int = 0
    unacked: int = 0


def publish(
    planned: Sequence[Planned],
    devices: Sequence[DeviceForSimulation],
    *,
    host: str,
    port: int,
    client_id: str,
    speed: float = 1.0,
    now_iso: Callable[[], str],
) -> Sent:
    """Send the plan at QoS 1 (a persistent session of the simulator's own), each message numbered
    after its device's last number and signed with its key; waits for the broker's PUBACKs."""
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    keys = {d.device_id: d.key for d in devices}
    seqs = {d.device_id: d.last_seq for d in devices}
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False,
                         protocol=mqtt.MQTTv311)  # fmt: skip
    client.max_queued_messages_set(0)
    client.reconnect_delay_set(1, 5)
    connected = threading.Event()
    client.on_connect = lambda *_: connected.set()
    client.connect(host, port, keepalive=30)
    client.loop_start()
    if not connected.wait(10):
        client.loop_stop()
        raise ConnectionError(f"no MQTT broker answered on {host}:{port}")
    sent = Sent()
    infos = []
    start = time.monotonic()
    try:
        for m in planned:
            wait = start + m.at_s / speed - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            body: dict[str, Any] = {"v": 1, "device": m.device, "ts": now_iso(), **m.fields}
            if m.device in keys:
                seqs[m.device] += 1
                body["seq"] = seqs[m.device]
                body["sig"] = sign(keys[m.device], body)
            infos.append(client.publish(m.topic, json.dumps(body, ensure_ascii=False), qos=1))
            sent.by_kind[m.topic.rsplit("/", 1)[-1]] += 1
            if m.truth == "false":
                sent.false_alarms += 1
            elif m.truth == "real":
                sent.real_alarms += 1
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not all(_acked(i) for i in infos):
            time.sleep(0.05)
        sent.unacked = sum(1 for i in infos if not _acked(i))
    finally:
        client.disconnect()
        client.loop_stop()
    return sent
