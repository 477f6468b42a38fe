"""Bilateral comparison of one muscle group, contraction and velocity (DOMAIN.md section 5).

Biodex deficit % = (uninvolved - involved) / uninvolved x 100; limb symmetry index
LSI = involved / uninvolved x 100. When no side is marked involved, the stronger side
is the reference (so the deficit is never negative and the LSI never above 100).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from analysis.angle_lsi import AngleLsi
from analysis.repetition import _clean

__all__ = ["Bilateral", "bilateral_comparison", "deficit_percent", "lsi_percent"]


def deficit_percent(involved_nm: float, uninvolved_nm: float) -> float:
    """Deficit (%) of the involved side relative to the uninvolved (reference) side."""
    if uninvolved_nm <= 0:
        raise ValueError(f"reference torque must be positive, got {uninvolved_nm}")
    return 100.0 * (uninvolved_nm - involved_nm) / uninvolved_nm


def lsi_percent(involved_nm: float, uninvolved_nm: float) -> float:
    """Limb symmetry index (%): involved / uninvolved x 100."""
    if uninvolved_nm <= 0:
        raise ValueError(f"reference torque must be positive, got {uninvolved_nm}")
    return 100.0 * involved_nm / uninvolved_nm


@dataclass(frozen=True)
class Bilateral:
    """Left and right peak torques (N.m) of one group, contraction and velocity, and their comparison.

    ``reference_side`` is the uninvolved side, or the stronger one when ``involved_side`` is ``None``.
    ``left_source`` and ``right_source`` name the recordings compared; ``angle_deg`` is the
    angle of isometric sets (``None`` for isokinetic ones); ``gravity_corrected`` whether both
    sides' torques were gravity-corrected (they never differ in this); ``angle_resolved`` the
    LSI angle by angle (:mod:`analysis.angle_lsi`; ``None`` for isometric sets or without
    common angles).
    """

    joint: str
    pattern: str
    direction: str
    contraction: str
    velocity_dps: float
    left_nm: float
    right_nm: float
    involved_side: str | None
    reference_side: str
    deficit_percent: float
    lsi_percent: float
    left_source: str = ""
    right_source: str = ""
    angle_deg: float | None = None
    gravity_corrected: bool = False
    angle_resolved: AngleLsi | None = None

    def to_dict(self) -> dict[str, Any]:
        out = {k: _clean(v) for k, v in self.__dict__.items() if k != "angle_resolved"}
        out["angle_resolved"] = self.angle_resolved.to_dict() if self.angle_resolved is not None else None
        return out


def bilateral_comparison(
    left_nm: float,
    right_nm: float,
    *,
    joint: str,
    pattern: str,
    direction: str,
    contraction: str,
    velocity_dps: float,
    involved_side: str | None = None,
    left_source: str = "",
    right_source: str = "",
    angle_deg: float | None = None,
    gravity_corrected: bool = False,
) -> Bilateral:
    """Compare the two sides' peak torques (N.m); ``involved_side`` is ``"left"``, ``"right"`` or ``None``."""
    if involved_side not in (None, "left", "right"):
        raise ValueError(f"involved_side must be 'left', 'right' or None, got {involved_side!r}")
    if involved_side is None:
        reference = "left" if left_nm >= right_nm else "right"
    else:
        reference = "right" if involved_side == "left" else "left"
    ref_nm, other_nm = (left_nm, right_nm) if reference == "left" else (right_nm, left_nm)
    return Bilateral(
        joint=joint,
        pattern=pattern,
        direction=direction,
        contraction=contraction,
        velocity_dps=velocity_dps,
        left_nm=left_nm,
        right_nm=right_nm,
        involved_side=involved_side,
        reference_side=reference,
        deficit_percent=deficit_percent(other_nm, ref_nm),
        lsi_percent=lsi_percent(other_nm, ref_nm),
        left_source=left_source,
        right_source=right_source,
        angle_deg=angle_deg,
        gravity_corrected=gravity_corrected,
    )
