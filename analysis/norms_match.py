"""Measured figures against normative reference sets: the matching group's mean and SD, z-score and percentile.

Each set's peak torque and peak torque / body mass, and each agonist/antagonist ratio, of an
analyze JSON document (``analysis/README.md``) is compared with the group of a reference set
(:mod:`analysis.norms`) that matches it in every respect (:data:`RULE`); when none does, the
figure says why. Nothing is extrapolated: a source that does not state its velocity,
contraction, dynamometer or population matches nothing (its values are still listed beside
a ratio, for orientation, as ``published``).

Pure: the document, the sets and the subject's facts in, a JSON-ready section out.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from analysis.norms import GENERAL_POPULATION, ReferenceRow, ReferenceSet

__all__ = ["DYNAMOMETER_MAKES", "RULE", "SubjectFacts", "dynamometer_make", "norms_section"]

RULE = (
    "a figure is compared with a reference group only when the joint, muscle group (or ratio), contraction and "
    "velocity (within the velocity match) are the same, the population is the subject's (their sport, or the general "
    "population when none is given), the group's sex is the subject's (or the group is mixed), the subject's age is "
    "inside the group's stated range, and the dynamometer is of the source's make; a velocity, contraction, "
    "dynamometer or population the source does not state is no match, and gravity correction must agree where the "
    "source states it. A source's groups that differ only in what the subject has no value for (e.g. training age) "
    "are pooled (n-weighted mean, SD of the union). z = (value - mean) / SD; the percentile assumes a normal "
    "distribution"
)

#: (text found in a device name, lower case) -> the make it belongs to. The bundled simulator
#: (``isokin-sim``) reads like a lab board on a Biodex's Remote Access outputs
#: (``daq/calibrations/simulator.json``), so it is compared as a Biodex, with a caveat.
DYNAMOMETER_MAKES: tuple[tuple[str, str], ...] = (
    ("biodex", "Biodex"),
    ("humac", "HUMAC/Cybex"),
    ("cybex", "HUMAC/Cybex"),
    ("csmi", "HUMAC/Cybex"),
    ("con-trex", "Con-Trex"),
    ("contrex", "Con-Trex"),
    ("isomed", "IsoMed"),
    ("kin-com", "Kin-Com"),
    ("kincom", "Kin-Com"),
    ("isoforce", "TUR Isoforce"),
    ("isokin-sim", "Biodex"),
)
_SIMULATED = "isokin-sim"

_MEASURE_WORDS = {"peak_torque": "peak torque", "peak_torque_per_kg": "peak torque / body mass", "ratio": "ratio"}
_FIELD = {"peak_torque": "peak_torque_nm", "peak_torque_per_kg": "peak_torque_per_kg"}
_UNITS = {"peak_torque": "N.m", "peak_torque_per_kg": "N.m/kg", "ratio": "fraction"}


def dynamometer_make(text: str | None) -> str | None:
    """The make of a dynamometer named by free text (``"Biodex System 3/4 Remote Access + ..."`` -> ``"Biodex"``), or ``None``."""
    if not text:
        return None
    low = text.lower()
    return next((make for key, make in DYNAMOMETER_MAKES if key in low), None)


@dataclass(frozen=True)
class SubjectFacts:
    """What the matching needs to know about the person tested (``None``: unknown).

    ``sex`` is ``male``, ``female`` or ``other``; ``age_years`` on the day of the test;
    ``sport`` the sport or population they belong to (``None``: the general population);
    ``dominant_side`` ``left`` or ``right``.
    """

    sex: str | None = None
    age_years: float | None = None
    sport: str | None = None
    dominant_side: str | None = None

    @property
    def population(self) -> str:
        sport = (self.sport or "").strip().lower()
        return sport or GENERAL_POPULATION

    def to_dict(self) -> dict[str, Any]:
        return {"sex": self.sex, "age_years": self.age_years, "sport": self.sport, "population": self.population,
                "dominant_side": self.dominant_side}  # fmt: skip


@dataclass(frozen=True)
class _Item:
    """One measured figure to compare."""

    measure: str
    path: str
    label: str
    joint: str
    directions: tuple[str, ...]
    contractions: tuple[str, ...]
    velocities_dps: tuple[float, ...]
    side: str | None
    value: float | None
    missing: str  # why ``value`` is None
    gravity_corrected: bool
    dynamometer: str | None


@dataclass
class _Candidate:
    reference: ReferenceSet
    row: ReferenceRow
    blocked: str | None = None
    stage: int = 0
    caveats: list[str] = field(default_factory=list)
    side_score: int = 0


def _items(document: Mapping[str, Any], dynamometers: Sequence[str | None]) -> list[_Item]:
    items: list[_Item] = []
    recordings = document.get("recordings", [])
    for r_index, recording in enumerate(recordings):
        side = recording.get("side")
        for s_index, s in enumerate(recording.get("sets", [])):
            contraction = s["contraction"]
            label = f"{side or 'side ?'} {recording['joint']} {s['direction']} {contraction}"
            for measure in ("peak_torque", "peak_torque_per_kg"):
                value = s.get(_FIELD[measure])
                missing = "no body mass given" if measure == "peak_torque_per_kg" and recording.get("body_mass_kg") is None \
                    else "not measured (no repetition reached the set velocity)"  # fmt: skip
                if contraction == "isometric":
                    value, missing = None, "isometric: the reference sets hold isokinetic values only"
                items.append(_Item(
                    measure, f"recordings/{r_index}/sets/{s_index}/{_FIELD[measure]}",
                    f"{label} {s['velocity_dps']:.0f} deg/s" if contraction != "isometric" else f"{label} at {s.get('angle_deg') or 0:.0f} deg",
                    recording["joint"], (s["direction"],), (contraction,), (float(s["velocity_dps"]),), side,
                    None if value is None else float(value), missing, bool(recording.get("gravity_corrected")),
                    dynamometers[r_index] if r_index < len(dynamometers) else None,
                ))  # fmt: skip
    index_of = {rec.get("source"): i for i, rec in enumerate(recordings)}
    for k, ratio in enumerate(document.get("ratios", [])):
        num, den = ratio["numerator"], ratio["denominator"]
        makes = {dynamometers[i] if i is not None and i < len(dynamometers) else None
                 for i in (index_of.get(num.get("source")), index_of.get(den.get("source")))}  # fmt: skip
        isometric = ratio["kind"] == "isometric"
        items.append(_Item(
            "ratio", f"ratios/{k}/value",
            f"{num.get('side') or 'side ?'} {ratio['joint']} {ratio['label']} "
            + (f"at {num.get('angle_deg') or 0:.0f} deg" if isometric else
               f"{num['velocity_dps']:.0f}/{den['velocity_dps']:.0f} deg/s" if ratio["kind"] == "mixed" else f"{num['velocity_dps']:.0f} deg/s"),
            ratio["joint"], (num["direction"], den["direction"]), (num["contraction"], den["contraction"]),
            (float(num["velocity_dps"]), float(den["velocity_dps"])), num.get("side"),
            None if isometric else float(ratio["value"]),
            "isometric: the reference sets hold isokinetic values only",
            bool(num.get("gravity_corrected")) and bool(den.get("gravity_corrected")),
            makes.pop() if len(makes) == 1 else None,
        ))  # fmt: skip
    return items


def _velocities_match(a: Sequence[float], b: Sequence[float], tolerance_percent: float) -> bool:
    return all(abs(x - y) <= tolerance_percent / 100 * max(abs(x), abs(y)) for x, y in zip(a, b))


def _words(values: Sequence[Any]) -> str:
    return "/".join(f"{v:g}" if isinstance(v, float) else str(v) for v in values)


def _judge(item: _Item, c: _Candidate, subject: SubjectFacts, tolerance_percent: float, velocities_of: str) -> None:
    """Set ``c.blocked`` (the first criterion that fails) and ``c.stage`` (how far it got), or its caveats."""
    ref, row = c.reference, c.row

    def block(stage: int, why: str) -> None:
        c.blocked, c.stage = why, stage

    if row.contractions is None:
        return block(1, "contraction not stated by the source")
    if row.contractions != item.contractions:
        return block(0, f"it has {_words(row.contractions)} only")
    if row.velocities_dps is None:
        return block(2, "velocity not stated by the source")
    if not _velocities_match(row.velocities_dps, item.velocities_dps, tolerance_percent):
        return block(2, f"no group at {_words(item.velocities_dps)} deg/s (it has {velocities_of} deg/s; nothing is extrapolated)")
    if ref.sport == "unknown":
        return block(3, "population not stated by the source")
    if ref.sport != subject.population:
        who = f"{subject.population} players" if subject.population != GENERAL_POPULATION else "the general population"
        return block(3, f"population {ref.sport if ref.sport != GENERAL_POPULATION else 'general'} (the subject: {who})")
    if row.sex is None:
        return block(4, "sex not stated by the source")
    if row.sex == "mixed":
        c.caveats.append("a mixed-sex group" + (f" ({row.cohort})" if row.cohort else "")
                         + ("; the subject's sex is unknown" if subject.sex is None else ""))
    elif subject.sex is None:
        return block(4, f"the group is {row.sex} and the subject's sex is unknown")
    elif row.sex != subject.sex:
        return block(4, f"the group is {row.sex} (the subject: {subject.sex})")
    if row.age_min is not None or row.age_max is not None:
        if subject.age_years is None:
            return block(5, "the group has an age range and the subject's age is unknown")
        low = row.age_min if row.age_min is not None else -math.inf
        high = row.age_max if row.age_max is not None else math.inf
        if not low <= subject.age_years <= high:
            return block(5, f"ages {_age_range(row)} (the subject: {subject.age_years:g})")
    else:
        c.caveats.append("age range not stated by the source")
    if dynamometer_make(ref.device) is None:
        return block(6, "dynamometer not stated by the source" if ref.device.lower() == "unknown"
                     else f"the source's dynamometer {ref.device!r} is not a make the matching knows")
    made = dynamometer_make(item.dynamometer)
    if made is None:
        return block(6, "the recording's dynamometer is unknown (its calibration profile's device, or --dynamometer)")
    if made != dynamometer_make(ref.device):
        return block(6, f"dynamometer {dynamometer_make(ref.device)} (the recording: {made})")
    if item.dynamometer and _SIMULATED in item.dynamometer.lower():
        c.caveats.append("a simulated recording, compared as the Biodex-style board the simulator stands for")
    if ref.gravity_corrected is None:
        c.caveats.append("the source does not say whether its torques were gravity-corrected (this recording's "
                         + ("were" if item.gravity_corrected else "were not") + ")")
    elif ref.gravity_corrected != item.gravity_corrected:
        return block(7, "the source's torques were " + ("" if ref.gravity_corrected else "not ") + "gravity-corrected, "
                     + "this recording's " + ("were" if item.gravity_corrected else "were not"))
    if row.side in (None, item.side):
        c.side_score = 2 if row.side else 1
        return None
    if row.side in ("left", "right"):
        return block(8, f"the {row.side} side only")
    dominant = subject.dominant_side
    if dominant is None:
        c.side_score = 0
        c.caveats.append("the subject's dominant side is unknown: dominant and non-dominant groups pooled")
        return None
    side_is_dominant = item.side == dominant
    if (row.side == "dominant") != side_is_dominant:
        return block(8, f"the {row.side} side only")
    c.side_score = 2
    return None


def _age_range(row: ReferenceRow) -> str:
    low = "" if row.age_min is None else f"{row.age_min:g}"
    high = "" if row.age_max is None else f"{row.age_max:g}"
    return f"{low}-{high}"


def _pooled(rows: Sequence[ReferenceRow]) -> tuple[float, float | None, int | None] | None:
    """Mean, SD and n of the union of groups (n-weighted); ``None`` when a group's n is unknown."""
    if len(rows) == 1:
        return rows[0].mean, rows[0].sd, rows[0].n
    if any(r.n is None for r in rows):
        return None
    ns = [int(r.n or 0) for r in rows]
    total = sum(ns)
    mean = sum(n * r.mean for n, r in zip(ns, rows)) / total
    if any(r.sd is None for r in rows) or total < 2:
        return mean, None, total
    within = sum((n - 1) * float(r.sd or 0.0) ** 2 for n, r in zip(ns, rows))
    between = sum(n * (r.mean - mean) ** 2 for n, r in zip(ns, rows))
    return mean, math.sqrt((within + between) / (total - 1)), total


def _reference_dict(ref: ReferenceSet, rows: Sequence[ReferenceRow], pooled: tuple[float, float | None, int | None]) -> dict[str, Any]:
    mean, sd, n = pooled
    first = rows[0]
    cohort = "; ".join(r.cohort for r in rows if r.cohort)
    return {
        "set_id": ref.id, "short": ref.short, "citation": ref.citation, "doi": ref.doi or None, "origin": ref.origin,
        "population": ref.population, "sport": ref.sport, "device": ref.device, "gravity_corrected": ref.gravity_corrected,
        "sex": first.sex, "age_min": first.age_min, "age_max": first.age_max,
        "side": "/".join(sorted({r.side for r in rows if r.side})) or None,
        "cohort": cohort, "groups": len(rows),
        "n": n, "mean": round(mean, 6), "sd": None if sd is None else round(sd, 6),
        "velocities_dps": list(first.velocities_dps or ()), "lines": [r.line for r in rows],
        "notes": [r.note for r in rows if r.note],
    }  # fmt: skip


def _published(item: _Item, sets: Sequence[ReferenceSet], tolerance_percent: float) -> list[dict[str, Any]]:
    """Every source's values for this ratio at its contraction and velocity (or unstated), for orientation."""
    out: list[dict[str, Any]] = []
    for ref in sets:
        rows = [r for r in ref.rows if r.measure == item.measure and r.joint == item.joint and r.directions == item.directions
                and (r.contractions is None or r.contractions == item.contractions)
                and (r.velocities_dps is None or _velocities_match(r.velocities_dps, item.velocities_dps, tolerance_percent))
                and (r.side in (None, item.side) or r.side not in ("left", "right"))]  # fmt: skip
        if not rows:
            continue
        means = [r.mean for r in rows]
        out.append({
            "set_id": ref.id, "short": ref.short, "sport": ref.sport, "population": ref.population,
            "sex": "/".join(sorted({r.sex or "sex not stated" for r in rows})),
            "mean_min": round(min(means), 6), "mean_max": round(max(means), 6), "groups": len(rows),
            "velocity_stated": all(r.velocities_dps is not None for r in rows),
            "contraction_stated": all(r.contractions is not None for r in rows),
        })  # fmt: skip
    return out


def _compare(item: _Item, sets: Sequence[ReferenceSet], subject: SubjectFacts, tolerance_percent: float) -> dict[str, Any]:
    out: dict[str, Any] = {
        "measure": item.measure, "unit": _UNITS[item.measure], "path": item.path, "label": item.label,
        "side": item.side, "joint": item.joint, "group": "/".join(item.directions),
        "contractions": list(item.contractions), "velocities_dps": list(item.velocities_dps), "value": item.value,
        "reference": None, "z": None, "percentile": None, "caveats": [], "reason": None, "also_matching": [],
    }  # fmt: skip
    if item.measure == "ratio":
        out["published"] = _published(item, sets, tolerance_percent)
    if item.value is None:
        out["reason"] = item.missing
        return out
    candidates = [_Candidate(ref, row) for ref in sets for row in ref.rows
                  if row.measure == item.measure and row.joint == item.joint and row.directions == item.directions]  # fmt: skip
    what = f"{_MEASURE_WORDS[item.measure]} of the {item.joint} {'/'.join(item.directions)}"
    if not candidates:
        out["reason"] = f"no reference set loaded gives the {what}"
        return out
    velocities: dict[str, str] = {}
    for ref in sets:
        seen = sorted({r.velocities_dps for r in ref.rows if r.velocities_dps and r.measure == item.measure
                       and r.joint == item.joint and r.directions == item.directions and r.contractions == item.contractions})
        velocities[ref.id] = ", ".join(_words(v) for v in seen) or "none"
    for c in candidates:
        _judge(item, c, subject, tolerance_percent, velocities[c.reference.id])
    matching = [c for c in candidates if c.blocked is None]
    if not matching:
        reasons: dict[str, _Candidate] = {}
        for c in candidates:  # per set, the candidate that got furthest
            best = reasons.get(c.reference.id)
            if best is None or c.stage > best.stage:
                reasons[c.reference.id] = c
        out["reason"] = "no matching reference group: " + "; ".join(
            f"{c.reference.short}: {c.blocked}" for c in sorted(reasons.values(), key=lambda c: -c.stage))
        return out

    def rank(c: _Candidate) -> tuple[int, int]:
        return (0 if c.row.sex == "mixed" else 1, c.side_score)

    by_set: dict[str, list[_Candidate]] = {}
    for c in matching:
        by_set.setdefault(c.reference.id, []).append(c)
    choices = []
    for members in by_set.values():
        top = max(rank(c) for c in members)
        chosen = [c for c in members if rank(c) == top]
        choices.append((top, sum(c.row.n or 0 for c in chosen), chosen))
    choices.sort(key=lambda t: (t[0], t[1], t[2][0].reference.id), reverse=True)
    _, _, chosen = choices[0]
    ref = chosen[0].reference
    rows = [c.row for c in chosen]
    pooled = _pooled(rows)
    out["also_matching"] = [members[0].reference.short for _, _, members in choices[1:]]
    out["caveats"] = list(dict.fromkeys(caveat for c in chosen for caveat in c.caveats))
    if pooled is None:
        out["reason"] = f"{ref.short}: {len(rows)} groups match, and not every group's size is stated: not pooled"
        return out
    out["reference"] = _reference_dict(ref, rows, pooled)
    mean, sd, _ = pooled
    if sd is None or sd <= 0:
        out["reason"] = f"{ref.short} gives no SD" + (" for every group pooled" if len(rows) > 1 else "") + ": no z-score"
        return out
    z = (item.value - mean) / sd
    out["z"] = round(z, 3)
    out["percentile"] = round(50.0 * (1.0 + math.erf(z / math.sqrt(2.0))), 1)  # the normal CDF
    return out


def norms_section(
    document: Mapping[str, Any],
    sets: Sequence[ReferenceSet],
    subject: SubjectFacts,
    *,
    dynamometers: Sequence[str | None],
    velocity_match_percent: float = 10.0,
) -> dict[str, Any]:
    """The ``norms`` section of an analyze JSON document (``analysis/README.md``).

    Parameters
    ----------
    document
        The document (its ``recordings`` and ``ratios``).
    sets
        The reference sets loaded.
    subject
        The person tested.
    dynamometers
        For each recording (by index), the dynamometer it was recorded on, as free text
        (a calibration profile's ``device``, a vendor export's make), or ``None``.
    velocity_match_percent
        A velocity matches a group's within this % (default 10 %, as sets pair).
    """
    comparisons = [_compare(item, sets, subject, velocity_match_percent)
                   for item in _items(document, dynamometers)]  # fmt: skip
    return {
        "rule": RULE,
        "subject": subject.to_dict(),
        "dynamometers": [{"recording": i, "dynamometer": d, "make": dynamometer_make(d)} for i, d in enumerate(dynamometers)],
        "sets": [s.describe() for s in sets],
        "compared": sum(1 for c in comparisons if c["reference"] is not None),
        "comparisons": comparisons,
    }
