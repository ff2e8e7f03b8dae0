"""Read side of the mule review queue: the candidates list with its filters, search and export columns."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, select

from pingan.antifraud.mules.review.choices import CandidateStatus
from pingan.antifraud.mules.review.labels import Reason, describe
from pingan.antifraud.mules.review.model import MuleCandidate
from pingan.core.listing import CellKind, ExportColumn, ListSpec, SearchTerm, any_of

CANDIDATE_LIST = ListSpec(
    name="mule_candidate",
    sorts={"score": MuleCandidate.score, "queued_at": MuleCandidate.queued_at},
    default_sort="-score",
    id_column=MuleCandidate.id,
)
# Score bands of the queue's filter: [low, high) of the model's score, which lies between 0 and 1.
SCORE_BANDS: dict[str, tuple[float, float]] = {
    "high": (0.9, 1.01),
    "medium": (0.7, 0.9),
    "low": (0.0, 0.7),
}


@dataclass(frozen=True)
class CandidateFilter:
    """The filters of the review queue: a status (None: every status) and a score band."""

    status: CandidateStatus | None = CandidateStatus.PENDING
    band: str | None = None
    search: SearchTerm | None = None


def candidate_list_query(f: CandidateFilter) -> Select[Any]:
    """The candidates matching `f`, unordered. An account is found by its number's pseudonym."""
    columns: list[Any] = [
        MuleCandidate.id,
        MuleCandidate.account_masked,
        MuleCandidate.bank,
        MuleCandidate.score,
        MuleCandidate.reasons,
        MuleCandidate.model_ref,
        MuleCandidate.status,
        MuleCandidate.queued_at,
        MuleCandidate.reviewed_at,
        MuleCandidate.reviewed_by,
        MuleCandidate.review_note,
    ]
    q: Select[Any] = select(*columns)
    if f.status is not None:
        q = q.where(MuleCandidate.status == f.status)
    if f.band is not None:
        low, high = SCORE_BANDS[f.band]
        q = q.where(MuleCandidate.score >= low, MuleCandidate.score < high)
    if f.search is not None:
        q = q.where(any_of([MuleCandidate.account_pseudonym == f.search.card] if f.search.card else []))
    return q


def reasons_of(raw: str) -> list[str]:
    """A candidate's reasons (feature contributions), from their stored JSON."""
    try:
        value = json.loads(raw)
    except ValueError:
        return [raw]
    return [str(r) for r in value] if isinstance(value, list) else [str(value)]


def reasons_in_words(raw: str) -> list[Reason]:
    """A candidate's reasons as a reviewer reads them: each feature's label, value and explanation."""
    return [describe(r) for r in reasons_of(raw)]


CANDIDATE_EXPORT = (
    ExportColumn("Candidate", "id", CellKind.NUMBER),
    ExportColumn("Account", "account_masked"),
    ExportColumn("Bank", "bank"),
    ExportColumn("Score", "score", CellKind.NUMBER),
    ExportColumn(
        "Why (feature contributions)",
        "reasons",
        convert=lambda raw: "; ".join(f"{r.label}: {r.value}" for r in reasons_in_words(raw)),
    ),
    ExportColumn("Model", "model_ref"),
    ExportColumn("Status", "status", CellKind.LABEL),
    ExportColumn("Queued", "queued_at", CellKind.TIME),
    ExportColumn("Reviewed", "reviewed_at", CellKind.TIME),
    ExportColumn("Reviewer", "reviewed_by"),
)
