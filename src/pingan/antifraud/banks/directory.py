"""The directory of banks and payment institutions pingan talks to.

Codes are the common English abbreviations; `cnaps` is the institution's 3-digit bank code in the
China National Advanced Payment System (the first digits of every CNAPS branch number), or the
PBoC payment-licence holder for non-bank payment institutions.
"""

from __future__ import annotations

from dataclasses import dataclass

from pingan.core.errors import Invalid


@dataclass(frozen=True)
class Bank:
    """A bank or payment institution: short code, CNAPS code, Chinese name, and its card BIN prefix."""

    code: str
    cnaps: str
    name: str
    bin_prefix: str
    kind: str = "bank"


BANKS: tuple[Bank, ...] = (
    Bank("ICBC", "102", "中国工商银行", "622202"),
    Bank("ABC", "103", "中国农业银行", "622848"),
    Bank("BOC", "104", "中国银行", "621661"),
    Bank("CCB", "105", "中国建设银行", "621700"),
    Bank("BOCOM", "301", "交通银行", "622260"),
    Bank("CITIC", "302", "中信银行", "622690"),
    Bank("CEB", "303", "中国光大银行", "622660"),
    Bank("HXB", "304", "华夏银行", "622630"),
    Bank("CMBC", "305", "中国民生银行", "622622"),
    Bank("CGB", "306", "广发银行", "622568"),
    Bank("PAB", "307", "平安银行", "622155"),
    Bank("CMB", "308", "招商银行", "622588"),
    Bank("CIB", "309", "兴业银行", "622909"),
    Bank("SPDB", "310", "上海浦东发展银行", "622521"),
    Bank("PSBC", "403", "中国邮政储蓄银行", "621799"),
    Bank("BOCD", "313", "成都银行", "622147"),
    Bank("CDRCB", "314", "成都农村商业银行", "621453"),
    Bank("SCRCU", "402", "四川省农村信用社联合社", "621036"),
    Bank("ALIPAY", "Z2004944000010", "支付宝（中国）网络技术有限公司", "688801", kind="payment"),
    Bank("TENPAY", "Z2000533000017", "财付通支付科技有限公司", "688802", kind="payment"),
)

BANKS_BY_CODE: dict[str, Bank] = {b.code: b for b in BANKS}


def bank_name(code: str) -> str:
    """The bank's Chinese name, as pages show it; its code when the directory does not list it."""
    bank = BANKS_BY_CODE.get(code)
    return bank.name if bank is not None else code


def check_bank(code: str, *, field: str = "bank") -> Bank:
    """The bank with `code` (case-insensitive), or Invalid naming the field."""
    bank = BANKS_BY_CODE.get(code.strip().upper())
    if bank is None:
        raise Invalid(f"unknown bank code {code!r}; known: {', '.join(BANKS_BY_CODE)}", field=field)
    return bank
