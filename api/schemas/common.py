"""Vocabulary shared by the schemas: the canonical names, error bodies and pagination."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

__all__ = [
    "CODE_PATTERN",
    "DIRECTIONS",
    "TEXT_PATTERN",
    "Direction",
    "ErrorPublic",
    "Joint",
    "Mode",
    "Pattern",
    "Sex",
    "Side",
    "ValidationErrorItem",
    "ValidationErrorPublic",
]

#: A code or name: printable, no control characters, no leading or trailing blank.
CODE_PATTERN = r"^[^\s\x00-\x1f\x7f]([^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f])?$"
#: Free text: anything but NUL (which PostgreSQL cannot store).
TEXT_PATTERN = r"^[^\x00]*$"

Joint = Literal["knee", "shoulder", "elbow", "wrist", "hip", "ankle"]
Pattern = Literal[
    "flexion/extension",
    "external/internal rotation",
    "abduction/adduction",
    "plantarflexion/dorsiflexion",
    "inversion/eversion",
]
Direction = Literal[
    "flexion",
    "extension",
    "external rotation",
    "internal rotation",
    "abduction",
    "adduction",
    "plantarflexion",
    "dorsiflexion",
    "inversion",
    "eversion",
]
DIRECTIONS: tuple[str, ...] = Direction.__args__  # type: ignore[attr-defined]
Side = Literal["left", "right"]
Sex = Literal["female", "male", "other"]
Mode = Literal["con/con", "ecc/ecc", "con/ecc", "ecc/con"]


class ErrorPublic(BaseModel):
    """The body of every error this service raises itself."""

    detail: str = Field(description="what went wrong, naming the field or resource", examples=["subject 42 not found"])


class ValidationErrorItem(BaseModel):
    loc: list[str | int] = Field(description="where the problem is, e.g. ['query', 'limit']")
    msg: str = Field(description="what is wrong")
    type: str = Field(description="kind of problem, e.g. extra_forbidden")


class ValidationErrorPublic(BaseModel):
    """The body of a 422 (the same shape FastAPI uses for request validation)."""

    detail: list[ValidationErrorItem] = Field(description="one item per problem")
