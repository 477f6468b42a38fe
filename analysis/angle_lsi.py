"""Angle-resolved limb symmetry: the LSI at each angle of the two sides' torque-angle curves.

Peak torque compares one point of each curve; a deficit confined to part of the range (the
quadriceps near full extension after an ACL graft) leaves the peaks equal. Here each side's
curve is the mean of its repetitions' load-range torque on a 1-deg grid
(:class:`analysis.movement_sets.AngleCurve`); over the angles both curves cover, the LSI at
each angle is the side under test's torque / the reference side's x 100 (the reference as in
:mod:`analysis.bilateral`: the uninvolved side, else the stronger one by peak torque).

A **stretch** is a run of angles where the LSI stays under ``low_percent`` (default 90 %, the
return-to-sport LSI criterion applied angle by angle) or over ``high_percent`` (110 %, the
mirror of that band: the side under test is over 10 % stronger there, i.e. the reference is
weak); its ends are where the LSI crosses the threshold (linear interpolation on the grid) or
the edge of the common range. Stretches spanning at least ``min_span_deg`` (5 deg) are
reported and flagged. Angles where the reference side's mean torque is under 20 % of its
peak (activation and relaxation at the load range's edges, where a ratio of small torques is
mostly noise) are shown but not judged.

Only the two sides of one subject's session are compared (:mod:`analysis.pairing`): the
caller passes the curves of a bilateral pair that rule allowed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from analysis.movement_sets import AngleCurve

__all__ = ["JUDGED_TORQUE_FRACTION", "AngleLsi", "Stretch", "angle_lsi", "stretches"]

#: Angles where the reference side's torque is under this fraction of its peak are not judged.
JUDGED_TORQUE_FRACTION = 0.2


@dataclass(frozen=True)
class Stretch:
    """A run of angles with the LSI beyond a threshold.

    Attributes
    ----------
    kind
        ``"low"`` (LSI under the low threshold) or ``"high"`` (over the high one).
    start_deg, end_deg
        Its ends (deg, ``start_deg < end_deg``): threshold crossings or the edge of the judged range.
    span_deg
        ``end_deg - start_deg``, deg.
    extreme_lsi_percent, extreme_angle_deg
        The lowest (``low``) or highest (``high``) LSI in it, %, and where, deg.
    threshold_percent
        The threshold it is beyond, %.
    """

    kind: str
    start_deg: float
    end_deg: float
    span_deg: float
    extreme_lsi_percent: float
    extreme_angle_deg: float
    threshold_percent: float

    def to_dict(self) -> dict[str, Any]:
        return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in self.__dict__.items()}


@dataclass(frozen=True, eq=False)
class AngleLsi:
    """The LSI at each angle both sides' curves cover, and its stretches beyond the thresholds.

    ``left_nm`` and ``right_nm`` are the sides' mean load-range torques (N.m) at ``angle_deg``;
    ``lsi_percent`` the side under test's / the reference's x 100; ``judged`` whether an angle is
    judged (the reference side's torque at least :data:`JUDGED_TORQUE_FRACTION` of its peak).
    ``stretches`` spanning at least ``min_span_deg`` are the ones reported and flagged.
    """

    angle_deg: np.ndarray
    left_nm: np.ndarray
    right_nm: np.ndarray
    lsi_percent: np.ndarray
    judged: np.ndarray
    reference_side: str
    stretches: tuple[Stretch, ...]
    low_percent: float
    high_percent: float
    min_span_deg: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "angle_deg": [round(float(a), 3) for a in self.angle_deg],
            "left_nm": [round(float(v), 3) for v in self.left_nm],
            "right_nm": [round(float(v), 3) for v in self.right_nm],
            "lsi_percent": [round(float(v), 3) for v in self.lsi_percent],
            "judged": [bool(j) for j in self.judged],
            "reference_side": self.reference_side,
            "low_percent": self.low_percent,
            "high_percent": self.high_percent,
            "min_span_deg": self.min_span_deg,
            "stretches": [s.to_dict() for s in self.stretches],
        }


def stretches(
    angle_deg: np.ndarray, lsi_percent: np.ndarray, *, threshold_percent: float, kind: str, min_span_deg: float
) -> list[Stretch]:
    """Runs of ``lsi_percent`` under (``kind="low"``) or over (``"high"``) a threshold, at least ``min_span_deg`` long.

    ``angle_deg`` is an increasing grid (deg) without holes larger than its step; each run's
    ends are interpolated where the LSI crosses the threshold, or are the grid's ends.
    """
    beyond = lsi_percent < threshold_percent if kind == "low" else lsi_percent > threshold_percent
    out: list[Stretch] = []
    n = len(angle_deg)
    k = 0
    while k < n:
        if not beyond[k]:
            k += 1
            continue
        first = k
        while k + 1 < n and beyond[k + 1]:
            k += 1
        last = k
        start = _crossing(angle_deg, lsi_percent, first - 1, first, threshold_percent) if first > 0 else float(angle_deg[0])
        end = _crossing(angle_deg, lsi_percent, last, last + 1, threshold_percent) if last + 1 < n else float(angle_deg[-1])
        run = lsi_percent[first : last + 1]
        at = first + int(np.argmin(run) if kind == "low" else np.argmax(run))
        if end - start >= min_span_deg:
            out.append(Stretch(kind, start, end, end - start, float(lsi_percent[at]), float(angle_deg[at]), threshold_percent))
        k += 1
    return out


def _crossing(angle_deg: np.ndarray, value: np.ndarray, i: int, j: int, level: float) -> float:
    a0, a1, v0, v1 = float(angle_deg[i]), float(angle_deg[j]), float(value[i]), float(value[j])
    return a0 if v0 == v1 else a0 + (a1 - a0) * (level - v0) / (v1 - v0)


def angle_lsi(
    left: AngleCurve,
    right: AngleCurve,
    *,
    reference_side: str,
    low_percent: float = 90.0,
    high_percent: float = 110.0,
    min_span_deg: float = 5.0,
) -> AngleLsi | None:
    """The LSI at each common angle of the left and right curves, and its stretches (see the module docstring).

    Parameters
    ----------
    left, right
        Each side's mean load-range torque (N.m, positive) on a 1-deg grid (deg).
    reference_side
        ``"left"`` or ``"right"``: the side the LSI divides by.
    low_percent, high_percent
        Thresholds, % (defaults 90 and 110).
    min_span_deg
        Shortest stretch reported, deg (default 5).

    Returns ``None`` when the curves share fewer than two angles.

    Raises
    ------
    ValueError
        A bad ``reference_side`` or thresholds out of order.
    """
    if reference_side not in ("left", "right"):
        raise ValueError(f"reference_side must be 'left' or 'right', got {reference_side!r}")
    if not 0 < low_percent < 100 < high_percent:
        raise ValueError(f"the thresholds must satisfy 0 < low < 100 < high, got {low_percent:g} and {high_percent:g}")
    common, i_left, i_right = np.intersect1d(left.angle_deg, right.angle_deg, return_indices=True)
    if len(common) < 2:
        return None
    left_nm, right_nm = left.torque_nm[i_left], right.torque_nm[i_right]
    ref_nm, other_nm = (left_nm, right_nm) if reference_side == "left" else (right_nm, left_nm)
    valid = ref_nm > 0
    if valid.sum() < 2:
        return None
    common, left_nm, right_nm, ref_nm, other_nm = common[valid], left_nm[valid], right_nm[valid], ref_nm[valid], other_nm[valid]
    lsi = 100.0 * other_nm / ref_nm
    judged = ref_nm >= JUDGED_TORQUE_FRACTION * float(np.max(ref_nm))
    found: list[Stretch] = []
    for run in _runs(judged):
        angles, values = common[run], lsi[run]
        found += stretches(angles, values, threshold_percent=low_percent, kind="low", min_span_deg=min_span_deg)
        found += stretches(angles, values, threshold_percent=high_percent, kind="high", min_span_deg=min_span_deg)
    found.sort(key=lambda s: s.start_deg)
    return AngleLsi(common, left_nm, right_nm, lsi, judged, reference_side, tuple(found), low_percent, high_percent,
                    min_span_deg)  # fmt: skip


def _runs(mask: np.ndarray) -> list[slice]:
    """The runs of ``True`` in a boolean array, as slices."""
    out: list[slice] = []
    k, n = 0, len(mask)
    while k < n:
        if mask[k]:
            first = k
            while k + 1 < n and mask[k + 1]:
                k += 1
            out.append(slice(first, k + 1))
        k += 1
    return out
