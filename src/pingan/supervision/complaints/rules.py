"""Pure decisions on complaints: their clocks, repeat and duplicate linking, and satisfaction scores.

Nothing here reads or writes: the evaluation time, the complaint's steps and the earlier complaints
come in as arguments.

- **Clocks.** Each rule of the complaint pack starts at its trigger step and is met by one of its
  `met_by` steps, counted by the supervision engine's calendar rule (`due_after`: the day of the
  trigger is not counted; a 15-day period ends at 24:00 Beijing time of the 15th day after it). An
  approved extension pushes the due time on (`extend_due`).
- **Repeats.** Two complaints are linked when the complainant's pseudonym is the same, or when the
  subject is the same and the texts are alike (cosine of character 2- and 3-gram TF-IDF vectors).
- **Satisfaction.** A share with its Wilson score interval and its sample size, never a bare rate.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

from pingan.command.classify import normalise
from pingan.supervision.choices import DeadlineStatus
from pingan.supervision.complaints.choices import CallbackResult, LinkReason, StepKind, SubjectKind
from pingan.supervision.complaints.pack import ComplaintPack, ComplaintRule
from pingan.supervision.rules import beijing_day, due_after, extend_due, lead_time

# Same-matter threshold on the TF-IDF cosine, and the lower one for the same person's filings about
# another subject. Chosen on the simulator's seed 1 (`bench/complaints.py --tune --seed 1`: the best
# F1 of the grid 0.2-0.5 x 0.1-0.3, precision 0.875, recall 0.935); the figures are reported on seed 2.
SAME_MATTER_SIMILARITY = 0.40
SAME_PERSON_SIMILARITY = 0.30
# How far back a new complaint is compared: the handling, extension and review periods together
# (60 + 30 + 30 + 30 days) and a margin, so a complaint re-filed after a review is still caught.
LOOKBACK = timedelta(days=365)
SATISFIED = frozenset({CallbackResult.SATISFIED, CallbackResult.BASICALLY_SATISFIED})


@dataclass(frozen=True)
class Step:
    """One step of a complaint's timeline as the clocks read it."""

    kind: StepKind
    at: datetime
    rule_id: str | None = None  # an extension: the rule it extends
    extension_id: str | None = None


class Clock(NamedTuple):
    """One clock of a complaint at the evaluation time."""

    rule: ComplaintRule
    started_at: datetime
    due_at: datetime
    warn_from: datetime
    met_at: datetime | None
    status: DeadlineStatus
    extensions: tuple[str, ...]

    @property
    def breached(self) -> bool:
        """A duty missed: passed unmet, or met late. A complainant's window never breaches."""
        return self.rule.duty and self.status is DeadlineStatus.BREACHED

    @property
    def window_closed(self) -> bool:
        return not self.rule.duty and self.status is DeadlineStatus.BREACHED

    @property
    def reasons(self) -> tuple[str, ...]:
        out = [f"{self.rule.id}: {self.rule.deadline}, {self.rule.citation.short()}"]
        out += [f"extension {e} approved" for e in self.extensions]
        if self.breached:
            out.append(f"{'met late' if self.met_at else 'not met'}: due {self.due_at.isoformat()}")
        return tuple(out)


@dataclass(slots=True)
class _Running:
    rule: ComplaintRule
    started_at: datetime
    due_at: datetime
    extensions: tuple[str, ...] = ()


def evaluate(steps: Iterable[Step], pack: ComplaintPack, *, at: datetime) -> tuple[Clock, ...]:
    """Every clock of a complaint whose timeline is `steps`, as it stands at `at`.

    A step first meets the clocks it satisfies, then applies an extension, then starts the clocks it
    triggers: a step never meets the clock it starts. Steps after `at` are not read.
    """
    ordered = sorted((s for s in steps if s.at <= at), key=lambda s: s.at)
    running: dict[str, _Running] = {}
    clocks: list[Clock] = []
    for step in ordered:
        for rule_id in [r for r, c in running.items() if step.kind in c.rule.met_by]:
            c = running.pop(rule_id)
            clocks.append(_clock(c, step.at, at))
        if step.kind is StepKind.EXTENSION:
            target = running.get(step.rule_id or "")
            ext = target.rule.extension(step.extension_id or "") if target is not None else None
            if (
                target is not None
                and ext is not None
                and ext.by is not None
                and ext.id not in target.extensions
            ):
                target.due_at = extend_due(target.due_at, ext.by)
                target.extensions = (*target.extensions, ext.id)
            continue
        for rule in pack.rules:
            if rule.trigger is step.kind and rule.id not in running and rule.in_force(beijing_day(step.at)):
                running[rule.id] = _Running(rule, step.at, due_after(step.at, rule.deadline))
    clocks.extend(_clock(c, None, at) for c in running.values())
    clocks.sort(key=lambda c: (c.started_at, c.rule.id))
    return tuple(clocks)


def _clock(c: _Running, met: datetime | None, at: datetime) -> Clock:
    rule, due = c.rule, c.due_at
    warn_from = due - lead_time(rule.warn_before)
    if met is not None:
        status = DeadlineStatus.MET if met <= due else DeadlineStatus.BREACHED
    elif at > due:
        status = DeadlineStatus.BREACHED
    else:
        status = DeadlineStatus.WARNING if at >= warn_from else DeadlineStatus.RUNNING
    return Clock(rule, c.started_at, due, warn_from, met, status, c.extensions)


def running_clock(clocks: Sequence[Clock], rule_id: str) -> Clock | None:
    """The clock of `rule_id` not yet met, if one runs."""
    return next((c for c in clocks if c.rule.id == rule_id and c.met_at is None), None)


# ------------------------------------------------------------------------------ repeats and duplicates


def grams(text: str) -> Counter[str]:
    """Character 2- and 3-grams of a text after the classifier's normalisation (no word list needed)."""
    s = normalise(text)
    return Counter(s[i : i + n] for n in (2, 3) for i in range(len(s) - n + 1))


def cosine_tfidf(text: str, others: Sequence[str]) -> list[float]:
    """Cosine similarity of `text` to each of `others`, TF-IDF weighted over `text` and `others`."""
    docs = [grams(text), *(grams(o) for o in others)]
    n = len(docs)
    df: Counter[str] = Counter()
    for d in docs:
        df.update(d.keys())
    idf = {g: math.log((1 + n) / (1 + c)) + 1.0 for g, c in df.items()}

    def vector(d: Counter[str]) -> dict[str, float]:
        v = {g: (1.0 + math.log(tf)) * idf[g] for g, tf in d.items()}
        norm = math.sqrt(sum(x * x for x in v.values())) or 1.0
        return {g: x / norm for g, x in v.items()}

    head = vector(docs[0])
    out = []
    for d in docs[1:]:
        v = vector(d)
        small, big = (v, head) if len(v) < len(head) else (head, v)
        out.append(round(sum(x * big.get(g, 0.0) for g, x in small.items()), 4))
    return out


@dataclass(frozen=True)
class Earlier:
    """An earlier complaint as the linker reads it."""

    id: int
    phone: str  # the phone's pseudonym, "" if none
    id_number: str  # the ID number's pseudonym, "" if none
    subject_kind: SubjectKind
    subject_ref: str
    text: str
    received_at: datetime


@dataclass(frozen=True)
class Link:
    """A link from a new complaint to an earlier one, with why."""

    earlier_id: int
    reasons: tuple[LinkReason, ...]
    similarity: float
    repeat: bool  # the same matter raised again (what the repeat rate counts)

    @property
    def explanation(self) -> str:
        return f"{'+'.join(r.value for r in self.reasons)} (text similarity {self.similarity:.2f})"


def same_person(phone: str, id_number: str, other: Earlier) -> bool:
    """The same complainant: the same phone or the same ID number (by pseudonym)."""
    return bool((phone and phone == other.phone) or (id_number and id_number == other.id_number))


def find_links(
    phone: str,
    id_number: str,
    subject_kind: SubjectKind,
    subject_ref: str,
    text: str,
    received_at: datetime,
    earlier: Sequence[Earlier],
) -> list[Link]:
    """Link a new complaint to earlier ones by the same complainant or on the same matter.

    Same complainant: always linked (shown on the page); a repeat when the subject is the same or
    the texts are alike. Same matter: the same subject and texts alike, whoever complains.
    """
    candidates = [e for e in earlier if timedelta(0) <= received_at - e.received_at <= LOOKBACK]
    if not candidates:
        return []
    sims = cosine_tfidf(text, [e.text for e in candidates])
    links = []
    for e, sim in zip(candidates, sims, strict=True):
        same_subject = e.subject_kind is subject_kind and e.subject_ref == subject_ref
        reasons = []
        if same_person(phone, id_number, e):
            reasons.append(LinkReason.SAME_COMPLAINANT)
        if same_subject and sim >= SAME_MATTER_SIMILARITY:
            reasons.append(LinkReason.SAME_MATTER)
        if not reasons:
            continue
        repeat = LinkReason.SAME_MATTER in reasons or same_subject or sim >= SAME_PERSON_SIMILARITY
        links.append(Link(e.id, tuple(reasons), sim, repeat))
    return links


# ------------------------------------------------------------------------------------- satisfaction


@dataclass(frozen=True)
class Share:
    """A share of a sample with its 95% Wilson score interval."""

    successes: int
    n: int
    low: float
    high: float

    @property
    def point(self) -> float | None:
        return self.successes / self.n if self.n else None


def wilson(successes: int, n: int, z: float = 1.959964) -> Share:
    """The Wilson score interval of `successes` out of `n` (sound near 0 and 1 and for small n)."""
    if n == 0:
        return Share(0, 0, 0.0, 1.0)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return Share(successes, n, max(0.0, centre - half), min(1.0, centre + half))


def satisfaction(results: Iterable[CallbackResult]) -> Share:
    """Satisfied or basically satisfied among the complainants reached; the unreachable are not counted."""
    reached = [r for r in results if r is not CallbackResult.UNREACHABLE]
    return wilson(sum(1 for r in reached if r in SATISFIED), len(reached))


def in_callback_sample(complaint_id: int, rate: float) -> bool:
    """Whether a complaint falls in the call-back sample: a fixed hash of its id, so the sample is
    reproducible and cannot be picked by hand (Knuth's multiplicative hash, spread over [0, 1))."""
    return ((complaint_id * 2654435761) % 2**32) / 2**32 < rate
