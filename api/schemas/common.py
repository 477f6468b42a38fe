"""Vocabulary shared by the schemas: the canonical names, error bodies and pagination."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, Field

__all__ = [
    "CODE_PATTERN",
    "DIRECTIONS",
    "TEXT_PATTERN",
    "Direction",
    "ErrorPublic",
    "FreeText",
    "LineText",
    "Joint",
    "Mode",
    "Pattern",
    "Sex",
    "Side",
    "ValidationErrorItem",
    "ValidationErrorPublic",
    "check_isometric",
    "check_text",
]

#: A code or name: printable, no control characters, no leading or trailing blank.
CODE_PATTERN = r"^[^\s\x00-\x1f\x7f]([^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f])?$"
#: Free text: anything but NUL (which PostgreSQL cannot store).
TEXT_PATTERN = r"^[^\x00]*$"

#: Characters no text field takes: C0 and C1 controls and DEL (free text keeps tab and line breaks),
#: bidirectional embeddings, overrides and isolates (they make "exe.txt" display as "txt.exe"),
#: and lone UTF-16 surrogates (not characters; no database stores them).
_CONTROL = "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"
_BIDI = "\u202a-\u202e\u2066-\u2069"
_SURROGATE = "\ud800-\udfff"
_REFUSED_FREE = re.compile(f"[{_CONTROL}{_BIDI}{_SURROGATE}]")
_REFUSED_LINE = re.compile(f"[{_CONTROL}\t\n\r{_BIDI}{_SURROGATE}]")


def check_text(value: str, *, multiline: bool = True) -> str:
    """``value`` if it holds no refused character, else ``ValueError`` naming the first one and where it is."""
    if not isinstance(value, str):
        return value  # not text: the field's type refuses it next
    found = (_REFUSED_FREE if multiline else _REFUSED_LINE).search(value)
    if found is None:
        return value
    char = found.group()
    if "\ud800" <= char <= "\udfff":
        kind = "a lone surrogate"
    elif "\u202a" <= char <= "\u2069":
        kind = "a bidirectional override or isolate"
    else:
        kind = "a control character"
    raise ValueError(f"{kind} (U+{ord(char):04X}) at position {found.start()} is not allowed in text")


#: Free text (notes, descriptions): line breaks and tabs allowed, other controls, bidi overrides and surrogates not.
#: Checked before the field's length and pattern, so the message names the character.
FreeText = Annotated[str, BeforeValidator(check_text)]
#: One line of text (names, codes): no control character at all, no bidi override, no surrogate.
LineText = Annotated[str, BeforeValidator(lambda value: check_text(value, multiline=False))]

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
Mode = Literal["con/con", "ecc/ecc", "con/ecc", "ecc/con", "isometric"]


def check_isometric(group: str | None, directions: tuple[str, str], rom_min_deg: float | None, rom_max_deg: float | None) -> None:
    """An isometric set's rules: its angle in ``rom_min_deg`` = ``rom_max_deg``, ``group`` null (each group in turn) or one.

    Raises
    ------
    ValueError
        Naming the field at fault.
    """
    if group is not None and group not in directions:
        raise ValueError(f"group: {group!r} is not a direction of the pattern: use {' or '.join(directions)}, or null for both")
    if rom_min_deg is None or rom_max_deg is None or rom_min_deg != rom_max_deg:
        raise ValueError("rom_min_deg, rom_max_deg: an isometric set holds one angle: give it as both (equal)")


class ErrorPublic(BaseModel):
    """The body of every error this service raises itself."""

    detail: str = Field(description="what went wrong, naming the field or resource", examples=["subject 42 not found"])
    error_id: str | None = Field(
        default=None, description="5xx only: the id of this error in the server's log (the details are there)"
    )


class ValidationErrorItem(BaseModel):
    loc: list[str | int] = Field(description="where the problem is, e.g. ['query', 'limit']")
    msg: str = Field(description="what is wrong")
    type: str = Field(description="kind of problem, e.g. extra_forbidden")


class ValidationErrorPublic(BaseModel):
    """The body of a 422 (the same shape FastAPI uses for request validation)."""

    detail: list[ValidationErrorItem] = Field(description="one item per problem")
