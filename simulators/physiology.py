"""Muscle-group torque model: torque-angle, torque-velocity and activation dynamics.

The torque a muscle group exerts about the joint is modelled as::

    T(t) = T_iso * f_angle(position) * f_velocity(shortening velocity) * a(t)

- ``T_iso`` (N.m): maximal isometric torque at the optimal angle. Profiles state the
  *concentric peak at a reference velocity* (what a lab measures, e.g. at 60 deg/s);
  ``T_iso = peak / f_velocity(reference velocity)``.
- ``f_angle``: a Gaussian bell ``exp(-0.5 ((angle - optimal) / width)^2)``, 1 at the
  optimal angle, its width possibly different below and above the optimum. Knee extensors
  peak near 60-70 deg of flexion, flexors near 20-40 deg (isokinetic torque-angle curves,
  e.g. Aagaard et al. 1998 angle-specific ratios).
- ``f_velocity``: concentric (shortening velocity ``u > 0``) follows Hill's hyperbola
  ``(1 - u/V) / (1 + u/(k V))`` with ``V`` the maximal shortening velocity (deg/s) and
  ``k`` the curvature (a/F0). Eccentric (``u < 0``) rises quickly above isometric and
  plateaus at ``eccentric_ratio`` (1.2-1.4 x isometric in vivo, roughly flat with speed):
  ``E - (E - 1) exp(-|u| / ECCENTRIC_RISE_DPS)``. A flatter curve for the hamstrings
  than for the quadriceps makes the conventional H:Q rise with velocity, as measured
  by Daneshjoo et al. 2012 (0.61 / 0.72 / 0.78 at 60 / 180 / 300 deg/s).
- ``a(t)``: activation, a first-order response to the subject's effort command
  (0 relaxed, about 1 maximal), with a rise time constant at onset (activation delay,
  rate of torque development) and a slower decay when the effort stops.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

__all__ = [
    "ECCENTRIC_RISE_DPS",
    "activation",
    "torque_angle_factor",
    "torque_velocity_factor",
]

#: Lengthening velocity (deg/s) over which eccentric torque approaches its plateau (1 - 1/e of the rise).
ECCENTRIC_RISE_DPS = 20.0


def torque_angle_factor(
    angle_deg: np.ndarray,
    *,
    optimal_angle_deg: float,
    width_deg: float,
    width_below_deg: float | None = None,
    width_above_deg: float | None = None,
) -> np.ndarray:
    """Relative torque (0..1] at ``angle_deg`` for a bell centred on ``optimal_angle_deg``.

    Parameters
    ----------
    angle_deg
        Joint position in degrees (pattern convention).
    optimal_angle_deg
        Angle of maximal torque, degrees.
    width_deg
        Standard deviation of the Gaussian bell, degrees.
    width_below_deg, width_above_deg
        The bell's width (deg) below and above the optimal angle when they differ from
        ``width_deg``: a narrower side is a group weak toward that end of the range while its
        peak is intact (e.g. quadriceps weak near full extension after an ACL graft).
    """
    offset = np.asarray(angle_deg, dtype=np.float64) - optimal_angle_deg
    below = width_deg if width_below_deg is None else width_below_deg
    above = width_deg if width_above_deg is None else width_above_deg
    z = offset / np.where(offset < 0.0, below, above)
    return np.exp(-0.5 * z * z)


def torque_velocity_factor(
    shortening_dps: np.ndarray | float,
    *,
    max_velocity_dps: float,
    curvature: float,
    eccentric_ratio: float,
) -> np.ndarray:
    """Torque relative to isometric at a shortening velocity (deg/s; < 0 lengthening).

    Concentric values fall from 1 at rest to 0 at ``max_velocity_dps`` (Hill) and stay
    0 above it; eccentric values rise from 1 toward ``eccentric_ratio``.
    """
    u = np.asarray(shortening_dps, dtype=np.float64)
    pos = np.maximum(u, 0.0)
    con = (1.0 - pos / max_velocity_dps) / (1.0 + pos / (curvature * max_velocity_dps))
    ecc = eccentric_ratio - (eccentric_ratio - 1.0) * np.exp(np.minimum(u, 0.0) / ECCENTRIC_RISE_DPS)
    return np.where(u >= 0.0, np.clip(con, 0.0, None), ecc)


def activation(
    time_s: np.ndarray,
    change_times_s: Sequence[float],
    commands: Sequence[float],
    *,
    rise_time_s: float,
    decay_time_s: float,
) -> np.ndarray:
    """First-order activation following a piecewise-constant effort command.

    The command is 0 before ``change_times_s[0]`` and equals ``commands[j]`` from
    ``change_times_s[j]`` on. Activation approaches the command with the time constant
    ``rise_time_s`` while below it and ``decay_time_s`` while above it (closed form per
    piece, so it costs a few numpy operations whatever the length of ``time_s``).

    Parameters
    ----------
    time_s
        Sample times, seconds, increasing.
    change_times_s
        Times (s, increasing) at which the command changes.
    commands
        Command level from each change on (dimensionless, 0 = relaxed).
    rise_time_s, decay_time_s
        Time constants (s) of activation and relaxation.
    """
    t = np.asarray(time_s, dtype=np.float64)
    starts = np.asarray(change_times_s, dtype=np.float64)
    levels = np.asarray(commands, dtype=np.float64)
    if starts.size == 0:
        return np.zeros_like(t)
    initial = np.empty_like(levels)
    taus = np.empty_like(levels)
    a = 0.0
    for k, level in enumerate(levels):
        initial[k] = a
        taus[k] = rise_time_s if level > a else decay_time_s
        if k + 1 < levels.size:
            a = level + (a - level) * math.exp(-(starts[k + 1] - starts[k]) / taus[k])
    piece = np.searchsorted(starts, t, side="right") - 1
    inside = piece >= 0
    j = np.clip(piece, 0, None)
    value = levels[j] + (initial[j] - levels[j]) * np.exp(-np.maximum(t - starts[j], 0.0) / taus[j])
    return np.where(inside, value, 0.0)
