"""The classifier API: suggest an incident's 类型 or a fraud report's typology; record a person's override.

`pages_router` serves the new-report form's typology suggestion as an htmx fragment
(`POST /classify/report-suggestion`); the call-taker's form has its own (`/command/calls/suggest`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field, field_validator

from pingan.command import classify
from pingan.core.auth import require_roles
from pingan.core.deps import CsrfChecked
from pingan.core.errors import Conflict, Invalid
from pingan.core.pages import render
from pingan.core.roles import HUMAN_ROLES, Actor

router = APIRouter(prefix="/api/v1/classify", tags=["classify"])
pages_router = APIRouter(tags=["classify"])
# A suggestion reveals nothing stored: anyone signed in may ask (call-takers, officers registering reports).
Anyone = Annotated[Actor, Depends(require_roles(*HUMAN_ROLES))]


class TextIn(BaseModel):
    """A text to classify."""

    text: str = Field(min_length=1, max_length=4000, description="the call text or report narrative")

    @field_validator("text")
    @classmethod
    def _not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("give some text")
        return v


class SuggestionOut(BaseModel):
    label: str
    confidence: float


class ClassificationOut(BaseModel):
    """The suggested label, its confidence, and the top 3 (most likely first; confidences sum to ≤ 1)."""

    label: str
    confidence: float
    top: list[SuggestionOut]


class OverrideIn(BaseModel):
    """A person chose `chosen` where the classifier suggested `suggested`."""

    kind: classify.Kind
    text: str = Field(min_length=1, max_length=4000)
    suggested: str | None = Field(default=None, max_length=40)
    chosen: str = Field(min_length=1, max_length=40)


class OverrideOut(BaseModel):
    recorded: bool


def _classify(kind: classify.Kind, text: str) -> ClassificationOut:
    model = classify.loaded_model(kind)
    if model is None:
        # 409, not 503: the server works, its state lacks a model (a person must train one first).
        raise Conflict("no classifier trained: run `pingan command train-classifier`")
    c = model.classify(text)
    return ClassificationOut(
        label=c.label,
        confidence=c.confidence,
        top=[SuggestionOut(label=s.label, confidence=s.confidence) for s in c.top],
    )


@router.post("/incident", response_model=ClassificationOut)
def classify_incident(body: TextIn, actor: Anyone) -> ClassificationOut:
    """Suggest the 类型 code (`0101` theft, …) of a 110 call text."""
    return _classify("incident", body.text)


@router.post("/report", response_model=ClassificationOut)
def classify_report(body: TextIn, actor: Anyone) -> ClassificationOut:
    """Suggest the fraud typology of a report narrative."""
    return _classify("report", body.text)


@router.post("/override", response_model=OverrideOut)
def record_override(body: OverrideIn, actor: Anyone) -> OverrideOut:
    """Log that a person chose another label than the suggestion; the next training reads it.

    The chosen label must be one the model knows (a 类型 code, a typology), so that nothing the model
    cannot learn is logged.
    """
    model = classify.loaded_model(body.kind)
    if model is None:
        raise Conflict("no classifier trained: run `pingan command train-classifier`")
    if body.chosen not in model.labels:
        raise Invalid(f"not a label of the {body.kind} model: {body.chosen}", field="chosen")
    rec = classify.record_override(body.kind, body.text, body.suggested, body.chosen, by=actor.username)
    return OverrideOut(recorded=rec is not None)


@pages_router.post("/classify/report-suggestion", response_class=HTMLResponse)
def report_suggestion(
    request: Request,
    actor: Anyone,
    _csrf: CsrfChecked,
    narrative: Annotated[str, Form(max_length=20000)] = "",
) -> HTMLResponse:
    """The suggested typology of the narrative typed so far, with its top 3 (htmx fragment of the
    new-report form). The suggestion travels with the form (`suggested_typology`); the officer's
    typology is recorded, and one that differs is logged as an override when the report is saved."""
    model = classify.loaded_model("report")
    classified = model.classify(narrative) if model is not None and narrative.strip() else None
    return render(request, "_typology_suggestion.html", classified=classified, trained=model is not None)
