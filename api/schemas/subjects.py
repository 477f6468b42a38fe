"""Subjects: the pseudonymous people tested."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.common import CODE_PATTERN, TEXT_PATTERN, FreeText, LineText, Sex, Side

__all__ = ["SubjectBase", "SubjectCreate", "SubjectPublic", "SubjectUpdate", "SubjectsPublic"]

_THIS_YEAR = dt.date.today().year

_CODE = Field(
    min_length=1,
    max_length=64,
    pattern=CODE_PATTERN,
    description="pseudonymous code, unique in the lab (no names: keep the key to identities elsewhere)",
    examples=["S-01"],
)
_SEX = Field(default=None, description="female, male or other", examples=["male"])
_BIRTH_YEAR = Field(default=None, ge=1900, le=_THIS_YEAR, description="year of birth", examples=[1990])
_MASS = Field(default=None, gt=0, le=400, description="body mass in kg, for torque/body mass (N.m/kg)", examples=[75])
_HEIGHT = Field(default=None, gt=0, le=300, description="height in cm", examples=[180])
_DOMINANT = Field(default=None, description="dominant side: left or right", examples=["right"])
_INVOLVED = Field(
    default=None,
    description="involved (injured or operated) side: left or right; bilateral deficits use the other as reference",
    examples=["left"],
)
_SPORT = Field(
    default=None,
    min_length=1,
    max_length=64,
    pattern=CODE_PATTERN,
    description="the sport (e.g. soccer) or population the subject's normative comparisons use; null: the general "
    "population (a soccer player is compared with soccer players, a patient with the general population)",
    examples=["soccer"],
)
_NOTES = Field(default="", max_length=10_000, pattern=TEXT_PATTERN, description="free text", examples=["ACL reconstruction 2025-03"])


class SubjectBase(BaseModel):
    code: str = _CODE
    sex: Sex | None = _SEX
    birth_year: int | None = _BIRTH_YEAR
    body_mass_kg: float | None = _MASS
    height_cm: float | None = _HEIGHT
    dominant_side: Side | None = _DOMINANT
    involved_side: Side | None = _INVOLVED
    sport: str | None = _SPORT
    notes: str = _NOTES


class SubjectCreate(SubjectBase):
    """A new subject; only ``code`` is required."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"code": "S-01", "sex": "male", "birth_year": 1990, "body_mass_kg": 75}]}
    )

    code: LineText = _CODE
    sport: LineText | None = _SPORT
    notes: FreeText = _NOTES


class SubjectUpdate(BaseModel):
    """Fields to change; absent fields stay, ``null`` clears an optional one."""

    code: LineText = Field(default=None, min_length=1, max_length=64, pattern=CODE_PATTERN, description=_CODE.description)  # type: ignore[assignment]
    sex: Sex | None = _SEX
    birth_year: int | None = _BIRTH_YEAR
    body_mass_kg: float | None = _MASS
    height_cm: float | None = _HEIGHT
    dominant_side: Side | None = _DOMINANT
    involved_side: Side | None = _INVOLVED
    sport: LineText | None = _SPORT
    notes: FreeText = Field(default=None, max_length=10_000, pattern=TEXT_PATTERN, description="free text")  # type: ignore[assignment]


class SubjectPublic(SubjectBase):
    model_config = ConfigDict(from_attributes=True)

    id: int = Field(description="subject id", examples=[1])
    created_at: dt.datetime = Field(description="creation time (UTC)")
    updated_at: dt.datetime = Field(description="last change (UTC)")


class SubjectsPublic(BaseModel):
    data: list[SubjectPublic] = Field(description="one page of subjects, by id")
    count: int = Field(description="number of subjects matching the query, all pages together", examples=[1])
