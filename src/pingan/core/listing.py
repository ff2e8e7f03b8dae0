"""Lists that work: whitelisted sorting, cursor paging on a stable key, filters parsed from query
parameters, search through pseudonyms, and the same filtered query exported to CSV or XLSX, audited.

A list page names what it offers in one `ListSpec`: the columns it may be sorted by, the default
order, and its id column, which breaks ties so that every row has one place in the order. A page
reads `ListParams` (sort, cursor, limit, search) from the query string, builds its filtered
`Select` of labelled columns, and calls `fetch_page`; the export routes call `export_response`
with the same `Select`, so that an export holds exactly the rows the filters select.

- **Cursor.** The sort key's value and the id of the row a page ends (or starts) at, with the sort
  it belongs to, as base64 of JSON with an HMAC under the server's key: a client cannot forge a
  cursor that reads past its filters, and a cursor of another sort is refused (422, `cursor`).
  Rows inserted while someone pages do not make a row appear twice or be skipped, since a page
  starts strictly after the previous page's last (value, id).
- **Search** compares pseudonyms: a typed phone or card number is normalised and keyed with
  `pii.lookup_key`, and the list matches its pseudonym columns. Clear values are neither scanned
  nor decrypted, and the audit log records the pseudonym, not the number typed.
- **Export** writes the masked values the page shows, times in Beijing time (the header names the
  zone) and money in yuan. It is spooled to a temporary file while the rows are read, so a large
  export does not sit in memory, and it records one audit entry `LIST.export` with the reader, the
  filters, the format, the number of rows and the reader's station scope.
"""

from __future__ import annotations

import base64
import contextlib
import csv
import hashlib
import hmac
import io
import json
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal
from enum import StrEnum
from typing import IO, Any, Literal, TypeVar
from urllib.parse import urlencode

from fastapi import Query
from fastapi.responses import StreamingResponse
from sqlalchemy import ColumnElement, Row, Select, and_, false, func, or_, select
from sqlalchemy.orm import QueryableAttribute, Session

from pingan.core import audit, clock
from pingan.core.errors import Invalid
from pingan.core.i18n import _, label
from pingan.core.pages import beijing_time, district_zone
from pingan.core.pii import PiiKind, lookup_key
from pingan.core.roles import Actor
from pingan.core.scoping import scope_of
from pingan.core.settings import get_settings

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
SEARCH_MAX = 64
# Column labels `fetch_page` adds to a list's select, to build the cursors of a page from its rows.
_SORT_VALUE = "listing_sort_value"
_ROW_ID = "listing_row_id"

E = TypeVar("E", bound=StrEnum)
SortColumn = ColumnElement[Any] | QueryableAttribute[Any]


@dataclass(frozen=True)
class ListSpec:
    """What one list offers: its audit name, the columns it may be sorted by, its default order and
    the id column that breaks ties. Sort columns are NOT NULL, so that (value, id) orders every row."""

    name: str
    sorts: Mapping[str, SortColumn]
    default_sort: str
    id_column: SortColumn


@dataclass(frozen=True)
class Sort:
    """A list's order: the whitelisted key and its direction."""

    key: str
    descending: bool

    @property
    def param(self) -> str:
        """The order as the `sort` query parameter writes it: `reported_at`, or `-reported_at` descending."""
        return f"-{self.key}" if self.descending else self.key


def parse_sort(spec: ListSpec, raw: str | None) -> Sort:
    """The order a `sort` parameter asks for (`-` first for descending); Invalid naming `sort` unless
    the column is one the list may be sorted by."""
    text = (raw or spec.default_sort).strip()
    descending = text.startswith("-")
    key = text.lstrip("-")
    if key not in spec.sorts:
        allowed = ", ".join(sorted(spec.sorts))
        raise Invalid(f"cannot sort by {key!r}: sort by one of {allowed}", field="sort")
    return Sort(key, descending)


@dataclass(frozen=True)
class ListParams:
    """The query parameters every list takes besides its own filters."""

    sort: str = ""
    cursor: str = ""
    limit: int = DEFAULT_LIMIT
    q: str = ""

    def carried(self) -> dict[str, str]:
        """The parameters a list's links carry from page to page (the cursor is each link's own)."""
        return {
            "q": self.q,
            "sort": self.sort,
            "limit": "" if self.limit == DEFAULT_LIMIT else str(self.limit),
        }


def list_params(
    sort: str = Query("", max_length=40),
    cursor: str = Query("", max_length=400),
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
    q: str = Query("", max_length=SEARCH_MAX),
) -> ListParams:
    """The paging, sorting and search parameters of a list page (a FastAPI dependency)."""
    return ListParams(sort=sort, cursor=cursor, limit=limit, q=q.strip())


# ---------------------------------------------------------------------------------------------- cursor


@dataclass(frozen=True)
class Cursor:
    """A position in a sorted list: the (value, id) of a row, and whether the page runs before it."""

    sort: str
    value: Any
    row_id: int
    before: bool = False


def _sign(payload: bytes) -> str:
    key = get_settings().secret_key.encode()
    return hmac.new(key, b"list-cursor:" + payload, hashlib.sha256).hexdigest()[:24]


def _tagged(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"t": value.astimezone(UTC).isoformat()}
    if isinstance(value, Decimal):
        return {"d": str(value)}
    if isinstance(value, StrEnum):
        return str(value.value)
    return value


def _untagged(value: Any) -> Any:
    if isinstance(value, dict) and "t" in value:
        return datetime.fromisoformat(value["t"])
    if isinstance(value, dict) and "d" in value:
        return Decimal(value["d"])
    return value


def encode_cursor(cursor: Cursor) -> str:
    """An opaque, signed cursor."""
    payload = json.dumps(
        [cursor.sort, _tagged(cursor.value), cursor.row_id, cursor.before], separators=(",", ":")
    ).encode()
    return base64.urlsafe_b64encode(payload + b"." + _sign(payload).encode()).decode().rstrip("=")


def decode_cursor(raw: str, sort: Sort) -> Cursor:
    """The position a cursor of this server names; Invalid naming `cursor` when it was not issued
    here, was altered, or belongs to another sort order."""
    try:
        blob = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
        payload, _dot, sig = blob.rpartition(b".")
        if not payload or not hmac.compare_digest(sig.decode(), _sign(payload)):
            raise ValueError("signature")
        sort_param, value, row_id, before = json.loads(payload)
        cursor = Cursor(str(sort_param), _untagged(value), int(row_id), bool(before))
    except (ValueError, TypeError, UnicodeDecodeError):
        raise Invalid("not a cursor this server issued", field="cursor") from None
    if cursor.sort != sort.param:
        raise Invalid("the cursor belongs to another sort order: start from the first page", field="cursor")
    return cursor


# ---------------------------------------------------------------------------------------------- paging


@dataclass(frozen=True)
class Page:
    """One page of a list: its rows, how many rows the filters select in all, and the cursors of the
    pages after and before it (None at either end)."""

    rows: list[Row[Any]]
    total: int
    sort: Sort
    limit: int
    next_cursor: str | None
    prev_cursor: str | None


def _past(
    column: SortColumn, id_column: SortColumn, value: Any, row_id: int, *, desc: bool
) -> ColumnElement[bool]:
    """Rows strictly after (value, row_id) in the order (column, id), ascending or descending."""
    if desc:
        return or_(column < value, and_(column == value, id_column < row_id))
    return or_(column > value, and_(column == value, id_column > row_id))


def count_rows(session: Session, query: Select[Any]) -> int:
    """How many rows a list's filtered query selects."""
    return int(
        session.execute(select(func.count()).select_from(query.order_by(None).subquery())).scalar_one()
    )


def ordered(spec: ListSpec, query: Select[Any], sort: Sort) -> Select[Any]:
    """The list's query in its sort order, ties broken by id in the same direction."""
    column = spec.sorts[sort.key]
    if sort.descending:
        return query.order_by(column.desc(), spec.id_column.desc())
    return query.order_by(column.asc(), spec.id_column.asc())


def fetch_page(
    session: Session, spec: ListSpec, query: Select[Any], sort: Sort, *, cursor: str = "", limit: int
) -> Page:
    """One page of `query` in `sort` order, from `cursor` on (the first page without one).

    `query` selects labelled columns and carries the list's filters and the reader's station scope.
    """
    if not 1 <= limit <= MAX_LIMIT:
        raise Invalid(f"limit must be between 1 and {MAX_LIMIT}", field="limit")
    column = spec.sorts[sort.key]
    total = count_rows(session, query)
    q = query.add_columns(column.label(_SORT_VALUE), spec.id_column.label(_ROW_ID))
    at = decode_cursor(cursor, sort) if cursor else None
    backwards = at is not None and at.before
    if at is not None:
        # A page before the cursor runs the order backwards from it, then is put back in order.
        q = q.where(_past(column, spec.id_column, at.value, at.row_id, desc=sort.descending != backwards))
    q = ordered(spec, q, Sort(sort.key, sort.descending != backwards)).limit(limit + 1)
    rows = list(session.execute(q).all())
    more = len(rows) > limit
    rows = rows[:limit]
    if backwards:
        rows.reverse()

    def at_row(row: Row[Any], *, before: bool) -> str:
        m = row._mapping
        return encode_cursor(Cursor(sort.param, m[_SORT_VALUE], int(m[_ROW_ID]), before))

    has_next = (more and not backwards) or backwards
    has_prev = (more and backwards) or (at is not None and not backwards)
    return Page(
        rows=rows,
        total=total,
        sort=sort,
        limit=limit,
        next_cursor=at_row(rows[-1], before=False) if rows and has_next else None,
        prev_cursor=at_row(rows[0], before=True) if rows and has_prev else None,
    )


# ---------------------------------------------------------------------------------------------- filters


def enum_filter(raw: str, enum: type[E], field: str) -> E | None:
    """A filter that takes one member of `enum` (empty: no filter); Invalid naming `field` otherwise."""
    if not raw:
        return None
    try:
        return enum(raw)
    except ValueError:
        allowed = ", ".join(m.value for m in enum)
        raise Invalid(f"{raw!r} is not one of {allowed}", field=field) from None


def choice_filter(raw: str, choices: Sequence[str], field: str) -> str | None:
    """A filter that takes one of `choices` (empty: no filter); Invalid naming `field` otherwise."""
    if not raw:
        return None
    if raw not in choices:
        raise Invalid(f"{raw!r} is not one of {', '.join(choices)}", field=field)
    return raw


def date_filter(raw: str, field: str) -> date | None:
    """A day typed as YYYY-MM-DD (empty: no filter); Invalid naming `field` otherwise."""
    if not raw:
        return None
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        raise Invalid("a date is written YYYY-MM-DD", field=field) from None
    if not 2000 <= day.year <= 2100:
        raise Invalid("a date lies between the years 2000 and 2100", field=field)
    return day


def int_filter(raw: str, field: str) -> int | None:
    """A row id typed in a filter (empty: no filter); Invalid naming `field` unless 1 to 2^31-1."""
    if not raw:
        return None
    if not raw.isdigit() or not 1 <= int(raw) <= 2**31 - 1:
        raise Invalid("a number from 1 to 2147483647", field=field)
    return int(raw)


def number_filter(raw: str, field: str, *, low: float, high: float) -> float | None:
    """A number between `low` and `high` (empty: no filter); Invalid naming `field` otherwise."""
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise Invalid(f"a number from {low} to {high}", field=field) from None
    if not low <= value <= high:
        raise Invalid(f"a number from {low} to {high}", field=field)
    return value


def day_start(day: date) -> datetime:
    """The UTC instant a Beijing-time day starts at: the days users type are the district's days."""
    return datetime.combine(day, time(0), tzinfo=district_zone()).astimezone(UTC)


# ---------------------------------------------------------------------------------------------- search


@dataclass(frozen=True)
class SearchTerm:
    """What a typed search may mean: a case number as typed, and the pseudonyms of the phone, the card
    or account number and the resident ID number it reads as (None where it does not read as one)."""

    text: str
    phone: str | None = None
    card: str | None = None
    national_id: str | None = None

    def audited(self) -> str:
        """The search as the audit log records it: a pseudonym, never the clear number typed."""
        if self.phone:
            return f"phone:{self.phone}"
        if self.card:
            return f"card:{self.card}"
        if self.national_id:
            return f"national_id:{self.national_id}"
        return f"ref:{self.text}"


def parse_search(raw: str) -> SearchTerm | None:
    """The meanings of a typed search (empty: no search). A phone or card number is normalised and
    keyed to its pseudonym here; its clear value goes no further."""
    text = raw.strip()
    if not text:
        return None
    if len(text) > SEARCH_MAX:
        raise Invalid(f"a search has at most {SEARCH_MAX} characters", field="q")
    phone = card = national_id = None
    with contextlib.suppress(Invalid):  # not a phone number: searched otherwise
        phone = lookup_key(PiiKind.PHONE, text, field="q")
    with contextlib.suppress(Invalid):  # not a card or account number
        card = lookup_key(PiiKind.CARD, text, field="q")
    with contextlib.suppress(Invalid):  # not a resident ID number
        national_id = lookup_key(PiiKind.NATIONAL_ID, text, field="q")
    # A number that reads as a phone or card goes to the database only as its pseudonym. A case
    # number (510107-2026-000006) may also pass the Luhn check once its dashes are dropped: a typed
    # value with a dash is kept as a case number too.
    keep_text = (phone is None and card is None and national_id is None) or "-" in text
    return SearchTerm(text=text if keep_text else "", phone=phone, card=card, national_id=national_id)


def any_of(conditions: Sequence[ColumnElement[bool]]) -> ColumnElement[bool]:
    """Rows that meet any of `conditions`: none at all when a search means nothing to this list."""
    return or_(*conditions) if conditions else false()


def filters_for_audit(filters: Mapping[str, Any], search: SearchTerm | None) -> dict[str, Any]:
    """A list's filters as its audit entries record them: set ones only, the search by pseudonym."""
    out: dict[str, Any] = {}
    for k, v in filters.items():
        if v is None or v == "":
            continue
        out[k] = v.value if isinstance(v, StrEnum) else v.isoformat() if isinstance(v, date) else v
    if search is not None:
        out["q"] = search.audited()
    return out


# ---------------------------------------------------------------------------------------------- views


@dataclass(frozen=True)
class ListView:
    """A page's list as its template links it: the current query, the links to sort, page and
    export, and the page itself."""

    path: str
    params: Mapping[str, str]
    page: Page
    export_path: str = ""
    error: str | None = None

    def url(self, **changes: str | None) -> str:
        """This list's address with some parameters changed (None or empty removes one)."""
        merged = {**self.params, **changes}
        query = urlencode({k: v for k, v in merged.items() if v})
        return f"{self.path}?{query}" if query else self.path

    def sort_url(self, key: str) -> str:
        """The address that sorts by `key`: descending first, then ascending on a second click."""
        current = self.page.sort
        param = key if current.key == key and current.descending else f"-{key}"
        return self.url(sort=param, cursor=None)

    def sort_mark(self, key: str) -> str:
        """An arrow beside the heading the list is sorted by."""
        if self.page.sort.key != key:
            return ""
        return "↓" if self.page.sort.descending else "↑"

    def aria_sort(self, key: str) -> str:
        """The heading's `aria-sort` value."""
        if self.page.sort.key != key:
            return "none"
        return "descending" if self.page.sort.descending else "ascending"

    @property
    def next_url(self) -> str | None:
        """The next page's address, or None on the last page."""
        return self.url(cursor=self.page.next_cursor) if self.page.next_cursor else None

    @property
    def prev_url(self) -> str | None:
        """The previous page's address, or None on the first page."""
        return self.url(cursor=self.page.prev_cursor) if self.page.prev_cursor else None

    def export_url(self, fmt: str) -> str:
        """The export of the current filters and order (every page, not only this one)."""
        merged = {**self.params, "format": fmt, "cursor": None}
        query = urlencode({k: v for k, v in merged.items() if v})
        return f"{self.export_path}?{query}"


def empty_page(sort: Sort, limit: int = DEFAULT_LIMIT) -> Page:
    """A page with no rows, shown beside a refusal of the filters."""
    return Page(rows=[], total=0, sort=sort, limit=limit, next_cursor=None, prev_cursor=None)


# ---------------------------------------------------------------------------------------------- export


class CellKind(StrEnum):
    """How an exported value is written."""

    TEXT = "text"
    TIME = "time"  # Beijing time; the header names the zone
    MONEY = "money"  # fen in the database, yuan in the file
    LABEL = "label"  # an enum code, written as its label
    NUMBER = "number"


@dataclass(frozen=True)
class ExportColumn:
    """One column of an export: its heading, the row's labelled column it reads, and how to write it."""

    header: str
    key: str
    kind: CellKind = CellKind.TEXT
    enum: str | None = None  # the enum a bare LABEL value belongs to
    convert: Callable[[Any], Any] | None = field(default=None, compare=False)

    def heading(self) -> str:
        """The column's heading, with the zone of a time and the unit of money."""
        text = _(self.header)
        if self.kind is CellKind.TIME:
            return f"{text} ({_('Beijing time')}, Asia/Shanghai UTC+8)"
        if self.kind is CellKind.MONEY:
            return f"{text} ({_('yuan')})"
        return text

    def value(self, row: Row[Any]) -> str | Decimal | int | float:
        """The cell of `row`: masked as the page shows it; Beijing time; yuan."""
        raw = row._mapping[self.key]
        if self.convert is not None:
            raw = self.convert(raw)
        if raw is None:
            return ""
        if self.kind is CellKind.TIME:
            return beijing_time(raw, "%Y-%m-%d %H:%M:%S")
        if self.kind is CellKind.MONEY:
            return (Decimal(int(raw)) / 100).quantize(Decimal("0.01"))
        if self.kind is CellKind.LABEL:
            return label(raw, self.enum)
        if self.kind is CellKind.NUMBER:
            return raw if isinstance(raw, int | float | Decimal) else str(raw)
        return _defused(str(raw))


def _defused(text: str) -> str:
    # A cell that begins with = + - @ is run as a formula by spreadsheet programs (CSV injection):
    # a leading apostrophe keeps it text.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


ExportFormat = Literal["csv", "xlsx"]
EXPORT_FORMATS: tuple[ExportFormat, ...] = ("csv", "xlsx")
_CHUNK = 64 * 1024


def export_format(raw: str) -> ExportFormat:
    """The export format asked for; Invalid naming `format` unless csv or xlsx."""
    if raw == "csv":
        return "csv"
    if raw == "xlsx":
        return "xlsx"
    raise Invalid("export as csv or xlsx", field="format")


def _csv_file(rows: Iterator[Row[Any]], columns: Sequence[ExportColumn], out: IO[bytes]) -> int:
    text = io.TextIOWrapper(out, encoding="utf-8-sig", newline="", write_through=True)
    writer = csv.writer(text)
    writer.writerow([c.heading() for c in columns])
    n = 0
    for row in rows:
        writer.writerow([_csv_cell(c.value(row)) for c in columns])
        n += 1
    text.flush()
    text.detach()
    return n


def _csv_cell(value: str | Decimal | int | float) -> str:
    return f"{value:.2f}" if isinstance(value, Decimal) else str(value)


def _xlsx_file(rows: Iterator[Row[Any]], columns: Sequence[ExportColumn], out: IO[bytes], title: str) -> int:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    book = Workbook(write_only=True)  # rows go to a temporary file as they come: memory stays flat
    sheet = book.create_sheet(title=title[:31])
    sheet.append([c.heading() for c in columns])
    n = 0
    for row in rows:
        cells: list[Any] = []
        for c in columns:
            value = c.value(row)
            # A Decimal of yuan to two places is written as the float nearest it: a spreadsheet number.
            cell = WriteOnlyCell(sheet, value=float(value) if isinstance(value, Decimal) else value)
            if c.kind is CellKind.MONEY:
                cell.number_format = "#,##0.00"
            cells.append(cell)
        sheet.append(cells)
        n += 1
    book.save(out)
    return n


def _streamed(spool: IO[bytes]) -> Iterator[bytes]:
    try:
        spool.seek(0)
        while chunk := spool.read(_CHUNK):
            yield chunk
    finally:
        spool.close()


def record_export(
    session: Session,
    *,
    actor: Actor,
    listing: str,
    fmt: ExportFormat,
    filters: Mapping[str, Any],
    count: int,
) -> None:
    """Audit one export of a list: who, which list, which filters, the format, how many rows, and
    how far the reader's view reaches. Caller holds the transaction."""
    audit.record(
        session,
        actor=actor,
        action=f"{listing}.export",
        object_type=listing,
        object_id="export",
        detail={"filters": dict(filters), "format": fmt, "rows": count, "scope": scope_of(actor)},
    )


def export_response(
    session: Session,
    *,
    actor: Actor,
    spec: ListSpec,
    query: Select[Any],
    sort: Sort,
    columns: Sequence[ExportColumn],
    fmt: ExportFormat,
    filters: Mapping[str, Any],
    filename: str,
) -> StreamingResponse:
    """Every row of `query` (the list's filters and the reader's scope), in the list's order, as a
    CSV or XLSX download, with its audit entry. The read and the entry are one transaction; the file
    is spooled while the rows are read, and streamed after the commit."""
    spool: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=4 * 1024 * 1024)  # noqa: SIM115 - closed by _streamed
    try:
        session.rollback()  # the read and its audit entry are one transaction of their own
        with session.begin():
            rows = iter(session.execute(ordered(spec, query, sort).execution_options(yield_per=500)))
            if fmt == "csv":
                count = _csv_file(rows, columns, spool)
            else:
                count = _xlsx_file(rows, columns, spool, title=spec.name)
            record_export(session, actor=actor, listing=spec.name, fmt=fmt, filters=filters, count=count)
    except BaseException:
        spool.close()
        raise
    stamp = clock.now().astimezone(district_zone()).strftime("%Y%m%d-%H%M")
    media = (
        "text/csv; charset=utf-8"
        if fmt == "csv"
        else "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    return StreamingResponse(
        _streamed(spool),
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{filename}-{stamp}.{fmt}"'},
    )
