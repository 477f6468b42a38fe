"""Agonist/antagonist ratios: conventional, functional, mixed, and angle-specific curves.

Numerator and denominator follow each pattern's conventional ratio
(:data:`analysis.joints.CONVENTIONAL_RATIO`: flexion/extension, ER/IR, abd/add, DF/PF, EV/INV).

- ``conventional``: both concentric at the same velocity (Hcon/Qcon);
- ``eccentric``: both eccentric at the same velocity (Hecc/Qecc);
- ``functional``: one eccentric, one concentric at the same velocity (Hecc/Qcon, Hcon/Qecc; Aagaard 1998);
- ``mixed``: numerator eccentric and denominator concentric at different velocities (Hecc30/Qcon240; Ardern 2015);
- ``isometric``: both isometric at the same angle (Hiso/Qiso).

Same-velocity ratios also carry an angle-specific curve over the angles both groups'
load ranges share, and the angle where it crosses 1 (the torque curves cross), ignoring
crossings where either torque is under 20 % of its peak (activation ramps at the edges).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from analysis.repetition import _clean

__all__ = [
    "CONTRACTION_ABBREVIATIONS",
    "AngleRatio",
    "Ratio",
    "RatioTerm",
    "angle_ratio",
    "direction_abbreviation",
    "peak_ratio",
    "ratio_kind",
]

#: Contraction suffixes of ratio labels (``Hcon/Qcon``, ``Hiso/Qiso``).
CONTRACTION_ABBREVIATIONS = {"concentric": "con", "eccentric": "ecc", "isometric": "iso"}

_ABBREVIATIONS = {
    "flexion": "flex",
    "extension": "ext",
    "external rotation": "ER",
    "internal rotation": "IR",
    "abduction": "abd",
    "adduction": "add",
    "plantarflexion": "PF",
    "dorsiflexion": "DF",
    "inversion": "INV",
    "eversion": "EV",
}
_KNEE = {"flexion": "H", "extension": "Q"}


def direction_abbreviation(joint: str, direction: str) -> str:
    """Short name of a muscle group (``H``/``Q`` for the knee's flexors/extensors, ``ER``, ``DF``...)."""
    if joint == "knee" and direction in _KNEE:
        return _KNEE[direction]
    return _ABBREVIATIONS[direction]


@dataclass(frozen=True)
class RatioTerm:
    """One side of a ratio: a set's windowed peak torque (N.m), what it is and which recording it comes from.

    ``angle_deg`` is an isometric set's angle (deg; ``None`` for isokinetic sets);
    ``gravity_corrected`` whether its recording's torque was gravity-corrected.
    """

    direction: str
    contraction: str
    velocity_dps: float
    side: str | None
    peak_torque_nm: float
    source: str
    angle_deg: float | None = None
    gravity_corrected: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {k: _clean(v) for k, v in self.__dict__.items()}


@dataclass(frozen=True, eq=False)
class AngleRatio:
    """Ratio of the two groups' mean load-range torques at common angles (deg); ``value`` is a fraction."""

    angle_deg: np.ndarray
    value: np.ndarray
    crossing_angle_deg: float | None
    crossing_angles_deg: tuple[float, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "angle_deg": [round(float(a), 3) for a in self.angle_deg],
            "value": [round(float(v), 6) for v in self.value],
            "crossing_angle_deg": _clean(self.crossing_angle_deg),
            "crossing_angles_deg": [round(float(a), 3) for a in self.crossing_angles_deg],
        }


@dataclass(frozen=True, eq=False)
class Ratio:
    """An agonist/antagonist ratio; ``value`` is numerator / denominator peak torque (fraction)."""

    kind: str
    label: str
    joint: str
    pattern: str
    numerator: RatioTerm
    denominator: RatioTerm
    value: float
    angle_specific: AngleRatio | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "label": self.label,
            "joint": self.joint,
            "pattern": self.pattern,
            "numerator": self.numerator.to_dict(),
            "denominator": self.denominator.to_dict(),
            "value": _clean(self.value),
            "angle_specific": self.angle_specific.to_dict() if self.angle_specific else None,
        }


def peak_ratio(numerator_nm: float, denominator_nm: float) -> float:
    """Agonist/antagonist ratio (a fraction) of two peak torques (N.m): numerator / denominator.

    Multiply by 100 for the percentage vendor reports print (e.g. Biodex's "AGON/ANTAG RATIO").
    """
    if denominator_nm <= 0:
        raise ValueError(f"denominator torque must be positive, got {denominator_nm}")
    return numerator_nm / denominator_nm


def ratio_kind(numerator_contraction: str, denominator_contraction: str, same_velocity: bool) -> str | None:
    """The kind of a numerator/denominator pair, or ``None`` when it is not a ratio we report.

    For isometric sets ``same_velocity`` means the same angle.
    """
    isometric = (numerator_contraction == "isometric", denominator_contraction == "isometric")
    if any(isometric):
        return "isometric" if all(isometric) and same_velocity else None
    if same_velocity:
        if numerator_contraction == denominator_contraction:
            return "conventional" if numerator_contraction == "concentric" else "eccentric"
        return "functional"
    if numerator_contraction == "eccentric" and denominator_contraction == "concentric":
        return "mixed"
    return None


def angle_ratio(
    numerator_angle_deg: np.ndarray,
    numerator_nm: np.ndarray,
    denominator_angle_deg: np.ndarray,
    denominator_nm: np.ndarray,
    *,
    min_torque_fraction: float = 0.2,
) -> AngleRatio | None:
    """Angle-specific ratio over the integer angles both curves cover, and where it crosses 1.

    ``crossing_angles_deg`` lists every sign change of ``ratio - 1`` (deg, linearly
    interpolated). The main ``crossing_angle_deg`` is the first of them where both torques,
    on both sides of the crossing, reach ``min_torque_fraction`` (20 %) of their curve's peak:
    at the edges of the load range the torques are still rising or already falling (activation,
    relaxation) and their ratio crosses 1 on the way without the curves really crossing.
    ``None`` when no crossing qualifies. Returns ``None`` without two common angles.
    """
    common, i_num, i_den = np.intersect1d(numerator_angle_deg, denominator_angle_deg, return_indices=True)
    den = denominator_nm[i_den]
    ok = den > 0
    if ok.sum() < 2:
        return None
    angles, num, den = common[ok], numerator_nm[i_num][ok], den[ok]
    value = num / den
    diff = value - 1.0
    strong = (num >= min_torque_fraction * float(np.max(numerator_nm))) & (
        den >= min_torque_fraction * float(np.max(denominator_nm))
    )
    crossings: list[float] = []
    crossing = None
    for k in map(int, np.flatnonzero(np.signbit(diff[:-1]) != np.signbit(diff[1:]))):
        d0, d1 = diff[k], diff[k + 1]
        at = float(angles[k] + (angles[k + 1] - angles[k]) * (d0 / (d0 - d1))) if d0 != d1 else float(angles[k])
        crossings.append(at)
        if crossing is None and strong[k] and strong[k + 1]:
            crossing = at
    return AngleRatio(angle_deg=angles, value=value, crossing_angle_deg=crossing, crossing_angles_deg=tuple(crossings))
