"""The request base model: what every `*In` refuses or cleans before a domain sees it."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from pingan.core.schemas import InputModel


class NoteIn(InputModel):
    note: str


def test_text_with_a_nul_character_is_refused_naming_the_field() -> None:
    with pytest.raises(ValidationError) as refused:
        NoteIn(note="call\x00back")
    assert refused.value.errors()[0]["loc"] == ("note",)
    assert "NUL" in refused.value.errors()[0]["msg"]


def test_an_unknown_field_is_refused() -> None:
    with pytest.raises(ValidationError) as refused:
        NoteIn.model_validate({"note": "ok", "color": "red"})
    assert refused.value.errors()[0]["loc"] == ("color",)


def test_text_is_stripped_of_surrounding_whitespace() -> None:
    assert NoteIn(note="  call back \n").note == "call back"
