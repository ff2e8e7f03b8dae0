"""Wastewater choices: the metabolites measured and the flags a series can carry."""

from __future__ import annotations

from enum import StrEnum

from pingan.core.i18n import N_, register_labels


class Metabolite(StrEnum):
    """The residue a laboratory measures (the target analyte), not the drug consumed."""

    BENZOYLECGONINE = "benzoylecgonine"
    COCAINE = "cocaine"
    AMPHETAMINE = "amphetamine"
    METHAMPHETAMINE = "methamphetamine"
    MDMA = "mdma"
    THC_COOH = "thc_cooh"
    KETAMINE = "ketamine"


register_labels(
    Metabolite,
    {
        Metabolite.BENZOYLECGONINE: N_("benzoylecgonine (cocaine)"),
        Metabolite.COCAINE: N_("cocaine"),
        Metabolite.AMPHETAMINE: N_("amphetamine"),
        Metabolite.METHAMPHETAMINE: N_("methamphetamine"),
        Metabolite.MDMA: N_("MDMA (ecstasy)"),
        Metabolite.THC_COOH: N_("THC-COOH (cannabis)"),
        Metabolite.KETAMINE: N_("ketamine"),
    },
)


class QuarantineReason(StrEnum):
    """Why an imported row was set aside."""

    UNKNOWN_SITE = "unknown_site"
    NEGATIVE_CONCENTRATION = "negative_concentration"
    ZERO_FLOW = "zero_flow"
    FUTURE_DATE = "future_date"
    MALFORMED = "malformed"
    DUPLICATE = "duplicate"


register_labels(
    QuarantineReason,
    {
        QuarantineReason.UNKNOWN_SITE: N_("unknown site"),
        QuarantineReason.NEGATIVE_CONCENTRATION: N_("negative concentration"),
        QuarantineReason.ZERO_FLOW: N_("flow of zero or less"),
        QuarantineReason.FUTURE_DATE: N_("date in the future"),
        QuarantineReason.MALFORMED: N_("value not readable"),
        QuarantineReason.DUPLICATE: N_("duplicate of an earlier row"),
    },
)


class EudaVerdict(StrEnum):
    """How one stored EUDA mean compares with the mean recomputed from its row's printed day values."""

    EXACT = "exact"
    # Not derivable from the printed days, but consistent with them: the publisher averaged its
    # unrounded day values, which the table prints rounded to the cent.
    HALF_CENT_TIE = "half_cent_tie"
    DAY_ROUNDING = "day_rounding"
    # The publisher's table is inconsistent with its own day values.
    DAYS_ONE_COLUMN_OFF = "days_one_column_off"
    BLANK_DAY = "blank_day"
    NOT_DERIVABLE = "not_derivable"
    # Nothing to compare: no stored mean, or no printed day in its set.
    ABSENT = "absent"


register_labels(
    EudaVerdict,
    {
        EudaVerdict.EXACT: N_("reproduced exactly"),
        EudaVerdict.HALF_CENT_TIE: N_("half-cent tie printed rounded down"),
        EudaVerdict.DAY_ROUNDING: N_("within the rounding of the day values"),
        EudaVerdict.DAYS_ONE_COLUMN_OFF: N_("day values printed one column off"),
        EudaVerdict.BLANK_DAY: N_("mean uses a day the table leaves blank"),
        EudaVerdict.NOT_DERIVABLE: N_("not derivable from the printed days"),
        EudaVerdict.ABSENT: N_("nothing to compare"),
    },
)
