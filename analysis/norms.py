"""Normative reference sets: the file format (``isokin-norms/1``), read from text and checked.

One file per published source (or per lab). A file is CSV text: ``# key: value`` lines naming
the source, then a header row and one row per group the source reports (a mean, an SD when
given, the group's size, sex and ages). Empty means *not stated by the source*, never zero:
matching (:mod:`analysis.norms_match`) treats an unknown velocity, contraction, device or
population as no match, and says so. ``analysis/norms_data/README.md`` documents every key
and column; the bundled sets are in that folder.

Header keys (``format``, ``id``, ``citation``, ``year``, ``population``, ``sport``, ``device``
and ``gravity_corrected`` required; ``authors``, ``journal``, ``doi``, ``url``, ``table``,
``notes`` optional)::

    # format: isokin-norms/1
    # id: fousekis2010
    # citation: Fousekis K, Tsepis E, Vagenas G. Lower Limb Strength in Professional Soccer ...
    # sport: soccer                 (or "general" for the general population, or "unknown")
    # device: Biodex System III     (or "unknown")
    # gravity_corrected: unknown    (yes, no or unknown)
    measure,joint,group,contraction,velocity_dps,side,sex,age_min,age_max,cohort,n,mean,sd,unit,note
    peak_torque,knee,extension,concentric,60,right,male,,,training age 5-7 y,34,236,32,N.m,

Parsing is pure (text in, :class:`ReferenceSet` out); finding and reading the files is the
caller's (``api.norms``). Every problem is a :class:`NormsFormatError` naming the file and line.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from analysis.errors import AnalysisError
from analysis.joints import CONVENTIONAL_RATIO, JOINT_PATTERNS, PATTERN_DIRECTIONS

__all__ = [
    "COLUMNS",
    "FORMAT",
    "GENERAL_POPULATION",
    "HEADER_KEYS",
    "MEASURES",
    "NormsFormatError",
    "ReferenceRow",
    "ReferenceSet",
    "parse_reference_set",
]

#: The format's name and version, the first header line of every file.
FORMAT = "isokin-norms/1"
#: ``sport`` of a set (and of a subject without one) that is the general population.
GENERAL_POPULATION = "general"
#: measure -> the unit its values are stored in (``%`` ratios are divided by 100 on reading).
MEASURES = {"peak_torque": "N.m", "peak_torque_per_kg": "N.m/kg", "ratio": "fraction"}
_UNITS = {"peak_torque": {"N.m": 1.0, "Nm": 1.0}, "peak_torque_per_kg": {"N.m/kg": 1.0, "Nm/kg": 1.0},
          "ratio": {"fraction": 1.0, "%": 0.01}}  # fmt: skip
#: header key -> required?
HEADER_KEYS = {
    "format": True, "id": True, "citation": True, "year": True, "population": True, "sport": True, "device": True,
    "gravity_corrected": True, "authors": False, "journal": False, "doi": False, "url": False, "table": False,
    "notes": False,
}  # fmt: skip
COLUMNS = ("measure", "joint", "group", "contraction", "velocity_dps", "side", "sex", "age_min", "age_max", "cohort", "n",
           "mean", "sd", "unit", "note")  # fmt: skip
_SIDES = ("left", "right", "dominant", "non-dominant")
_SEXES = ("male", "female", "mixed")
_CONTRACTIONS = ("concentric", "eccentric")
_ID = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
_UNKNOWN = "unknown"


class NormsFormatError(AnalysisError, ValueError):
    """A reference set file that breaks the format; the message names the file and line."""


@dataclass(frozen=True)
class ReferenceRow:
    """One group's value in a source.

    Attributes
    ----------
    measure
        ``peak_torque`` (N.m), ``peak_torque_per_kg`` (N.m/kg) or ``ratio`` (fraction).
    joint, pattern
        The joint and its movement pattern (DOMAIN.md section 2).
    directions
        The muscle group's direction (one), or a ratio's numerator and denominator (two, in
        the order of :data:`analysis.joints.CONVENTIONAL_RATIO`).
    contractions
        One per direction (a ratio's ``concentric`` stands for both), or ``None``: not stated.
    velocities_dps
        One per direction (deg/s; a ratio's single velocity stands for both), or ``None``: not stated.
    side
        ``left``, ``right``, ``dominant``, ``non-dominant`` or ``None`` (both sides or not said).
    sex
        ``male``, ``female``, ``mixed`` or ``None`` (not stated).
    age_min, age_max
        The group's age range, years (``None``: not stated).
    cohort
        The group's name in the source (e.g. a training-age group), or ``""``.
    n
        People (or limbs, as the source counts) in the group, or ``None``.
    mean, sd
        In the measure's unit; ``sd`` is ``None`` when the source gives none (no z-score then).
    note
        What the transcriber noted (a misprint, a label translated).
    line
        Line of the file, for messages.
    """

    measure: str
    joint: str
    pattern: str
    directions: tuple[str, ...]
    contractions: tuple[str, ...] | None
    velocities_dps: tuple[float, ...] | None
    side: str | None
    sex: str | None
    age_min: float | None
    age_max: float | None
    cohort: str
    n: int | None
    mean: float
    sd: float | None
    note: str
    line: int

    @property
    def group(self) -> str:
        """The direction, or ``numerator/denominator`` for a ratio."""
        return "/".join(self.directions)

    def to_dict(self) -> dict[str, Any]:
        return {
            "measure": self.measure, "joint": self.joint, "group": self.group,
            "contractions": list(self.contractions) if self.contractions else None,
            "velocities_dps": list(self.velocities_dps) if self.velocities_dps else None,
            "side": self.side, "sex": self.sex, "age_min": self.age_min, "age_max": self.age_max, "cohort": self.cohort,
            "n": self.n, "mean": self.mean, "sd": self.sd, "unit": MEASURES[self.measure], "note": self.note,
        }  # fmt: skip


@dataclass(frozen=True)
class ReferenceSet:
    """A source's reference values: who, where, how measured, and the rows.

    ``sport`` is normalised (lower case); ``device`` and ``sport`` are ``"unknown"`` when the
    source does not say; ``gravity_corrected`` is ``None`` when it does not say. ``origin`` is
    where the set was read from (a file path, or ``bundled:<name>``).
    """

    id: str
    citation: str
    year: int
    population: str
    sport: str
    device: str
    gravity_corrected: bool | None
    rows: tuple[ReferenceRow, ...]
    origin: str = ""
    authors: str = ""
    journal: str = ""
    doi: str = ""
    url: str = ""
    table: str = ""
    notes: str = ""

    @property
    def short(self) -> str:
        """``"Fousekis et al. 2010"``: the first author's surname and the year (the id without authors)."""
        names = [_surname(a) for a in self.authors.split(",") if a.strip()]
        if not names:
            return f"{self.id} ({self.year})"
        if len(names) == 1:
            return f"{names[0]} {self.year}"
        if len(names) == 2:
            return f"{names[0]} & {names[1]} {self.year}"
        return f"{names[0]} et al. {self.year}"

    def describe(self) -> dict[str, Any]:
        """The set without its rows, JSON-ready."""
        return {
            "id": self.id, "short": self.short, "citation": self.citation, "doi": self.doi or None, "url": self.url or None,
            "table": self.table or None, "population": self.population, "sport": self.sport, "device": self.device,
            "gravity_corrected": self.gravity_corrected, "origin": self.origin, "rows": len(self.rows),
        }  # fmt: skip


def _surname(author: str) -> str:
    """``"da Fonseca LF"`` -> ``"da Fonseca"``: the name without its trailing initials."""
    parts = author.split()
    return " ".join(parts[:-1]) if len(parts) > 1 and parts[-1].isupper() else author.strip()


def _fail(origin: str, line: int, message: str) -> NormsFormatError:
    return NormsFormatError(f"{origin}:{line}: {message}")


def _number(text: str, what: str, origin: str, line: int, *, positive: bool = True) -> float | None:
    text = text.strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise _fail(origin, line, f"{what} {text!r} is not a number (leave it empty when the source does not state it)") from None
    if not math.isfinite(value) or (positive and value <= 0) or value < 0:
        raise _fail(origin, line, f"{what} {text!r} must be {'positive' if positive else 'zero or more'}")
    return value


def _header(lines: list[str], origin: str) -> tuple[dict[str, str], int]:
    """The ``# key: value`` lines at the top; returns them and the index of the first other line."""
    values: dict[str, str] = {}
    k = 0
    while k < len(lines) and (lines[k].startswith("#") or not lines[k].strip()):
        text = lines[k].lstrip("#").strip()
        if text:
            key, sep, value = text.partition(":")
            key = key.strip().lower()
            if not sep:
                raise _fail(origin, k + 1, f"a header line reads '# key: value', got {lines[k].strip()!r}")
            if key not in HEADER_KEYS:
                raise _fail(origin, k + 1, f"unknown header key {key!r} (known: {', '.join(HEADER_KEYS)})")
            if key in values:
                raise _fail(origin, k + 1, f"header key {key!r} given twice")
            values[key] = value.strip()
        k += 1
    missing = [key for key, required in HEADER_KEYS.items() if required and not values.get(key)]
    if missing:
        raise _fail(origin, 1, f"missing header key {missing[0]!r} (write 'unknown' where the source does not say)")
    if values["format"] != FORMAT:
        raise _fail(origin, 1, f"format {values['format']!r} is not {FORMAT!r}")
    return values, k


def _pattern_of(joint: str, directions: Sequence[str], origin: str, line: int) -> str:
    for pattern in JOINT_PATTERNS[joint]:
        if len(directions) == 1 and directions[0] in PATTERN_DIRECTIONS[pattern]:
            return pattern
        if len(directions) == 2 and tuple(directions) == CONVENTIONAL_RATIO[pattern]:
            return pattern
    if len(directions) == 2:
        known = ", ".join("/".join(CONVENTIONAL_RATIO[p]) for p in JOINT_PATTERNS[joint])
        raise _fail(origin, line, f"ratio group {'/'.join(directions)!r} is not a {joint} ratio as the analysis writes it "
                                  f"(numerator/denominator: {known})")
    known = ", ".join(d for p in JOINT_PATTERNS[joint] for d in PATTERN_DIRECTIONS[p])
    raise _fail(origin, line, f"group {directions[0]!r} is not a {joint} direction (known: {known})")


def _row(cells: dict[str, str], origin: str, line: int) -> ReferenceRow:
    measure = cells["measure"].strip()
    if measure not in MEASURES:
        raise _fail(origin, line, f"measure {measure!r} is not one of {', '.join(MEASURES)}")
    joint = cells["joint"].strip().lower()
    if joint not in JOINT_PATTERNS:
        raise _fail(origin, line, f"joint {joint!r} is not one of {', '.join(JOINT_PATTERNS)}")
    directions = tuple(d.strip().lower() for d in cells["group"].split("/"))
    if (measure == "ratio") != (len(directions) == 2) or not all(directions):
        what = "numerator/denominator, e.g. flexion/extension" if measure == "ratio" else "one direction, e.g. extension"
        raise _fail(origin, line, f"group {cells['group']!r}: a {measure} row names {what}")
    pattern = _pattern_of(joint, directions, origin, line)
    contraction_text = cells["contraction"].strip().lower()
    contractions: tuple[str, ...] | None = None
    if contraction_text:
        contractions = tuple(c.strip() for c in contraction_text.split("/"))
        if len(contractions) == 1:
            contractions *= len(directions)
        if len(contractions) != len(directions) or not all(c in _CONTRACTIONS for c in contractions):
            raise _fail(origin, line, f"contraction {contraction_text!r}: one of {', '.join(_CONTRACTIONS)} per direction "
                                      "(e.g. eccentric/concentric for Hecc/Qcon), or empty when the source does not say")
    velocity_text = cells["velocity_dps"].strip()
    velocities: tuple[float, ...] | None = None
    if velocity_text:
        parts = [_number(v, "velocity_dps", origin, line) for v in velocity_text.split("/")]
        if len(parts) == 1:
            parts *= len(directions)
        if len(parts) != len(directions) or any(v is None for v in parts):
            raise _fail(origin, line, f"velocity_dps {velocity_text!r}: one velocity, or one per direction (30/240)")
        velocities = tuple(float(v) for v in parts if v is not None)
    side = cells["side"].strip().lower() or None
    if side is not None and side not in _SIDES:
        raise _fail(origin, line, f"side {side!r} is not one of {', '.join(_SIDES)} (or empty: both sides)")
    sex = cells["sex"].strip().lower() or None
    if sex is not None and sex not in _SEXES:
        raise _fail(origin, line, f"sex {sex!r} is not one of {', '.join(_SEXES)} (or empty: not stated)")
    age_min = _number(cells["age_min"], "age_min", origin, line, positive=False)
    age_max = _number(cells["age_max"], "age_max", origin, line, positive=False)
    if age_min is not None and age_max is not None and age_min > age_max:
        raise _fail(origin, line, f"age_min {age_min:g} is above age_max {age_max:g}")
    n_value = _number(cells["n"], "n", origin, line)
    if n_value is not None and n_value != int(n_value):
        raise _fail(origin, line, f"n {cells['n']!r} is not a whole number")
    unit = cells["unit"].strip()
    if unit not in _UNITS[measure]:
        raise _fail(origin, line, f"unit {unit!r} of a {measure} row is not one of {', '.join(_UNITS[measure])}")
    scale = _UNITS[measure][unit]
    mean = _number(cells["mean"], "mean", origin, line)
    if mean is None:
        raise _fail(origin, line, "mean is empty: a row without its mean says nothing")
    sd = _number(cells["sd"], "sd", origin, line)
    return ReferenceRow(
        measure=measure, joint=joint, pattern=pattern, directions=directions, contractions=contractions,
        velocities_dps=velocities, side=side, sex=sex, age_min=age_min, age_max=age_max, cohort=cells["cohort"].strip(),
        n=None if n_value is None else int(n_value), mean=mean * scale, sd=None if sd is None else sd * scale,
        note=cells["note"].strip(), line=line,
    )  # fmt: skip


def parse_reference_set(text: str, origin: str) -> ReferenceSet:
    """Read and check one reference set file's text (see the module docstring).

    Parameters
    ----------
    text
        The file's content.
    origin
        Where it comes from (a path, ``bundled:<name>``), for messages and :attr:`ReferenceSet.origin`.

    Raises
    ------
    NormsFormatError
        Any departure from the format, naming ``origin`` and the line.
    """
    lines = text.splitlines()
    header, start = _header(lines, origin)
    set_id = header["id"]
    if not _ID.match(set_id):
        raise _fail(origin, 1, f"id {set_id!r}: lower-case letters, digits, '.', '_' and '-', at most 64")
    year = _number(header["year"], "year", origin, 1)
    if year is None or year != int(year) or not 1900 <= year <= 2100:
        raise _fail(origin, 1, f"year {header['year']!r} is not a year")
    gravity = header["gravity_corrected"].lower()
    if gravity not in ("yes", "no", _UNKNOWN):
        raise _fail(origin, 1, f"gravity_corrected {header['gravity_corrected']!r} is not yes, no or unknown")
    reader = csv.reader(lines[start:])
    try:
        columns = [c.strip() for c in next(reader)]
    except StopIteration:
        raise _fail(origin, start + 1, "no header row and no rows") from None
    if tuple(columns) != COLUMNS:
        raise _fail(origin, start + 1, f"the header row must be: {','.join(COLUMNS)}")
    rows: list[ReferenceRow] = []
    for offset, cells in enumerate(reader, start=start + 2):
        if not cells or not any(c.strip() for c in cells):
            continue
        if len(cells) != len(COLUMNS):
            raise _fail(origin, offset, f"{len(cells)} cells where the header has {len(COLUMNS)}")
        rows.append(_row(dict(zip(COLUMNS, cells)), origin, offset))
    if not rows:
        raise _fail(origin, start + 1, "no rows")
    return ReferenceSet(
        id=set_id, citation=header["citation"], year=int(year), population=header["population"],
        sport=header["sport"].strip().lower(), device=header["device"],
        gravity_corrected=None if gravity == _UNKNOWN else gravity == "yes", rows=tuple(rows), origin=origin,
        authors=header.get("authors", ""), journal=header.get("journal", ""), doi=header.get("doi", ""),
        url=header.get("url", ""), table=header.get("table", ""), notes=header.get("notes", ""),
    )  # fmt: skip
