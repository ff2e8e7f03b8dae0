"""Pure decisions about directives (指令): the deadline check, the near-duplicate check, the state of a
station's answer, the stations' weekly load and the year-over-year change. No I/O; the clock comes in.

**Near duplicates.** Two directives are compared by the cosine of their texts' character n-gram TF-IDF
vectors (bigrams and trigrams of the normalised text: Chinese has no spaces to split words on, and
character n-grams need no dictionary), and by the same measure on their subjects. A pair is a near
duplicate when, within `LOOKBACK` and sharing a station,

- the texts' similarity reaches `TEXT_THRESHOLD`, or
- the subjects' similarity reaches `SUBJECT_MATCH` and the texts' reaches `TEXT_WITH_SUBJECT`.

The thresholds were tuned on the simulator's seeds 1–4 (`bench/directives.py --tune`) and are reported
on seeds 101–105; see docs/directives.md.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import scipy.sparse as sp

BEIJING = ZoneInfo("Asia/Shanghai")
NGRAMS = (2, 3)
# Tuned on seeds 1-4 of the simulator (bench/directives.py --tune): the grid's best pooled F1 there
# (0.57). Below 0.575 the same topic's distinct matters, which share tasks and the bureau's stock
# phrases, start to outnumber the reworded re-issues.
TEXT_THRESHOLD = 0.575
TEXT_WITH_SUBJECT = 0.55
SUBJECT_MATCH = 0.9
# A directive re-sent after three months is a new round of work rather than a duplicate of the last.
LOOKBACK = timedelta(days=90)
_NOT_TEXT = re.compile(r"[\W_]+", re.UNICODE)
_DIGITS = re.compile(r"\d+")


@dataclass(frozen=True)
class Decision:
    """A yes or no with its reasons, in data."""

    ok: bool
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True)
class DuplicateRule:
    """The thresholds of the near-duplicate check."""

    text_threshold: float = TEXT_THRESHOLD
    text_with_subject: float = TEXT_WITH_SUBJECT
    subject_match: float = SUBJECT_MATCH
    lookback: timedelta = LOOKBACK


DEFAULT_RULE = DuplicateRule()


@dataclass(frozen=True)
class Candidate:
    """A directive as the duplicate check reads it."""

    id: int
    subject: str
    text: str
    issued_at: datetime
    stations: frozenset[str]


@dataclass(frozen=True)
class Match:
    """An earlier directive that the new one nearly duplicates, with the similarities and the reasons."""

    directive_id: int
    similarity: float
    subject_similarity: float
    reasons: tuple[str, ...]


def deadline_check(issued_at: datetime, deadline: datetime) -> Decision:
    """A deadline must come after the issue time: a station cannot answer in no time at all."""
    if deadline <= issued_at:
        return Decision(False, ("deadline_not_after_issue",))
    return Decision(True)


def normalise(text: str) -> str:
    """Text as compared: NFKC (full-width to half-width), lower case, digits as `0`, no punctuation or
    spaces. Dates and counts change between re-issues of the same directive, so they do not count."""
    folded = unicodedata.normalize("NFKC", text).lower()
    return _NOT_TEXT.sub("", _DIGITS.sub("0", folded))


def char_ngrams(text: str, sizes: tuple[int, int] = NGRAMS) -> list[str]:
    """The character n-grams of the normalised text, of every size in `sizes` (inclusive)."""
    t = normalise(text)
    out: list[str] = []
    for n in range(sizes[0], sizes[1] + 1):
        out.extend(t[i : i + n] for i in range(len(t) - n + 1))
    if not out and t:
        out.append(t)  # a text shorter than the smallest n-gram is its own term
    return out


def tfidf_matrix(texts: Sequence[str]) -> sp.csr_matrix:
    """Rows of L2-normalised TF-IDF vectors of `texts`' character n-grams, the IDF fitted on `texts`
    (smoothed: log((1 + n) / (1 + df)) + 1, so a term in every text still counts a little)."""
    grams = [char_ngrams(text) for text in texts]
    n = len(texts)
    flat = [g for doc in grams for g in doc]
    if not flat:
        return sp.csr_matrix((n, 1), dtype=np.float64)
    # np.unique sorts the n-grams once and numbers them: the vocabulary, without a Python dict loop.
    _vocabulary, cols = np.unique(np.array(flat), return_inverse=True)
    rows = np.repeat(np.arange(n), [len(doc) for doc in grams])
    counts = sp.csr_matrix(
        (np.ones(len(flat), dtype=np.float64), (rows, cols.ravel())), shape=(n, len(_vocabulary))
    )
    counts.sum_duplicates()
    df = np.bincount(counts.indices, minlength=counts.shape[1])
    idf = np.log((1.0 + n) / (1.0 + df)) + 1.0
    weighted = sp.csr_matrix(counts.multiply(idf[np.newaxis, :]))
    norms = np.sqrt(np.asarray(weighted.multiply(weighted).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    return sp.csr_matrix(sp.diags(1.0 / norms) @ weighted)


def similarity_matrix(texts: Sequence[str]) -> np.ndarray:
    """The cosine similarity of every pair of `texts` (a dense n×n array)."""
    m = tfidf_matrix(texts)
    return np.asarray((m @ m.T).toarray())


def is_near_duplicate(text_similarity: float, subject_similarity: float, rule: DuplicateRule) -> bool:
    """Whether two directives' similarities make them near duplicates (each threshold is inclusive)."""
    if text_similarity >= rule.text_threshold:
        return True
    return subject_similarity >= rule.subject_match and text_similarity >= rule.text_with_subject


def _reasons(
    text_sim: float, subject_sim: float, shared: Iterable[str], rule: DuplicateRule
) -> tuple[str, ...]:
    reasons = [f"text_similarity:{text_sim:.2f}"]
    if subject_sim >= rule.subject_match:
        reasons.append(f"subject_similarity:{subject_sim:.2f}")
    reasons.append("shared_stations:" + ",".join(sorted(shared)))
    return tuple(reasons)


def similar_directives(
    draft: Candidate, earlier: Sequence[Candidate], rule: DuplicateRule = DEFAULT_RULE
) -> list[Match]:
    """The earlier directives that `draft` nearly duplicates: within the lookback before its issue time,
    sharing a station with it, and similar enough by text, or by subject and text. Most similar first."""
    pool = [
        c
        for c in earlier
        if c.id != draft.id
        and draft.issued_at - rule.lookback <= c.issued_at <= draft.issued_at
        and c.stations & draft.stations
    ]
    if not pool:
        return []
    texts = similarity_matrix([draft.text, *(c.text for c in pool)])[0, 1:]
    subjects = similarity_matrix([draft.subject, *(c.subject for c in pool)])[0, 1:]
    found = [
        Match(
            c.id,
            round(float(t), 4),
            round(float(s), 4),
            _reasons(float(t), float(s), c.stations & draft.stations, rule),
        )
        for c, t, s in zip(pool, texts, subjects, strict=True)
        if is_near_duplicate(float(t), float(s), rule)
    ]
    return sorted(found, key=lambda m: (-m.similarity, m.directive_id))


@dataclass(frozen=True)
class PairScores:
    """Every pair of a set of directives that the duplicate check would compare, with its similarities:
    `later` and `earlier` index the set, `text` and `subject` are the pairs' cosines."""

    later: np.ndarray
    earlier: np.ndarray
    text: np.ndarray
    subject: np.ndarray
    exact_subject: np.ndarray


def comparable_pairs(directives: Sequence[Candidate], rule: DuplicateRule = DEFAULT_RULE) -> PairScores:
    """The pairs (later, earlier) that the check compares, all at once: the texts' and subjects' TF-IDF
    fitted once over the set, one sparse product each, then the lookback and shared-station filters.
    What `similar_directives` finds for one draft, this finds for every directive of a history."""
    n = len(directives)
    if n < 2:
        empty = np.zeros(0, dtype=np.int64)
        return PairScores(empty, empty, np.zeros(0), np.zeros(0), np.zeros(0, dtype=bool))
    text_m = tfidf_matrix([d.text for d in directives])
    subject_m = tfidf_matrix([d.subject for d in directives])
    text_sim = (text_m @ text_m.T).toarray()
    subject_sim = (subject_m @ subject_m.T).toarray()
    times = np.array([d.issued_at.timestamp() for d in directives])
    later, earlier = np.nonzero(
        (times[:, None] >= times[None, :])
        & (times[:, None] - times[None, :] <= rule.lookback.total_seconds())
        & ~np.eye(n, dtype=bool)
    )
    # Equal times: keep one order of the pair only (the lower index as the earlier one).
    keep = (times[later] > times[earlier]) | (later > earlier)
    later, earlier = later[keep], earlier[keep]
    codes = sorted({s for d in directives for s in d.stations})
    column = {c: i for i, c in enumerate(codes)}
    incidence = np.zeros((n, max(len(codes), 1)), dtype=np.float32)
    for row, d in enumerate(directives):
        incidence[row, [column[s] for s in d.stations]] = 1.0
    shares = np.einsum("ij,ij->i", incidence[later], incidence[earlier]) > 0
    later, earlier = later[shares], earlier[shares]
    subject_ids: dict[str, int] = {}
    subject_of = np.array(
        [subject_ids.setdefault(normalise(d.subject), len(subject_ids)) for d in directives]
    )
    exact = subject_of[later] == subject_of[earlier]
    return PairScores(later, earlier, text_sim[later, earlier], subject_sim[later, earlier], exact)


def flagged(scores: PairScores, rule: DuplicateRule = DEFAULT_RULE) -> np.ndarray:
    """Which of the pairs the near-duplicate rule flags (a boolean mask over `scores`)."""
    by_text = scores.text >= rule.text_threshold
    by_subject = (scores.subject >= rule.subject_match) & (scores.text >= rule.text_with_subject)
    return np.asarray(by_text | by_subject)


def answer_state(deadline: datetime, answered_at: datetime | None, *, now: datetime) -> str:
    """Where a station's answer stands at `now`: answered (late or not), overdue, or awaiting. An
    answer at the deadline itself is on time."""
    if answered_at is not None:
        return "answered" if answered_at <= deadline else "answered_late"
    return "overdue" if now > deadline else "pending"


def beijing_day(at: datetime) -> date:
    """The Beijing calendar date of a UTC instant."""
    return at.astimezone(BEIJING).date()


def week_of(at: datetime) -> date:
    """The Monday (Beijing time) of the week in which `at` falls."""
    day = beijing_day(at)
    return day - timedelta(days=day.weekday())


def month_bounds(year: int, month: int) -> tuple[datetime, datetime]:
    """The UTC instants of the Beijing month's start and of the next month's start."""
    start = datetime(year, month, 1, tzinfo=BEIJING)
    end = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=BEIJING)
    return start.astimezone(UTC), end.astimezone(UTC)


@dataclass(frozen=True)
class YearOverYear:
    """A count against the same period a year before, with the change in percent (None without a base)."""

    this: int
    last: int

    @property
    def change_percent(self) -> float | None:
        """(this − last) / last × 100, or None when last is zero."""
        if self.last == 0:
            return None
        return round((self.this - self.last) * 100.0 / self.last, 1)
