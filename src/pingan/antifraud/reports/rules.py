"""Pure anti-fraud decisions for report intake: data in, a decision with reasons out. No I/O here."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from pingan.antifraud.reports.choices import ReportIntake
from pingan.antifraud.reports.schemas import ReportIn
from pingan.core.roles import Role

# A report may be registered a few minutes "ahead" of the server clock when a station's PC clock
# drifts; more than this is a typing error, not drift.
CLOCK_SKEW_ALLOWANCE = timedelta(minutes=5)


@dataclass(frozen=True)
class Problem:
    """A rule a report breaks: the field it concerns and why."""

    field: str
    message: str


def report_problems(report: ReportIn, *, now: datetime) -> list[Problem]:
    """Time-order problems of a report: fraud start ≤ each transfer, fraud start ≤ report time ≤ now."""
    problems: list[Problem] = []
    if report.reported_at < report.fraud_started_at:
        problems.append(Problem("reported_at", "the report cannot be made before the fraud began"))
    if report.reported_at > now + CLOCK_SKEW_ALLOWANCE:
        problems.append(Problem("reported_at", "the report time is in the future"))
    for i, t in enumerate(report.transfers):
        if t.occurred_at > report.reported_at + CLOCK_SKEW_ALLOWANCE:
            problems.append(
                Problem(f"transfers.{i}.occurred_at", "a transfer cannot happen after the report")
            )
        if t.occurred_at < report.fraud_started_at:
            problems.append(
                Problem(f"transfers.{i}.occurred_at", "a transfer cannot happen before the fraud began")
            )
        if t.payer_card == t.payee_account:
            problems.append(Problem(f"transfers.{i}.payee_account", "payer and payee are the same card"))
    return problems


@dataclass(frozen=True)
class IntakeDecision:
    """Whether a new report is registered at once or waits for an officer, and why."""

    intake: ReportIntake
    reasons: tuple[str, ...]


def decide_intake(*, role: Role, imported: bool, opened_by_platform: bool) -> IntakeDecision:
    """A report is registered (受案登记) at once only when a station officer, logged in, enters it.

    A direct stop-payment restricts a third party's account on the strength of the report alone, so
    the report must rest on the officer who took it, authenticated: not on a name typed into a
    field. An analyst's entry, a file import (whatever officer the file names) and a report the
    platform opened wait for an officer's confirmation (`do_confirm_report`).
    """
    reasons: list[str] = []
    if opened_by_platform:
        reasons.append("opened_by_platform")
    if imported:
        reasons.append("file_import")
    if role is not Role.OFFICER:
        reasons.append(f"entered_by_{role.value}")
    if reasons:
        return IntakeDecision(ReportIntake.AWAITING_OFFICER, tuple(reasons))
    return IntakeDecision(ReportIntake.REGISTERED, ("registered_by_officer",))


def normalize_url(raw: str) -> str:
    """A URL reduced to what identifies the site and page: lower-case host without `www.`, no query or slash."""
    value = raw.strip()
    if "://" not in value:
        value = "http://" + value
    parts = urlsplit(value)
    host = (parts.hostname or "").lower().removeprefix("www.")
    path = parts.path.rstrip("/")
    return f"{host}{path}"


def canonical_hash(payload: dict[str, Any]) -> str:
    """SHA-256 of a canonical JSON encoding: the same request body always gives the same hash."""
    text = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class ClusterPlan:
    """Where a new report goes: a new cluster, or an existing one, merging any others it bridges."""

    target: int | None
    merged: tuple[int, ...] = ()
    reasons: tuple[str, ...] = ()


def plan_cluster(linked: dict[int, set[str]]) -> ClusterPlan:
    """Decide the cluster of a new report from the clusters its identifiers already appear in.

    `linked` maps each existing cluster id to the link keys it shares with the new report. With no
    shared key the report opens a new cluster. With several, they become one: a report that shares
    a payee with case A and a phone with case B proves A and B are the same operation, so the
    oldest (lowest id) cluster absorbs the rest.
    """
    if not linked:
        return ClusterPlan(target=None, reasons=("no_shared_identifier",))
    target = min(linked)
    merged = tuple(sorted(c for c in linked if c != target))
    reasons = tuple(f"shares:{key}" for c in sorted(linked) for key in sorted(linked[c]))
    return ClusterPlan(target=target, merged=merged, reasons=reasons)
