"""Statuses and kinds of fraud reports: what other packages may import."""

from __future__ import annotations

from enum import StrEnum

from pingan.core.i18n import N_, register_labels


class Typology(StrEnum):
    """Fraud typology (诈骗类型), as the Ministry of Public Security classifies telecom fraud."""

    ORDER_BRUSHING = "刷单返利"
    FAKE_INVESTMENT = "虚假投资理财"
    FAKE_LOAN = "虚假网络贷款"
    FAKE_CUSTOMER_SERVICE = "冒充电商物流客服"
    FAKE_POLICE = "冒充公检法"
    FAKE_BOSS = "冒充领导熟人"
    FAKE_GAME_TRADE = "网络游戏虚假交易"
    ROMANCE = "网络婚恋交友"
    OTHER = "其他"


register_labels(
    Typology,
    {
        Typology.ORDER_BRUSHING: N_("order-brushing rebate"),
        Typology.FAKE_INVESTMENT: N_("fake investment"),
        Typology.FAKE_LOAN: N_("fake online loan"),
        Typology.FAKE_CUSTOMER_SERVICE: N_("fake shop or courier customer service"),
        Typology.FAKE_POLICE: N_("impersonating police, procuratorate or court"),
        Typology.FAKE_BOSS: N_("impersonating a boss or acquaintance"),
        Typology.FAKE_GAME_TRADE: N_("fake online game trade"),
        Typology.ROMANCE: N_("online romance"),
        Typology.OTHER: N_("other"),
    },
)


class Channel(StrEnum):
    """How a transfer was made."""

    MOBILE_BANKING = "mobile_banking"
    ONLINE_BANKING = "online_banking"
    COUNTER = "counter"
    ATM = "atm"
    THIRD_PARTY = "third_party"
    QR = "qr"


register_labels(
    Channel,
    {
        Channel.MOBILE_BANKING: N_("mobile banking"),
        Channel.ONLINE_BANKING: N_("online banking"),
        Channel.COUNTER: N_("bank counter"),
        Channel.ATM: N_("ATM"),
        Channel.THIRD_PARTY: N_("third-party payment"),
        Channel.QR: N_("QR code payment"),
    },
)


class SuspectKind(StrEnum):
    """Kinds of suspect identifier a victim can give."""

    PHONE = "phone"
    URL = "url"
    APP = "app"
    SOCIAL = "social"


register_labels(
    SuspectKind,
    {
        SuspectKind.PHONE: N_("phone number"),
        SuspectKind.URL: N_("website"),
        SuspectKind.APP: N_("app"),
        SuspectKind.SOCIAL: N_("social media account"),
    },
)


class LinkKind(StrEnum):
    """Identifiers that link reports into one cluster (串并案)."""

    PAYEE_ACCOUNT = "payee_account"
    SUSPECT_PHONE = "suspect_phone"
    URL = "url"


register_labels(
    LinkKind,
    {
        LinkKind.PAYEE_ACCOUNT: N_("same payee account"),
        LinkKind.SUSPECT_PHONE: N_("same suspect phone"),
        LinkKind.URL: N_("same website"),
    },
)


class ReportIntake(StrEnum):
    """Whether a receiving officer has registered the report (受案登记) or it still waits for one.

    A report typed in at a station or imported from one is registered by the officer who took it.
    A report opened by the platform itself (a likely victim pressing 2 on a warning call: "I have
    already transferred") waits for an officer: a key press can come from whoever answered the phone,
    or be a slip, and a stop-payment restricts a third party's account. Nothing acts on it, neither the
    stop-payment robot nor the watchlist, until an officer confirms it (`do_confirm_report`).
    """

    REGISTERED = "registered"
    AWAITING_OFFICER = "awaiting_officer"


register_labels(
    ReportIntake,
    {
        ReportIntake.REGISTERED: N_("registered"),
        ReportIntake.AWAITING_OFFICER: N_("awaiting an officer"),
    },
)


class RevealPurpose(StrEnum):
    """Why clear personal data of a report is revealed: each reveal names one, and a case or report
    reference, in the audit log (the lawful purposes of the bureau's data-handling rules)."""

    INVESTIGATION = "investigation"  # 侦查: working the case
    VICTIM_CONTACT = "victim_contact"  # 回访被害人: calling the victim back
    BANK_COORDINATION = "bank_coordination"  # 银行协查: a bank needs the clear number
    PROSECUTION_FILE = "prosecution_file"  # 移送起诉: the file for the procuratorate
    LEGAL_SUPERVISION = "legal_supervision"  # 执法监督: a supervisor's or auditor's review


register_labels(
    RevealPurpose,
    {
        RevealPurpose.INVESTIGATION: N_("investigation"),
        RevealPurpose.VICTIM_CONTACT: N_("calling the victim back"),
        RevealPurpose.BANK_COORDINATION: N_("bank coordination"),
        RevealPurpose.PROSECUTION_FILE: N_("prosecution file"),
        RevealPurpose.LEGAL_SUPERVISION: N_("legal supervision"),
    },
)
