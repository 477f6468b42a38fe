"""Limb weighing: the gravitational torque of the relaxed limb and lever, for gravity correction.

The passive limb's torque is ``W cos(position - horizontal_angle_deg)`` (DOMAIN.md
section 3), with W the torque when the segment is horizontal. :func:`weigh_limb`
fits W to samples by least squares, so a lever resting at one angle and one moved
slowly through the range both work; samples whose torque does not follow the
cosine (an active muscle) are refused rather than turned into a wrong correction.
Keating & Matyas 1996: weigh the knee near 50 deg of flexion. Recording the relaxed limb
is the acquisition side's job (``api.acquisition``); this is the fit alone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from analysis.errors import WeighingError

__all__ = ["MIN_SAMPLES", "Weighing", "weigh_limb"]

#: Fewest samples a weighing accepts.
MIN_SAMPLES = 10
#: Closest approach to vertical (deg) at which the cosine still carries the weight.
MAX_ANGLE_FROM_HORIZONTAL_DEG = 80.0


@dataclass(frozen=True)
class Weighing:
    """A fitted limb weight.

    Attributes
    ----------
    gravity_torque_nm
        W, the limb + lever torque with the segment horizontal, N.m (> 0 toward +).
    horizontal_angle_deg
        Position at which the segment is horizontal, deg.
    samples
        Samples fitted.
    mean_position_deg
        Mean lever position during the weighing, deg.
    residual_rms_nm
        RMS of torque minus the fitted ``W cos(...)``, N.m.
    """

    gravity_torque_nm: float
    horizontal_angle_deg: float
    samples: int
    mean_position_deg: float
    residual_rms_nm: float


def weigh_limb(
    torque_nm: np.ndarray,
    position_deg: np.ndarray,
    *,
    horizontal_angle_deg: float = 0.0,
    angle_deg: float | None = None,
    angle_tolerance_deg: float = 10.0,
) -> Weighing:
    """Fit W in ``torque = W cos(position - horizontal)`` to a relaxed limb's samples.

    Parameters
    ----------
    torque_nm, position_deg
        Samples of the relaxed limb: N.m and deg.
    horizontal_angle_deg
        Position (deg) at which the segment is horizontal.
    angle_deg
        Angle (deg) the lever was meant to rest at; ``None`` skips the check.
    angle_tolerance_deg
        Largest accepted distance (deg) of the mean position from ``angle_deg``.

    Raises
    ------
    analysis.errors.WeighingError
        (also a ``ValueError``) Too few samples, a lever too near vertical, a mean position away from ``angle_deg``,
        or a torque that does not follow the limb's weight (the limb was not relaxed).

    Example
    -------
    >>> pos = np.linspace(40.0, 60.0, 100)
    >>> round(weigh_limb(24.0 * np.cos(np.radians(pos)), pos).gravity_torque_nm, 6)
    24.0
    """
    torque = np.asarray(torque_nm, dtype=np.float64)
    position = np.asarray(position_deg, dtype=np.float64)
    n = len(torque)
    if n < MIN_SAMPLES or len(position) != n:
        raise WeighingError(f"weighing needs at least {MIN_SAMPLES} samples of torque and position, got {n}")
    mean_position = float(position.mean())
    if angle_deg is not None and abs(mean_position - angle_deg) > angle_tolerance_deg:
        raise WeighingError(
            f"angle_deg: the lever was at {mean_position:.1f} deg, not at {angle_deg:g} deg: move it there and weigh again"
        )
    c = np.cos(np.radians(position - horizontal_angle_deg))
    floor = math.cos(math.radians(MAX_ANGLE_FROM_HORIZONTAL_DEG))
    if float(np.mean(c * c)) < floor * floor:
        raise WeighingError(
            f"the segment is within {90 - MAX_ANGLE_FROM_HORIZONTAL_DEG:g} deg of vertical at {mean_position:.1f} deg "
            f"(horizontal at {horizontal_angle_deg:g} deg): its weight cannot be measured there"
        )
    weight = float(np.dot(torque, c) / np.dot(c, c))
    residual = float(np.sqrt(np.mean((torque - weight * c) ** 2)))
    if residual > max(2.0, 0.2 * abs(weight)):
        raise WeighingError(
            f"the torque does not follow the limb's weight (residual {residual:.1f} N.m around "
            f"W = {weight:.1f} N.m): the limb must be relaxed; weigh again"
        )
    return Weighing(weight, horizontal_angle_deg, n, mean_position, residual)
