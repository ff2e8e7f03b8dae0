"""From the engine's flags to the risk domain: protect the identities, then record the events.

The transaction store names accounts and persons by the bank's ids. Before anything is written, the
payer's person is pseudonymised (national ID), the phone is protected for the channels, and the
account numbers become card pseudonyms, so that the platform database holds no clear identifier.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from pingan.antifraud.risk.actions import FlagIn, RecordResult, do_record_flags
from pingan.core import db
from pingan.core.pii import PiiKind, protect, pseudonym
from pingan.core.roles import Actor

SCREENING_ACTOR = Actor.system("screening")


class StoreIdentities:
    """Card numbers and persons of a transaction store, looked up only for flagged rows."""

    def __init__(self, directory: Path) -> None:
        self.accounts = pl.read_parquet(directory / "accounts.parquet", columns=["account_id", "card_number"])
        self._card = dict(
            zip(self.accounts["account_id"].to_list(), self.accounts["card_number"].to_list(), strict=True)
        )
        persons = pl.read_parquet(
            directory / "persons.parquet", columns=["person_id", "national_id", "phone", "home_station"]
        )
        self._person = {r["person_id"]: r for r in persons.iter_rows(named=True)}
        self._card_pseudonyms: dict[int, str] = {}

    def card_pseudonym(self, account_id: int) -> str:
        """The pseudonym of an account's card number (as the fraud reports store payees)."""
        if account_id not in self._card_pseudonyms:
            card = self._card.get(account_id)
            self._card_pseudonyms[account_id] = (
                pseudonym(PiiKind.CARD, str(card)) if card is not None else f"store:{account_id}"
            )
        return self._card_pseudonyms[account_id]

    def account_ids(self) -> dict[str, int]:
        """Card pseudonym → store account id, for every account (HMAC of each card number)."""
        return {self.card_pseudonym(a): a for a in self._card}

    def flag_inputs(self, flags: pl.DataFrame) -> list[FlagIn]:
        """The flags as risk-domain inputs, identities protected."""
        out = []
        for r in flags.iter_rows(named=True):
            person = self._person.get(r["person_id"]) if r["person_id"] is not None else None
            phone = protect(PiiKind.PHONE, person["phone"]) if person and person["phone"] else None
            person_key = (
                pseudonym(PiiKind.NATIONAL_ID, person["national_id"])
                if person and person["national_id"]
                else f"account:{self.card_pseudonym(r['payer_account'])}"
            )
            out.append(
                FlagIn(
                    tx_id=r["tx_id"],
                    occurred_at=r["ts"],
                    person_key=person_key,
                    payer_account=self.card_pseudonym(r["payer_account"]),
                    payee_account=self.card_pseudonym(r["payee_account"]),
                    payer_bank=r["payer_bank"],
                    payee_bank=r["payee_bank"],
                    amount_fen=r["amount_fen"],
                    amount_at_risk_fen=r["amount_at_risk_fen"],
                    reasons=list(r["reasons"]),
                    typology_guess=r["typology_guess"],
                    elderly=bool(r["elderly"]),
                    phone_pseudonym=phone.pseudonym if phone else None,
                    phone_cipher=phone.cipher if phone else None,
                    phone_masked=phone.masked if phone else None,
                    home_station=person["home_station"] if person else None,
                )
            )
        return out


def record_flags(
    flags: pl.DataFrame, identities: StoreIdentities, *, engine: str, rules_version: str
) -> RecordResult:
    """Persist flags as risk events and warning plans, in one transaction; idempotent by tx id."""
    inputs = identities.flag_inputs(flags)
    with db.transaction() as session:
        return do_record_flags(
            session, inputs, engine=engine, rules_version=rules_version, actor=SCREENING_ACTOR
        )
