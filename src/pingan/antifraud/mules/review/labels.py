"""Words a reviewer reads for the mule model's features: a label, a one-line explanation and a unit.

The model gives each candidate its top reasons as `feature=value:+contribution` (older candidates:
`feature:+contribution`, without the value). The review page shows the label, the value in its unit
(yuan, a count, hours, days, a share) and the explanation, never the feature's column name.

Features of the propagation rounds (`nb_in_score0_wmean`, `triangles_score1`, ...) are labelled by
pattern: the round's number is filled in, counted from 1.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from enum import Enum

from pingan.core.i18n import N_, _
from pingan.core.pages import yuan


class Unit(Enum):
    """How a feature's value reads (never shown as a code: no label of its own)."""

    COUNT = "count"
    FEN = "fen"  # an amount of money, shown in yuan
    SHARE = "share"  # 0..1, shown as a percentage
    HOURS = "hours"
    DAYS = "days"
    PER_DAY = "per_day"
    RATIO = "ratio"
    SCORE = "score"  # a model score, 0..1


@dataclass(frozen=True)
class FeatureLabel:
    """A feature's label and explanation (marked for translation), the unit of its value, and what
    the page says when the value is missing (why it is not known)."""

    label: str
    explanation: str
    unit: Unit
    missing: str = ""


def _f(label: str, explanation: str, unit: Unit, missing: str = "") -> FeatureLabel:
    return FeatureLabel(label, explanation, unit, missing)


_NO_FLAGS = N_("not known: no reports or screening flags were given to the model")


C, F, S, H, D, P, R, SC = (
    Unit.COUNT, Unit.FEN, Unit.SHARE, Unit.HOURS, Unit.DAYS, Unit.PER_DAY, Unit.RATIO, Unit.SCORE,
)  # fmt: skip

# Every feature of `features.account_features` and `model.graph`; `#` stands for a round's number.
FEATURES: dict[str, FeatureLabel] = {
    "out_n": _f(N_("Transfers sent"), N_("How many transfers the account sent."), C),
    "out_sum": _f(N_("Total sent"), N_("The sum of all transfers the account sent."), F),
    "out_mean": _f(N_("Average transfer sent"), N_("The mean amount of the transfers sent."), F),
    "out_std": _f(N_("Spread of amounts sent"), N_("Standard deviation of the amounts sent."), F),
    "out_min": _f(N_("Smallest transfer sent"), N_("The smallest amount the account sent."), F),
    "out_max": _f(N_("Largest transfer sent"), N_("The largest amount the account sent."), F),
    "out_distinct": _f(N_("Payees"), N_("How many different accounts it paid."), C),
    "out_small_share": _f(
        N_("Small transfers sent"), N_("Share of transfers sent below the market's 5th percentile."), S
    ),
    "out_large_share": _f(
        N_("Large transfers sent"), N_("Share of transfers sent at or above the market's 95th percentile."), S
    ),
    "out_round_share": _f(
        N_("Round amounts sent"), N_("Share of transfers sent in whole hundreds of yuan."), S
    ),
    "out_night_share": _f(
        N_("Sent at night"), N_("Share of transfers sent between 00:00 and 06:00 Beijing time."), S
    ),
    "out_days": _f(N_("Days with transfers sent"), N_("On how many days the account sent money."), D),
    "in_n": _f(N_("Transfers received"), N_("How many transfers the account received."), C),
    "in_sum": _f(N_("Total received"), N_("The sum of all transfers the account received."), F),
    "in_mean": _f(N_("Average transfer received"), N_("The mean amount of the transfers received."), F),
    "in_std": _f(N_("Spread of amounts received"), N_("Standard deviation of the amounts received."), F),
    "in_min": _f(N_("Smallest transfer received"), N_("The smallest amount the account received."), F),
    "in_max": _f(N_("Largest transfer received"), N_("The largest amount the account received."), F),
    "in_distinct": _f(N_("Payers"), N_("How many different accounts paid it."), C),
    "in_small_share": _f(
        N_("Small transfers received"),
        N_("Share of transfers received below the market's 5th percentile."),
        S,
    ),
    "in_large_share": _f(
        N_("Large transfers received"),
        N_("Share of transfers received at or above the market's 95th percentile."),
        S,
    ),
    "in_round_share": _f(
        N_("Round amounts received"), N_("Share of transfers received in whole hundreds of yuan."), S
    ),
    "in_night_share": _f(
        N_("Received at night"), N_("Share of transfers received between 00:00 and 06:00 Beijing time."), S
    ),
    "in_days": _f(N_("Days with transfers received"), N_("On how many days the account received money."), D),
    "fan_in": _f(N_("Fan-in"), N_("Different payers: mule accounts collect from many victims."), C),
    "fan_out": _f(N_("Fan-out"), N_("Different payees: mule accounts spread money over many cards."), C),
    "counterparties_ratio": _f(
        N_("Payees per payer"), N_("Different payees for each different payer (plus one on each side)."), R
    ),
    "pass_through": _f(
        N_("Passed on"), N_("Money sent as a share of money received: a mule passes nearly all of it on."), S
    ),
    "net_kept": _f(N_("Kept"), N_("Money kept, as a share of all money moved in and out."), S),
    "velocity": _f(N_("Transfers a day"), N_("Transfers in and out per day of activity."), P),
    "active_days": _f(N_("Active days"), N_("Days with any transfer, in or out."), D),
    "span_days": _f(N_("Active period"), N_("Days from the first transfer to the last."), D),
    "days_to_first_large_inflow": _f(
        N_("Days to the first large credit"),
        N_("Days from the first transfer to the first large one received."),
        D,
    ),
    "first_out_after_in_days": _f(
        N_("Days to the first debit"), N_("Days from the first money received to the first sent."), D
    ),
    "age_at_first_large_inflow_days": _f(
        N_("Account age at the first large credit"),
        N_("Days from opening the account to the first large transfer received: rented cards are new."),
        D,
        N_("not known: the store has no opening date for this account"),
    ),
    "in_from_flagged_n": _f(
        N_("Credits from flagged payers or reported victims"),
        N_("Transfers received from payers that screening flagged or that reported a fraud."),
        C,
        _NO_FLAGS,
    ),
    "in_from_flagged_sum": _f(
        N_("Money from flagged payers or reported victims"),
        N_("The sum received from payers that screening flagged or that reported a fraud."),
        F,
        _NO_FLAGS,
    ),
    "in_from_flagged_payers": _f(
        N_("Flagged payers or reported victims who paid it"),
        N_("Different payers that screening flagged or that reported a fraud, and that paid this account."),
        C,
        _NO_FLAGS,
    ),
    "dwell_hours_median": _f(
        N_("Typical dwell time"), N_("Median hours between money arriving and the next transfer out."), H
    ),
    "dwell_hours_min": _f(
        N_("Shortest dwell time"), N_("Fewest hours between money arriving and the next transfer out."), H
    ),
    "debits_after_credit_share": _f(
        N_("Debits following a credit"), N_("Share of transfers sent after money had arrived."), S
    ),
    "max_per_day": _f(N_("Busiest day"), N_("Most transfers, in and out, on one day."), C),
    "out_repeat": _f(
        N_("Repeat payments"), N_("Transfers sent beyond the first to the same payee: a parcel split up."), C
    ),
    "out_max_to_one": _f(
        N_("Most payments to one payee"), N_("The most transfers sent to a single payee."), C
    ),
    "in_repeat": _f(N_("Repeat credits"), N_("Transfers received beyond the first from the same payer."), C),
    "in_max_from_one": _f(
        N_("Most credits from one payer"), N_("The most transfers received from a single payer."), C
    ),
    "out_burst": _f(N_("Burst payments"), N_("Transfers sent on days with other transfers sent."), C),
    "in_from_burst": _f(
        N_("Credits from burst payers"), N_("Transfers received from payers who paid others that day too."), C
    ),
    "triangles": _f(
        N_("Closed triangles"), N_("Pairs of its counterparties that trade with each other too: rings do."), C
    ),
    "reciprocal_counterparties": _f(
        N_("Paid back"), N_("Counterparties that both paid it and were paid by it."), C
    ),
    "triangles_small": _f(
        N_("Triangles with small-amount traders"),
        N_("Closed triangles, weighted by how much the other two trade in small amounts."),
        R,
    ),
    "nb_in_small_wmean": _f(
        N_("Payers' small transfers"),
        N_("Payers' share of small transfers, weighted by the amounts paid."),
        S,
    ),
    "nb_in_small_max": _f(
        N_("Payers' small transfers, highest"),
        N_("The highest share of small transfers among its payers."),
        S,
    ),
    "nb_in_small_sum": _f(
        N_("Payers' small transfers, summed"), N_("Its payers' shares of small transfers, added up."), R
    ),
    "nb_in_small_over_half": _f(
        N_("Payers mostly trading small"), N_("Payers with more than half their transfers small."), C
    ),
    "nb_out_small_wmean": _f(
        N_("Payees' small transfers"),
        N_("Payees' share of small transfers, weighted by the amounts paid."),
        S,
    ),
    "nb_out_small_max": _f(
        N_("Payees' small transfers, highest"),
        N_("The highest share of small transfers among its payees."),
        S,
    ),
    "nb_out_small_sum": _f(
        N_("Payees' small transfers, summed"), N_("Its payees' shares of small transfers, added up."), R
    ),
    "nb_out_small_over_half": _f(
        N_("Payees mostly trading small"), N_("Payees with more than half their transfers small."), C
    ),
    "nb_in_score#_wmean": _f(
        N_("Payers' mule score (round %(round)s)"),
        N_("Payers' mule scores of the previous round, weighted by the amounts paid."),
        SC,
    ),
    "nb_in_score#_max": _f(
        N_("Highest payer mule score (round %(round)s)"), N_("The highest mule score among its payers."), SC
    ),
    "nb_in_score#_sum": _f(
        N_("Payers' mule scores, summed (round %(round)s)"), N_("Its payers' mule scores, added up."), R
    ),
    "nb_in_score#_over_half": _f(
        N_("Likely-mule payers (round %(round)s)"), N_("Payers whose mule score is above one half."), C
    ),
    "nb_out_score#_wmean": _f(
        N_("Payees' mule score (round %(round)s)"),
        N_("Payees' mule scores of the previous round, weighted by the amounts paid."),
        SC,
    ),
    "nb_out_score#_max": _f(
        N_("Highest payee mule score (round %(round)s)"), N_("The highest mule score among its payees."), SC
    ),
    "nb_out_score#_sum": _f(
        N_("Payees' mule scores, summed (round %(round)s)"), N_("Its payees' mule scores, added up."), R
    ),
    "nb_out_score#_over_half": _f(
        N_("Likely-mule payees (round %(round)s)"), N_("Payees whose mule score is above one half."), C
    ),
    "triangles_score#": _f(
        N_("Triangles with likely mules (round %(round)s)"),
        N_("Closed triangles, weighted by the other two accounts' mule scores."),
        R,
    ),
    "hop2_score#_sum": _f(
        N_("Mule scores two steps away (round %(round)s)"),
        N_("Mule scores of the counterparties' counterparties, added up."),
        R,
    ),
    "hop2_score#_mean": _f(
        N_("Average mule score two steps away (round %(round)s)"),
        N_("Mean mule score of the counterparties' counterparties."),
        SC,
    ),
    "hop2_score#_over_half": _f(
        N_("Likely mules two steps away (round %(round)s)"),
        N_("Counterparties' counterparties whose mule score is above one half."),
        C,
    ),
    "co_score#_sum": _f(
        N_("Same-day partners' mule scores (round %(round)s)"),
        N_("Mule scores of accounts that traded with the same counterparties on the same day, added up."),
        R,
    ),
    "co_score#_max": _f(
        N_("Highest same-day partner mule score (round %(round)s)"),
        N_("The highest mule score among accounts trading with the same counterparties on the same day."),
        SC,
    ),
}

_ROUND = re.compile(r"score(\d+)")
_REASON = re.compile(r"^(?P<name>[A-Za-z0-9_]+)(?:=(?P<value>[^:]*))?:(?P<contribution>[+-]?[0-9.]+)$")


def feature_label(name: str) -> tuple[FeatureLabel, dict[str, int]] | None:
    """The label of feature `name` and the arguments of its text (the round), or None if unknown."""
    found = _ROUND.search(name)
    key = _ROUND.sub("score#", name) if found else name
    label = FEATURES.get(key)
    if label is None:
        return None
    # Round r of propagation uses the scores of round r; reviewers count rounds from 1.
    return label, ({"round": int(found.group(1)) + 1} if found else {})


def format_value(value: float, unit: Unit) -> str:
    """A feature's value as a reviewer reads it: yuan, a count, hours, days, a percentage."""
    if math.isnan(value) or math.isinf(value):
        return "—"
    if unit is Unit.FEN:
        return yuan(round(value))
    if unit is Unit.SHARE:
        return f"{value * 100:.0f}%"
    if unit is Unit.HOURS:
        return _("%(n)s h") % {"n": f"{value:,.1f}"}
    if unit is Unit.DAYS:
        return _("%(n)s days") % {"n": f"{value:,.1f}".removesuffix(".0")}
    if unit is Unit.PER_DAY:
        return _("%(n)s a day") % {"n": f"{value:,.1f}"}
    if unit is Unit.COUNT:
        return f"{value:,.0f}" if value == int(value) else f"{value:,.1f}"
    return f"{value:,.2f}"


@dataclass(frozen=True)
class Reason:
    """One of a candidate's reasons, as the review page shows it."""

    label: str
    explanation: str
    value: str  # "—" when the reason carries no value
    contribution: str
    known: bool  # False: a feature with no label yet; the page shows a general label, not its name


def describe(reason: str) -> Reason:
    """A reason string of the model (`feature=value:+contribution`) in the reviewer's words."""
    m = _REASON.match(reason)
    if m is None:
        return Reason(reason, "", "—", "", known=False)
    name, raw_value, contribution = m.group("name"), m.group("value"), m.group("contribution")
    found = feature_label(name)
    try:
        value = float(raw_value) if raw_value not in (None, "") else None
    except ValueError:
        value = None
    if found is None:
        # A feature with no label yet (a model newer than this catalogue): its column name is never
        # shown to a reviewer.
        return Reason(_("Another behaviour of the account"), "", raw_value or "—", contribution, known=False)
    feature, args = found
    text = _(feature.label)
    if value is not None and math.isnan(value) and feature.missing:
        shown = _(feature.missing)
    else:
        shown = format_value(value, feature.unit) if value is not None else "—"
    return Reason(
        label=text % args if args else text,
        explanation=_(feature.explanation),
        value=shown,
        contribution=contribution,
        known=True,
    )
