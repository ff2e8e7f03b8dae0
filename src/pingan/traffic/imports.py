"""Import accidents from any CSV through a mapping file (`pingan accidents import FILE --mapping MAP.toml`),
in the mapping style of the incident import (`pingan.command.imports`).

The mapping names which column holds each accident field (`[columns]`; `occurred_at` may name several
columns, joined by a space, as STATS19's `date` and `time`), how times are written and in which zone
(`[time]`), the datum of the coordinates (`[coordinates]`), how the source's codes translate to ours
(`[values.collision]`, `[values.weather]`, `[values.lighting]`, `[values.surface]`,
`[values.severity]`), and values for fields the source lacks (`[defaults]`). A code already ours
passes as it is. Examples: `examples/mappings/accidents-stats19.toml`, `accidents-mmucc.toml`.

Casualties: map `deaths`, `serious_injuries`, `slight_injuries` (and `people_count`) where the source
has them. A source with the accident's severity alone (STATS19's accident table) gets the fewest
casualties its severity implies (one of the worst kind): a lower bound, recorded as such in the audit.

Every valid row is written in ONE transaction; a row that fails a check is quarantined (line, field,
message) and the import goes on; any other error rolls the whole import back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import ValidationError
from sqlalchemy import select

from pingan.command.datum import gcj02_to_wgs84
from pingan.core import audit, db
from pingan.core.errors import DomainError
from pingan.core.mapped_import import (
    ImportResult,
    MappingError,
    Quarantined,
    RowProblem,
    read_rows,
    read_toml,
)
from pingan.core.roles import Actor
from pingan.traffic import actions
from pingan.traffic.choices import CollisionType, Lighting, RoadSurface, Severity, Weather
from pingan.traffic.model import Accident
from pingan.traffic.schemas import AccidentIn

FIELDS = (
    "id", "occurred_at", "lat", "lon", "address", "collision", "weather", "lighting", "surface",
    "severity", "deaths", "serious_injuries", "slight_injuries", "people_count",
)  # fmt: skip
CODED: dict[str, type[StrEnum]] = {
    "collision": CollisionType,
    "weather": Weather,
    "lighting": Lighting,
    "surface": RoadSurface,
    "severity": Severity,
}
COUNTS = ("deaths", "serious_injuries", "slight_injuries", "people_count")


@dataclass(frozen=True)
class Mapping:
    """A parsed mapping file."""

    columns: dict[str, list[str]]
    time_format: str
    zone: ZoneInfo
    datum: str
    values: dict[str, dict[str, str]]
    defaults: dict[str, str]
    system: str
    delimiter: str = ","
    encoding: str = "utf-8"


def parse_mapping(raw: dict[str, Any], *, default_system: str = "import") -> Mapping:
    """Check a mapping's tables; a MappingError naming the bad key otherwise."""
    columns = raw.get("columns")
    if not isinstance(columns, dict) or not columns:
        raise MappingError("[columns]: name the column of each field (occurred_at, lat and lon at least)")
    unknown = sorted(set(columns) - set(FIELDS))
    if unknown:
        raise MappingError(f"[columns]: unknown field {unknown[0]!r} (fields: {', '.join(FIELDS)})")
    for need in ("occurred_at", "lat", "lon"):
        if need not in columns:
            raise MappingError(f"[columns]: {need} is required")
    cols = {k: ([str(c) for c in v] if isinstance(v, list) else [str(v)]) for k, v in columns.items()}
    time_t = raw.get("time", {})
    try:
        zone = ZoneInfo(str(time_t.get("zone", "Asia/Shanghai")))
    except (ZoneInfoNotFoundError, ValueError):
        raise MappingError(f"[time] zone: unknown time zone {time_t.get('zone')!r}") from None
    datum = str(raw.get("coordinates", {}).get("datum", "wgs84")).lower().replace("-", "")
    if datum not in ("wgs84", "gcj02"):
        raise MappingError(f"[coordinates] datum: {datum!r} is neither wgs84 nor gcj02")
    values: dict[str, dict[str, str]] = {}
    for name, table in raw.get("values", {}).items():
        enum = CODED.get(name)
        if enum is None:
            raise MappingError(f"[values.{name}]: not a coded field ({', '.join(CODED)})")
        for code, ours in table.items():
            if str(ours) not in enum.__members__.values():
                raise MappingError(f"[values.{name}] {code!r} = {ours!r}: not one of {', '.join(enum)}")
        values[name] = {str(k): str(v) for k, v in table.items()}
    defaults = {str(k): str(v) for k, v in raw.get("defaults", {}).items()}
    for name, value in defaults.items():
        enum = CODED.get(name)
        if enum is None or value not in enum.__members__.values():
            raise MappingError(f"[defaults] {name} = {value!r}: only coded fields, with one of our values")
    source = raw.get("source", {})
    system = str(source.get("system", default_system)).strip()
    if not system or len(system) > 64:
        raise MappingError("[source] system: give the source system's name (1 to 64 characters)")
    return Mapping(
        columns=cols,
        time_format=str(time_t.get("format", "iso")),
        zone=zone,
        datum=datum,
        values=values,
        defaults=defaults,
        system=system,
        delimiter=str(source.get("delimiter", ",")),
        encoding=str(source.get("encoding", "utf-8")),
    )


def load_mapping(path: Path) -> Mapping:
    """Read and check a mapping file."""
    return parse_mapping(read_toml(path), default_system=path.stem[:64])


def _number(value: str, name: str, kind: type[float] | type[int]) -> float:
    try:
        return kind(value)
    except ValueError:
        raise RowProblem(name, f"{value!r} is not a number") from None


def row_to_accident(row: dict[str, str], mapping: Mapping) -> tuple[str, AccidentIn, bool]:
    """The source id, the accident a row describes, and whether its casualties are a severity's
    lower bound; RowProblem naming the field otherwise."""

    def get(name: str) -> str:
        parts = []
        for column in mapping.columns.get(name, []):
            value = row.get(column)
            if value is None:
                raise RowProblem(name, f"the row has no column {column!r}")
            parts.append(value.strip())
        return " ".join(p for p in parts if p)

    text = get("occurred_at")
    if not text:
        raise RowProblem("occurred_at", "no time")
    try:
        fmt = mapping.time_format
        at = datetime.fromisoformat(text) if fmt == "iso" else datetime.strptime(text, fmt)  # noqa: DTZ007 - zone below
    except ValueError:
        raise RowProblem(
            "occurred_at", f"{text!r} does not match the format {mapping.time_format!r}"
        ) from None
    if at.tzinfo is None:
        at = at.replace(tzinfo=mapping.zone)
    lat_text, lon_text = get("lat"), get("lon")
    if not lat_text or not lon_text:
        raise RowProblem("lat" if not lat_text else "lon", "no coordinates")
    lat, lon = _number(lat_text, "lat", float), _number(lon_text, "lon", float)
    if not -90 <= lat <= 90:
        raise RowProblem("lat", f"{lat} is not a latitude")
    if not -180 <= lon <= 180:
        raise RowProblem("lon", f"{lon} is not a longitude")
    if mapping.datum == "gcj02":
        lat, lon = gcj02_to_wgs84(lat, lon)
    body: dict[str, Any] = {
        "occurred_at": at.astimezone(UTC),
        "lat": lat,
        "lon": lon,
        "address": get("address"),
    }
    for name, enum in CODED.items():
        source = get(name)
        if not source:
            if name in mapping.defaults:
                body[name] = mapping.defaults[name]
            continue
        ours = mapping.values.get(name, {}).get(source, source)
        if ours not in enum.__members__.values():
            raise RowProblem(name, f"unknown code {source!r}")
        body[name] = ours
    if "collision" not in body:
        raise RowProblem("collision", "no collision type (map the column or give [defaults] collision)")
    severity = body.pop("severity", None)
    for name in COUNTS:
        value = get(name)
        if value:
            n = int(_number(value, name, int))
            if n < 0:
                raise RowProblem(name, f"{n} is negative")
            body[name] = n
    lower_bound = False
    if severity is not None and not any(
        body.get(c) for c in ("deaths", "serious_injuries", "slight_injuries")
    ):
        # The severity alone: the fewest casualties it implies (see module).
        lower_bound = severity != Severity.DAMAGE_ONLY
        key = {"fatal": "deaths", "serious": "serious_injuries", "slight": "slight_injuries"}.get(severity)
        if key is not None:
            body[key] = 1
    try:
        accident = AccidentIn.model_validate(body)
    except ValidationError as exc:
        err = exc.errors()[0]
        raise RowProblem(str(err["loc"][0]) if err["loc"] else "row", err["msg"]) from None
    return get("id"), accident, lower_bound


def _rows(path: Path, mapping: Mapping) -> Iterator[tuple[int, dict[str, str]]]:
    return read_rows(
        path,
        encoding=mapping.encoding,
        delimiter=mapping.delimiter,
        columns={c for cols in mapping.columns.values() for c in cols},
    )


def count_rows(path: Path, mapping: Mapping) -> int:
    """How many data rows the file holds (for the progress bar)."""
    return sum(1 for _ in _rows(path, mapping))


def import_file(
    path: Path, mapping: Mapping, *, actor: Actor, progress: Callable[[int], None] | None = None
) -> ImportResult:
    """Import every valid row in one transaction; quarantine the others. See the module docstring."""
    result = ImportResult()
    seen: dict[str, int] = {}
    with db.transaction() as session:
        snapper = actions.Snapper.load(session)
        for line, row in _rows(path, mapping):
            result.rows += 1
            try:
                source_id, accident, lower_bound = row_to_accident(row, mapping)
                if len(source_id) > 64:
                    raise RowProblem("id", f"id {source_id[:20]!r}… is longer than 64 characters")
                if source_id and source_id in seen:
                    raise RowProblem("id", f"id {source_id!r} already on line {seen[source_id]}")
                stored = (
                    session.execute(
                        select(Accident.id).where(
                            Accident.source_system == mapping.system, Accident.source_id == source_id
                        )
                    ).scalar_one_or_none()
                    if source_id
                    else None
                )
                if stored is not None:
                    seen[source_id] = line
                    result.already.append((line, source_id, stored))
                    continue
                item = actions.NewAccident(
                    accident=accident,
                    actor=actor,
                    source_system=mapping.system if source_id else None,
                    source_id=source_id or None,
                )
                try:
                    checked = actions.check_record_accident(session, item)
                except DomainError as exc:
                    raise RowProblem(exc.field or "row", exc.message) from None
            except RowProblem as problem:
                result.quarantined.append(Quarantined(line, problem.field, problem.message, row))
            else:
                if source_id:
                    seen[source_id] = line
                a = actions.do_record_accident(session, item, checked, snapper=snapper)
                audit.record(
                    session,
                    actor=actor,
                    action="accident.import",
                    object_type="traffic_accident",
                    object_id=a.id,
                    detail={
                        "file": path.name,
                        "line": line,
                        "source_system": mapping.system,
                        "source_id": source_id,
                        "casualties_lower_bound": lower_bound,
                    },
                )
                result.imported.append(a.id)
            finally:
                if progress is not None:
                    progress(1)
    return result
