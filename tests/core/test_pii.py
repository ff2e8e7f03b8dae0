"""Personal identifiers are validated, pseudonymised, encrypted and masked."""

from __future__ import annotations

from collections.abc import Iterator
from typing import cast

import pytest
from cryptography.exceptions import InvalidTag
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Integer, Table, create_engine, insert, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from pingan.core.errors import Invalid
from pingan.core.pii import (
    PiiKind,
    Protected,
    Sealed,
    decrypt,
    encrypt,
    mask,
    normalize_card,
    normalize_national_id,
    normalize_phone,
    protect,
    protected,
    pseudonym,
    sealed,
)
from tests.factories import MULE_CARD_CCB, national_id


def test_a_resident_id_with_the_right_check_character_is_accepted_and_upper_cased() -> None:
    valid = national_id("11010519491231002")
    assert valid == "11010519491231002X"
    assert normalize_national_id(valid.lower()) == valid


def test_a_resident_id_with_a_wrong_check_character_is_refused_naming_the_field() -> None:
    with pytest.raises(Invalid, match="check character") as err:
        normalize_national_id("110105194912310021", field="victim.national_id")
    assert err.value.field == "victim.national_id"


@pytest.mark.parametrize("raw", ["1381234567", "23812345678", "138123456789", "1381234567a"])
def test_a_mobile_number_must_have_11_digits_starting_with_1(raw: str) -> None:
    with pytest.raises(Invalid, match="11 digits"):
        normalize_phone(raw)


def test_a_mobile_number_loses_its_country_code_and_spaces() -> None:
    assert normalize_phone("+86 138 1234 5678") == "13812345678"


def test_a_card_number_with_a_wrong_luhn_digit_is_refused() -> None:
    wrong = MULE_CARD_CCB[:-1] + str((int(MULE_CARD_CCB[-1]) + 1) % 10)
    with pytest.raises(Invalid, match="Luhn"):
        normalize_card(wrong)


def test_masks_show_only_what_identifies_the_record_to_a_human() -> None:
    assert mask(PiiKind.CARD, "6222020200112345674") == "6222 **** **** 5674"
    assert mask(PiiKind.PHONE, "13812345678") == "138****5678"
    assert mask(PiiKind.NATIONAL_ID, "11010519491231002X") == "110105********002X"
    assert mask(PiiKind.NAME, "王芳") == "王**"


def test_a_name_mask_does_not_reveal_the_length_of_the_name() -> None:
    masks = [mask(PiiKind.NAME, name) for name in ("李", "王芳", "诸葛亮", "欧阳娜娜", "Catherine Zeta")]
    assert masks == ["李**", "王**", "诸**", "欧**", "C**"]


def test_the_pseudonym_is_stable_and_differs_by_kind() -> None:
    assert pseudonym(PiiKind.PHONE, "13812345678") == pseudonym(PiiKind.PHONE, "13812345678")
    assert pseudonym(PiiKind.PHONE, "13812345678") != pseudonym(PiiKind.CARD, "13812345678")


def test_protect_never_keeps_the_clear_value() -> None:
    p = protect(PiiKind.CARD, MULE_CARD_CCB)
    assert MULE_CARD_CCB not in p.cipher
    assert MULE_CARD_CCB not in p.pseudonym
    assert decrypt(PiiKind.CARD, p.cipher) == MULE_CARD_CCB


def test_a_ciphertext_cannot_be_decrypted_as_another_kind() -> None:
    token = encrypt(PiiKind.PHONE, "13812345678")
    with pytest.raises(InvalidTag):
        decrypt(PiiKind.CARD, token)


@given(st.text(min_size=1, max_size=200))
def test_encryption_round_trips_any_text(value: str) -> None:
    assert decrypt(PiiKind.NAME, encrypt(PiiKind.NAME, value)) == value


class _Base(DeclarativeBase):
    """A registry of its own, so that the tables below are not part of the application's schema."""


class _Holder(_Base):
    __tablename__ = "holder"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    card: Mapped[Protected] = protected(PiiKind.CARD, "card", index=True)
    phone: Mapped[Protected | None] = protected(PiiKind.PHONE, "phone", nullable=True)
    name: Mapped[Sealed] = sealed(PiiKind.NAME, "name", masked_length=64)


@pytest.fixture
def holders() -> Iterator[Session]:
    engine = create_engine("sqlite://")
    _Base.metadata.create_all(engine)
    with Session(engine) as session:
        yield session


def test_a_protected_attribute_is_three_columns_with_the_pseudonym_indexed_for_lookup() -> None:
    table = cast(Table, _Holder.__table__)
    assert [c.name for c in table.c] == [
        "id", "card_pseudonym", "card_cipher", "card_masked",
        "phone_pseudonym", "phone_cipher", "phone_masked", "name_cipher", "name_masked",
    ]  # fmt: skip
    assert {tuple(c.name for c in ix.columns) for ix in table.indexes} == {("card_pseudonym",)}
    assert (table.c.card_pseudonym.type.length, table.c.name_masked.type.length) == (64, 64)  # type: ignore[attr-defined]
    assert not table.c.card_cipher.nullable and table.c.phone_cipher.nullable


def test_a_protected_attribute_stores_and_reads_back_the_protected_value(holders: Session) -> None:
    card = protect(PiiKind.CARD, MULE_CARD_CCB)
    name = protect(PiiKind.NAME, "王芳").sealed
    holders.add(_Holder(card=card, name=name))
    holders.commit()
    got = holders.execute(select(_Holder).where(_Holder.card.pseudonym == card.pseudonym)).scalar_one()
    assert (got.card, got.name, got.phone) == (card, name, None)
    assert got.card.kind is PiiKind.CARD and decrypt(PiiKind.NAME, got.name.cipher) == "王芳"


def test_a_core_insert_names_the_columns_the_attribute_reads(holders: Session) -> None:
    card, phone = protect(PiiKind.CARD, MULE_CARD_CCB), protect(PiiKind.PHONE, "13812345678")
    name = protect(PiiKind.NAME, "王芳").sealed
    row = {**card.columns("card"), **phone.columns("phone"), **name.columns("name")}
    holders.execute(insert(_Holder), [row])
    got = holders.execute(select(_Holder)).scalar_one()
    assert (got.card, got.phone, got.name) == (card, phone, name)
    assert holders.execute(select(_Holder.phone.masked)).scalar_one() == "138****5678"
