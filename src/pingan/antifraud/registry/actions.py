"""The only code that writes the registry, and the look-ups that "one card involved, all cards stopped" needs."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from pingan.antifraud.banks.directory import check_bank
from pingan.antifraud.registry.choices import AccountKind, AccountStatus
from pingan.antifraud.registry.model import AccountHolder, BankAccount
from pingan.core import audit, bulk, clock
from pingan.core.errors import Invalid
from pingan.core.pii import PiiKind, Protected, protect
from pingan.core.roles import Actor


@dataclass(frozen=True)
class KycRecord:
    """One validated row of a bank's KYC extract."""

    holder_national_id: str
    holder_name: str
    bank_code: str
    account_number: str
    kind: AccountKind
    opened_on: date
    status: AccountStatus


def check_kyc_record(raw: dict[str, str]) -> KycRecord:
    """Validate one KYC row; Invalid names the bad field."""
    for name in (
        "holder_national_id",
        "holder_name",
        "bank",
        "account_number",
        "kind",
        "opened_on",
        "status",
    ):
        if not str(raw.get(name) or "").strip():
            raise Invalid("required", field=name)
    protect(PiiKind.NATIONAL_ID, raw["holder_national_id"], field="holder_national_id")
    protect(PiiKind.CARD, raw["account_number"], field="account_number")
    bank = check_bank(raw["bank"], field="bank")
    try:
        kind = AccountKind(raw["kind"].strip())
    except ValueError:
        raise Invalid(f"one of {', '.join(k.value for k in AccountKind)}", field="kind") from None
    try:
        status = AccountStatus(raw["status"].strip())
    except ValueError:
        raise Invalid(f"one of {', '.join(s.value for s in AccountStatus)}", field="status") from None
    try:
        opened = date.fromisoformat(str(raw["opened_on"]).strip()[:10])
    except ValueError:
        raise Invalid("a date YYYY-MM-DD", field="opened_on") from None
    if opened > clock.now().date():
        raise Invalid("in the future", field="opened_on")
    return KycRecord(
        raw["holder_national_id"], raw["holder_name"], bank.code, raw["account_number"], kind, opened, status
    )


def do_upsert_account(session: Session, record: KycRecord, *, actor: Actor) -> BankAccount:
    """Create or update the holder and the account of one KYC record. Caller holds the transaction."""
    now = clock.now()
    nid = protect(PiiKind.NATIONAL_ID, record.holder_national_id, field="holder_national_id")
    number = protect(PiiKind.CARD, record.account_number, field="account_number")
    holder = session.execute(
        select(AccountHolder).where(AccountHolder.national_id.pseudonym == nid.pseudonym)
    ).scalar_one_or_none()
    if holder is None:
        name = protect(PiiKind.NAME, record.holder_name, field="holder_name")
        holder = AccountHolder(national_id=nid, name=name.sealed, created_at=now)
        session.add(holder)
        session.flush()
    account = session.execute(
        select(BankAccount).where(
            BankAccount.bank_code == record.bank_code, BankAccount.account.pseudonym == number.pseudonym
        )
    ).scalar_one_or_none()
    if account is None:
        account = BankAccount(bank_code=record.bank_code, account=number)
        session.add(account)
    account.holder_id = holder.id
    account.kind = record.kind
    account.opened_on = record.opened_on
    account.status = record.status
    account.updated_at = now
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="registry.account_upsert",
        object_type="bank_account",
        object_id=account.id,
        detail={"bank": record.bank_code, "holder_id": holder.id, "status": record.status.value},
    )
    return account


def account_by_number(session: Session, bank_code: str, account_pseudonym: str) -> BankAccount | None:
    """The registered account with this pseudonymised number at this bank, if any."""
    return session.execute(
        select(BankAccount).where(
            BankAccount.bank_code == bank_code, BankAccount.account.pseudonym == account_pseudonym
        )
    ).scalar_one_or_none()


def holder_by_national_id(session: Session, national_id_pseudonym: str) -> AccountHolder | None:
    """The registered holder with this pseudonymised national ID, if any."""
    return session.execute(
        select(AccountHolder).where(AccountHolder.national_id.pseudonym == national_id_pseudonym)
    ).scalar_one_or_none()


@dataclass(frozen=True)
class LinkedAccount:
    """An open account of a holder, as an order or a watchlist entry names it."""

    id: int
    holder_id: int
    bank_code: str
    account: Protected


@dataclass(frozen=True)
class HolderLinks:
    """The holders behind a set of involved accounts and all their open accounts, resolved in two queries.

    This is what "一卡涉警、全卡止付" resolves against: `linked_to` gives every other open account, at
    any bank, of the holders behind some involved accounts; closed accounts hold nothing and are skipped.

    The robot resolves a whole batch of reports (or findings) at once and then asks, report by
    report, which accounts are linked to that report's own involved accounts (`linked_to`). Plain
    rows, not mapped objects: only read, and loading them as objects was most of the look-up's cost.
    """

    holder_of: dict[tuple[str, str], int]
    open_accounts: dict[int, list[LinkedAccount]]

    @classmethod
    def resolve(cls, session: Session, involved: Iterable[tuple[str, str]]) -> HolderLinks:
        """Look up the holders of `involved` and every open account of theirs."""
        involved_set = set(involved)
        if not involved_set:
            return cls({}, {})
        holder_of = {
            (bank_code, pseudonym): holder_id
            for bank_code, pseudonym, holder_id in session.execute(
                select(BankAccount.bank_code, BankAccount.account.pseudonym, BankAccount.holder_id).where(
                    bulk.any_of(session, BankAccount.account.pseudonym, {p for _, p in involved_set})
                )
            )
            if (bank_code, pseudonym) in involved_set
        }
        open_accounts: dict[int, list[LinkedAccount]] = defaultdict(list)
        if holder_of:
            a = BankAccount
            for id_, holder_id, bank_code, *number in session.execute(
                select(
                    a.id, a.holder_id, a.bank_code, a.account.pseudonym, a.account.cipher, a.account.masked
                )
                .where(
                    bulk.any_of(session, a.holder_id, set(holder_of.values())),
                    a.status != AccountStatus.CLOSED,
                )
                .order_by(a.id)
            ):
                open_accounts[holder_id].append(
                    LinkedAccount(id_, holder_id, bank_code, Protected(PiiKind.CARD, *number))
                )
        return cls(holder_of, dict(open_accounts))

    def linked_to(self, involved: Iterable[tuple[str, str]]) -> list[LinkedAccount]:
        """The other open accounts of the holders behind `involved` (which must have been resolved), in id order."""
        involved_set = set(involved)
        holders = {self.holder_of[key] for key in involved_set if key in self.holder_of}
        accounts = [a for h in holders for a in self.open_accounts.get(h, [])]
        return sorted(
            (a for a in accounts if (a.bank_code, a.account.pseudonym) not in involved_set),
            key=lambda a: a.id,
        )
