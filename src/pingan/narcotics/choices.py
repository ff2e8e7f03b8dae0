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
