"""A risk event's reasons in words: what an officer reads for the scorer's reasons (M-SCORE).

The scorer beside the screening rules (`screening/scorer.py`) gives an event `M-SCORE:<score>` and its
top reasons, `M-SCORE:<feature>=<value>:+<contribution>`. The page shows each as a phrase with the
value in its unit (yuan, a count, days, a share, yes/no), never the feature's column name. A rule's
own reason (`WL-PAYEE:reported_payee`, `P-FIRST-LARGE`) is shown as its rule id.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from enum import Enum

from pingan.core.i18n import N_, _
from pingan.core.pages import yuan

SCORE_RULE = "M-SCORE"


class Unit(Enum):
    """How a feature's value reads."""

    YUAN = "yuan"
    COUNT = "count"
    DAYS = "days"
    HOUR = "hour"  # an hour of the day, Beijing time
    YEARS = "years"
    SHARE = "share"  # shown as a percentage
    RATIO = "ratio"  # shown as "n times"
    YES = "yes"  # 1 yes, 0 no
    CHANNEL = "channel"
    MERCHANT = "merchant"
    OCCUPATION = "occupation"
    CONFIDENCE = "confidence"


# The codes of screening/scorer.py (CHANNEL_CODES, MERCHANT_CODES, KYC_CODES), in the same order.
CHANNELS = (
    N_("mobile banking"), N_("online banking"), N_("bank counter"), N_("ATM"), N_("third-party payment"),
    N_("QR code"), N_("POS"),
)  # fmt: skip
MERCHANTS = (
    N_("restaurant"), N_("grocery"), N_("convenience store"), N_("clothing"), N_("pharmacy"), N_("transport"),
    N_("entertainment"), N_("education"), N_("hotpot"), N_("tea house"), N_("employer"), N_("utility"),
    N_("OTC currency dealer"), N_("lender"), N_("other merchant"),
)  # fmt: skip
OCCUPATIONS = (
    N_("student"), N_("employed"), N_("self-employed"), N_("retired"), N_("not working"), N_("enterprise"),
)  # fmt: skip

# Every feature of screening/scorer.py FEATURES (a test holds the two lists together).
FEATURES: dict[str, tuple[str, Unit]] = {
    "amount_yuan": (N_("Amount of the transfer"), Unit.YUAN),
    "channel": (N_("Channel"), Unit.CHANNEL),
    "hour": (N_("Hour of the transfer"), Unit.HOUR),
    "first_payment": (N_("First payment to this payee"), Unit.YES),
    "pair_payments_before": (N_("Earlier payments to this payee"), Unit.COUNT),
    "pair_days": (N_("Days since the first payment to this payee"), Unit.DAYS),
    "payer_transfers_before": (N_("Payer's earlier transfers"), Unit.COUNT),
    "amount_vs_payer_max": (N_("Amount against the payer's largest earlier transfer"), Unit.RATIO),
    "amount_vs_payer_mean": (N_("Amount against the payer's usual transfer"), Unit.RATIO),
    "payer_new_payees_1h": (N_("New payees of the payer within an hour"), Unit.COUNT),
    "payer_new_payees_7d": (N_("New payees of the payer within a week"), Unit.COUNT),
    "payee_new_payers_1d": (N_("New payers of the payee within a day"), Unit.COUNT),
    "payee_new_payers_7d": (N_("New payers of the payee within a week"), Unit.COUNT),
    "payee_payments_before": (N_("Payments the payee received before"), Unit.COUNT),
    "payee_passed_on_7d": (N_("Share the payee passed on within a week"), Unit.SHARE),
    "payee_age_days": (N_("Age of the payee's account"), Unit.DAYS),
    "payee_business": (N_("Payee is a business account"), Unit.YES),
    "payee_merchant": (N_("Payee merchant type"), Unit.MERCHANT),
    "payee_listed": (N_("Payee on the watchlist"), Unit.YES),
    "payee_listed_confidence": (N_("Confidence of the payee's listing"), Unit.CONFIDENCE),
    "payer_age": (N_("Payer's age"), Unit.YEARS),
    "elderly_night": (N_("Elderly payer at night"), Unit.YES),
    "payer_kyc": (N_("Payer's occupation (bank record)"), Unit.OCCUPATION),
    "topup_24h_share": (N_("Money received in the 24 hours before, against the amount"), Unit.SHARE),
    "own_topup_24h_share": (N_("Moved in from the payer's own accounts in the 24 hours before"), Unit.SHARE),
    "loan_72h_share": (N_("Loan received in the 3 days before, against the amount"), Unit.SHARE),
    "round_amount": (N_("Round amount (whole hundreds)"), Unit.YES),
    "same_bank": (N_("Payer and payee at the same bank"), Unit.YES),
}

_REASON = re.compile(rf"^{SCORE_RULE}:(?P<name>[a-z0-9_]+)=(?P<value>[^:]*):\+(?P<contribution>[0-9.]+)$")
_SCORE = re.compile(rf"^{SCORE_RULE}:(?P<score>[0-9.]+)$")


@dataclass(frozen=True)
class ReasonWords:
    """One reason as the page shows it: `words` (empty for a rule id, shown as `code`) and the raw code."""

    code: str
    words: str = ""


def _coded(names: tuple[str, ...], value: float) -> str:
    i = int(value)
    return _(names[i]) if 0 <= i < len(names) and i == value else "—"


def format_value(value: float | None, unit: Unit) -> str:
    """A feature's value in its unit; "—" when not known."""
    if value is None or math.isnan(value) or math.isinf(value):
        return "—"
    match unit:
        case Unit.YUAN:
            return yuan(round(value * 100))
        case Unit.COUNT:
            return f"{value:,.0f}"
        case Unit.DAYS:
            return _("%(n)s days") % {"n": f"{value:,.1f}".removesuffix(".0")}
        case Unit.HOUR:
            return f"{int(value):02d}:00"
        case Unit.YEARS:
            return _("%(n)s years") % {"n": f"{value:.0f}"}
        case Unit.SHARE:
            return f"{value * 100:,.0f}%"
        case Unit.RATIO:
            return _("%(n)s times") % {"n": f"{value:,.1f}"}
        case Unit.YES:
            return _("yes") if value >= 0.5 else _("no")
        case Unit.CHANNEL:
            return _coded(CHANNELS, value)
        case Unit.MERCHANT:
            return _coded(MERCHANTS, value) if value >= 0 else _("not a merchant")
        case Unit.OCCUPATION:
            return _coded(OCCUPATIONS, value)
        case Unit.CONFIDENCE:
            return f"{value:.1f}"


def reason_in_words(reason: str) -> ReasonWords:
    """One stored reason in an officer's words (a rule id stays a code)."""
    if (m := _SCORE.match(reason)) is not None:
        return ReasonWords(reason, _("Model score %(score)s") % {"score": f"{float(m['score']):.2f}"})
    m = _REASON.match(reason)
    if m is None:
        return ReasonWords(reason)
    found = FEATURES.get(m["name"])
    if found is None:
        # A feature of a model newer than this catalogue: its column name is never shown.
        return ReasonWords(reason, _("Another pattern of the transfer"))
    label, unit = found
    value = float(m["value"]) if m["value"] else None
    return ReasonWords(reason, f"{_(label)}: {format_value(value, unit)}")
