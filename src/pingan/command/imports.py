"""Import incidents from any CSV through a mapping file (`pingan incidents import FILE --mapping MAP.toml`).

The mapping names which column holds each incident field, how times are written and in which zone,
how the source's category codes translate to ours, and the datum of the coordinates (WGS-84 or
GCJ-02, converted to WGS-84). Each row becomes an `IncidentIn` and goes through the same
`actions.check_take_call` / `actions.do_take_call` as a call taken on the page, with `received_at`
set from the row.

Transaction policy: every valid row is written in ONE transaction, committed at the end. A row that
fails a check is quarantined (line, field, message) and the import goes on; an error that is not a
row's (a crash, the database gone) rolls the whole transaction back, so nothing is half-written. The
quarantine file is written only after the commit, so it describes an import that happened.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from pingan.command import actions
from pingan.command.categories import catalogue
from pingan.command.datum import gcj02_to_wgs84
from pingan.command.model import Incident
from pingan.command.schemas import IncidentIn
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

# The incident fields a mapping may fill from a column.
FIELDS = ("id", "received_at", "category", "text", "address", "lat", "lon", "station_code", "priority")
DATUMS = ("wgs84", "gcj02")


@dataclass(frozen=True)
class Mapping:
    """A parsed mapping file."""

    columns: dict[str, str]
    time_format: str
    zone: ZoneInfo
    datum: str
    categories: dict[str, str]
    keep_known_codes: bool
    delimiter: str = ","
    encoding: str = "utf-8"
    # The system the rows come from: with the `id` column, it makes each row's key, so that a re-import
    # of the same export finds the rows already there.
    system: str = "import"


def parse_mapping(raw: dict[str, Any], *, default_system: str = "import") -> Mapping:
    """Check a mapping's tables; a MappingError naming the bad key otherwise.

    `[source] system` names the source system; without it, `default_system` (the mapping file's name).
    """
    columns = raw.get("columns")
    if not isinstance(columns, dict) or not columns:
        raise MappingError("[columns]: name the column of each field (received_at at least)")
    unknown = sorted(set(columns) - set(FIELDS))
    if unknown:
        raise MappingError(f"[columns]: unknown field {unknown[0]!r} (fields: {', '.join(FIELDS)})")
    if "received_at" not in columns:
        raise MappingError("[columns]: received_at is required")
    if ("lat" in columns) != ("lon" in columns):
        raise MappingError("[columns]: map both lat and lon, or neither")
    time_t = raw.get("time", {})
    fmt = str(time_t.get("format", "iso"))
    try:
        zone = ZoneInfo(str(time_t.get("zone", "Asia/Shanghai")))
    except (ZoneInfoNotFoundError, ValueError):
        raise MappingError(f"[time] zone: unknown time zone {time_t.get('zone')!r}") from None
    source = raw.get("source", {})
    datum = str(raw.get("coordinates", {}).get("datum", "wgs84")).lower().replace("-", "")
    if datum not in DATUMS:
        raise MappingError(f"[coordinates] datum: {datum!r} is neither wgs84 nor gcj02")
    system = str(source.get("system", default_system)).strip()
    if not system or len(system) > 64:
        raise MappingError("[source] system: give the source system's name (1 to 64 characters)")
    cat_t = raw.get("categories", {})
    table = cat_t.get("map", {})
    cat = catalogue()
    for source_code, ours in table.items():
        if cat.get(str(ours)) is None:
            raise MappingError(
                f"[categories.map] {source_code!r} = {ours!r}: not a code of catalogue {cat.version}"
            )
    return Mapping(
        columns={k: str(v) for k, v in columns.items()},
        time_format=fmt,
        zone=zone,
        datum=datum,
        categories={str(k): str(v) for k, v in table.items()},
        keep_known_codes=bool(cat_t.get("keep_known_codes", False)),
        delimiter=str(source.get("delimiter", ",")),
        encoding=str(source.get("encoding", "utf-8")),
        system=system,
    )


def load_mapping(path: Path) -> Mapping:
    """Read and check a mapping file."""
    return parse_mapping(read_toml(path), default_system=path.stem[:64])


def parse_time(value: str, mapping: Mapping) -> datetime:
    """The row's time in UTC; a naive time is in the mapping's zone."""
    text = value.strip()
    if not text:
        raise RowProblem("received_at", "no time")
    try:
        t = (
            datetime.fromisoformat(text)
            if mapping.time_format == "iso"
            else datetime.strptime(text, mapping.time_format)  # noqa: DTZ007 - zone applied below
        )
    except ValueError:
        raise RowProblem(
            "received_at", f"{text!r} does not match the format {mapping.time_format!r}"
        ) from None
    if t.tzinfo is None:
        t = t.replace(tzinfo=mapping.zone)
    return t.astimezone(UTC)


def _float(value: str, name: str) -> float:
    try:
        return float(value)
    except ValueError:
        raise RowProblem(name, f"{value!r} is not a number") from None


def row_to_call(row: dict[str, str], mapping: Mapping) -> tuple[str, IncidentIn]:
    """The source id and the call a row describes; RowProblem naming the field otherwise."""
    cols = mapping.columns

    def get(name: str) -> str:
        column = cols.get(name)
        if column is None:
            return ""
        value = row.get(column)
        if value is None:
            raise RowProblem(name, f"the row has no column {column!r}")
        return value.strip()

    received_at = parse_time(get("received_at"), mapping)
    code: str | None = None
    source_code = get("category")
    if source_code:
        if source_code in mapping.categories:
            code = mapping.categories[source_code]
        elif mapping.keep_known_codes and catalogue().get(source_code) is not None:
            code = source_code
        else:
            raise RowProblem("category", f"unknown category code {source_code!r}")
    lat = lon = None
    lat_text, lon_text = get("lat"), get("lon")
    if lat_text or lon_text:
        if not (lat_text and lon_text):
            raise RowProblem("lon" if lat_text else "lat", "give both lat and lon, or neither")
        lat, lon = _float(lat_text, "lat"), _float(lon_text, "lon")
        if not (-90 <= lat <= 90):
            raise RowProblem("lat", f"{lat} is not a latitude")
        if not (-180 <= lon <= 180):
            raise RowProblem("lon", f"{lon} is not a longitude")
        if mapping.datum == "gcj02":
            lat, lon = gcj02_to_wgs84(lat, lon)
    body: dict[str, Any] = {
        "received_at": received_at,
        "text": get("text"),
        "category_code": code,
        "address": get("address"),
        "lat": lat,
        "lon": lon,
    }
    if get("station_code"):
        body["station_code"] = get("station_code")
    if get("priority"):
        body["priority"] = get("priority")
    try:
        call = IncidentIn.model_validate(body)
    except ValidationError as exc:
        err = exc.errors()[0]
        name = str(err["loc"][0]) if err["loc"] else "row"
        raise RowProblem("category" if name == "category_code" else name, err["msg"]) from None
    return get("id"), call


def _rows(path: Path, mapping: Mapping) -> Iterator[tuple[int, dict[str, str]]]:
    return read_rows(
        path,
        encoding=mapping.encoding,
        delimiter=mapping.delimiter,
        columns={c for c in mapping.columns.values()},
    )


def count_rows(path: Path, mapping: Mapping) -> int:
    """How many data rows the file holds (for the progress bar)."""
    return sum(1 for _ in _rows(path, mapping))


def import_file(
    path: Path,
    mapping: Mapping,
    *,
    actor: Actor,
    progress: Callable[[int], None] | None = None,
) -> ImportResult:
    """Import every valid row in one transaction; quarantine the others. See the module docstring."""
    result = ImportResult()
    seen: dict[str, int] = {}
    with db.transaction() as session:
        for line, row in _rows(path, mapping):
            result.rows += 1
            try:
                source_id, call = row_to_call(row, mapping)
                if source_id and source_id in seen:
                    raise RowProblem("id", f"id {source_id!r} already on line {seen[source_id]}")
                if len(source_id) > 64:
                    raise RowProblem("id", f"id {source_id[:20]!r}… is longer than 64 characters")
                stored = _stored_id(session, mapping.system, source_id) if source_id else None
                if stored is not None:
                    seen[source_id] = line
                    result.already.append((line, source_id, stored))
                    if progress is not None:
                        progress(1)
                    continue
                item = actions.NewCall(
                    call=call,
                    actor=actor,
                    source_system=mapping.system if source_id else None,
                    source_id=source_id or None,
                )
                try:
                    related = actions.check_take_call(session, item)
                except DomainError as exc:
                    name = exc.field or "row"
                    raise RowProblem("category" if name == "category_code" else name, exc.message) from None
            except RowProblem as problem:
                result.quarantined.append(Quarantined(line, problem.field, problem.message, row))
            else:
                if source_id:
                    seen[source_id] = line
                incident = actions.do_take_call(session, item, related=related)
                audit.record(
                    session,
                    actor=actor,
                    action="incident.import",
                    object_type="incident",
                    object_id=incident.id,
                    detail={
                        "file": path.name,
                        "line": line,
                        "source_system": mapping.system,
                        "source_id": source_id,
                    },
                )
                result.imported.append(incident.id)
            if progress is not None:
                progress(1)
    return result


def _stored_id(session: Session, system: str, source_id: str) -> int | None:
    """The incident an earlier import stored for this source row, if any."""
    return session.execute(
        select(Incident.id).where(Incident.source_system == system, Incident.source_id == source_id)
    ).scalar_one_or_none()
