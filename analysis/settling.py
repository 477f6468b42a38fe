"""When a ringing servo has settled: a damped oscillation fitted to a set's pooled speed error.

A real dynamometer's servo does not arrive at the set velocity and stay there: it overshoots
as a damped oscillation (10-15 Hz in independent recordings at 300 deg/s), and the limb's
inertia times that oscillation's acceleration is an inertial torque, the "impact artifact"
(DOMAIN.md section 3; Schwartz et al. 2010). A speed tolerance is crossed while the
oscillation is still swinging, so a load range found by speed alone holds tens of N.m of
it at 300 deg/s. The servo has **settled** once the oscillation's envelope has decayed to
:data:`SETTLED_FRACTION` (5 %, the settling time's usual criterion in control engineering:
three time constants) of its initial amplitude.

That envelope cannot be read off one movement's speed: at the 5 % point the oscillation
(1-3 deg/s at 180-500 deg/s) is under the servo's own speed ripple (0.3-0.5 % of the
velocity, 3-30 Hz) and the velocity channel's noise, and a fit of one movement's decay is
biased by the ripple by 20-40 % (its settling time off by 20-40 ms). The servo is the same
for every movement of a set, and the ripple is not: :func:`servo_settling` aligns the
movements of one set velocity (both directions) where their speed first reaches the set
velocity (the arrival), averages their speed errors, and fits ``B exp(-sigma t) sin(omega t)``
to the average's first swing and a half (1.5 periods, where the oscillation is well above
what is left of the ripple). The settling time is ``ln(1 / SETTLED_FRACTION) / sigma`` from
the arrival; its uncertainty is the jackknife SD over the movements (each left out in turn).

A set whose averaged speed does not swing back below the set velocity after its overshoot
(by more than three SDs of what the fit leaves) is not ringing: the overshoot is braked as
one bump, and :func:`analysis.repetition.braking_end` finds its end.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from analysis.segments import Segments, first_in, last_in

__all__ = ["SETTLED_FRACTION", "Settling", "arrival_offsets", "servo_settling", "settling_of"]

#: The servo has settled once its oscillation's envelope is under this fraction of its initial amplitude.
SETTLED_FRACTION = 0.05

#: The fit covers this many periods of the oscillation from the arrival.
_FIT_PERIODS = 1.5


@dataclass(frozen=True)
class Settling:
    """A set's servo oscillation and when it has settled.

    Attributes
    ----------
    settle_s
        Time from the arrival (the speed first reaching the set velocity) to the envelope
        falling to :data:`SETTLED_FRACTION` of its initial amplitude, s.
    uncertainty_s
        Jackknife SD of ``settle_s`` over the movements (s); ``nan`` with fewer than 3 movements.
    frequency_hz, damping
        The fitted oscillation's frequency (Hz, damped) and damping ratio.
    movements
        How many movements were pooled.
    overshoot
        The pooled speed's first overshoot, a fraction of the set velocity.
    """

    settle_s: float
    uncertainty_s: float
    frequency_hz: float
    damping: float
    movements: int
    overshoot: float

    @property
    def sigma(self) -> float:
        """The oscillation's decay rate, 1/s."""
        omega = 2.0 * math.pi * self.frequency_hz
        return self.damping * omega / math.sqrt(1.0 - self.damping * self.damping)


def arrival_offsets(speed_dps: np.ndarray, segments: Segments, nominal_dps: np.ndarray) -> np.ndarray:
    """Where (fractional sample offset) each movement's speed first reaches its ``nominal_dps``, linearly
    interpolated; ``nan`` if never. ``speed_dps`` holds the movements' speeds end to end (``segments``)."""
    off = segments.starts
    reach = first_in(speed_dps >= segments.spread(nominal_dps), off, segments.stops)
    i = np.where(reach >= 0, reach - off, 0)
    at = np.maximum(reach, 0)
    before, after = speed_dps[np.maximum(at - 1, 0)], speed_dps[at]
    with np.errstate(divide="ignore", invalid="ignore"):
        interpolated = (i - 1) + (nominal_dps - before) / (after - before)
    return np.where(reach < 0, np.nan, np.where(i == 0, 0.0, interpolated))


def _oscillation(t: np.ndarray, amplitude: float, sigma: float, omega: float, offset: float) -> np.ndarray:
    return np.asarray(amplitude * np.exp(-sigma * t) * np.sin(omega * t) + offset)


def _fit(error: np.ndarray, fs: float) -> tuple[float, float, float] | None:
    """``(sigma, omega, first peak)`` of the oscillation fitted to one (pooled) speed error, or ``None``.

    ``error`` is the speed's relative error from the arrival on. The fit covers the first
    :data:`_FIT_PERIODS` periods (at least one: the first swing above the set velocity and the
    one below), with an offset for a set velocity read a little off. ``None`` when the error
    does not overshoot and swing back below the offset by more than three SDs of the fit's
    residual (not ringing), or the fit fails.
    """
    from scipy.optimize import curve_fit  # heavy: imported where used

    t = np.arange(len(error)) / fs
    k1 = int(np.argmax(error[: max(3, len(error) // 2)]))
    peak = float(error[k1])
    down = np.flatnonzero(error[k1:] <= 0.0)
    if peak <= 0.0 or len(down) == 0 or k1 + int(down[0]) == 0:
        return None
    c = k1 + int(down[0])
    crossing_s = float(t[c - 1] + (t[c] - t[c - 1]) * error[c - 1] / (error[c - 1] - error[c]))
    span = t <= _FIT_PERIODS * 2.0 * crossing_s
    if span.sum() < 6 or t[span][-1] < 2.0 * crossing_s - 1.5 / fs:
        return None
    omega0 = math.pi / crossing_s
    try:
        (amplitude, sigma, omega, offset), _ = curve_fit(
            _oscillation, t[span], error[span], p0=(2.0 * peak, 0.5 * omega0, omega0, 0.0), maxfev=4000
        )
    except (RuntimeError, ValueError):
        return None
    if not (sigma > 0.0 and omega > 0.0 and amplitude > 0.0):
        return None
    residual = float(np.std(error[span] - _oscillation(t[span], amplitude, sigma, omega, offset)))
    below = (t >= math.pi / omega) & (t <= 2.0 * math.pi / omega)
    trough = offset - float(np.min(error[below])) if below.any() else 0.0
    if trough <= 3.0 * residual:
        return None
    return float(sigma), float(omega), peak


def servo_settling(
    speeds_dps: Sequence[np.ndarray],
    nominal_dps: Sequence[float],
    fs: float,
    *,
    tolerance: float = 0.10,
    overshoot: float = 0.02,
    jackknife: bool = True,
) -> Settling | None:
    """The settling of the servo over the movements of one set velocity, or ``None`` when it does not ring.

    Parameters
    ----------
    speeds_dps
        Each movement's raw speed (deg/s, positive), from its onset.
    nominal_dps
        Each movement's set velocity, deg/s (one velocity, maybe told apart per direction).
    fs
        Sample rate, Hz.
    tolerance
        Fraction of ``nominal_dps``: each movement is used up to its last sample above the
        set velocity less half of it (the start of its deceleration; an oscillation's swing
        below the set velocity reaches 2.5 % of it on the servos measured).
    overshoot
        The averaged speed must first overshoot ``nominal_dps`` by more than this fraction.
    jackknife
        Find the settling time's uncertainty (one more fit per movement); ``False`` leaves it ``nan``.
    """
    speed = np.concatenate([np.asarray(s, dtype=np.float64) for s in speeds_dps]) if speeds_dps else np.empty(0)
    segments = Segments.of([len(s) for s in speeds_dps])
    return settling_of(speed, segments, np.asarray(nominal_dps, dtype=np.float64), np.arange(len(segments)), fs,
                       tolerance=tolerance, overshoot=overshoot, jackknife=jackknife)


def settling_of(
    speed_dps: np.ndarray,
    segments: Segments,
    nominal_dps: np.ndarray,
    members: np.ndarray,
    fs: float,
    *,
    tolerance: float = 0.10,
    overshoot: float = 0.02,
    jackknife: bool = True,
    arrival: np.ndarray | None = None,
) -> Settling | None:
    """:func:`servo_settling` of the movements ``members`` (indices) of movements laid end to end (``segments``).

    ``nominal_dps`` has one value per movement; ``arrival`` their :func:`arrival_offsets`, when already known.
    """
    if arrival is None:
        arrival = arrival_offsets(speed_dps, segments, nominal_dps)
    off, end = segments.starts[members], segments.stops[members]
    nominal = np.full(len(segments), np.inf)
    nominal[members] = (1.0 - 0.5 * tolerance) * nominal_dps[members]
    inside = last_in(speed_dps >= segments.spread(nominal), off, end)  # up to deceleration
    start = arrival[members]
    used = np.isfinite(start) & (inside >= 0) & (inside - off > start + 2)
    if not used.any():
        return None
    start, off, level = start[used], off[used], nominal_dps[members][used]
    length = int(np.min((inside[used] - off - start).astype(np.intp)))
    # each movement's speed from its arrival on, sample by sample: numpy.interp over its own samples, row by row (the
    # arrival plus k stays below the last sample, and at a whole sample the slope's term is 0)
    x = start[:, None] + np.arange(length)
    whole = np.floor(x)
    at = off[:, None] + whole.astype(np.intp)
    here = np.take(speed_dps, at)
    stack = ((np.take(speed_dps, at + 1) - here) * (x - whole) + here - level[:, None]) / level[:, None]
    total = stack.sum(axis=0)
    m = len(stack)
    pooled = _fit(total / m, fs)
    if pooled is None or pooled[2] <= overshoot:
        return None
    sigma, omega = pooled[0], pooled[1]
    settle_s = math.log(1.0 / SETTLED_FRACTION) / sigma
    uncertainty = math.nan
    if jackknife and m >= 3:
        leave_one_out = []
        for i in range(m):  # the mean without movement i, from the sum: linear in the movements, not quadratic
            fit = _fit((total - stack[i]) / (m - 1), fs)
            leave_one_out.append(math.log(1.0 / SETTLED_FRACTION) / fit[0] if fit is not None else math.inf)
        spread = np.asarray(leave_one_out)
        uncertainty = float(math.sqrt((m - 1) / m * float(np.sum((spread - spread.mean()) ** 2)))) if np.isfinite(spread).all() else math.inf
    damping = sigma / math.hypot(sigma, omega)
    return Settling(settle_s, uncertainty, omega / (2.0 * math.pi), damping, m, pooled[2])
