"""Per-repetition figures: isokinetic load range (this module), peak torque, work, power, timing
(:mod:`analysis.repetition_figures`).

All torques here are *group torques*: the muscle group's torque made positive
(``group_sign * torque_nm``), so a flexor and an extensor peak are both positive.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from analysis.cutoff import noise_sds
from analysis.segments import Segments, first_in, last_in, range_reduce
from analysis.settling import arrival_offsets, settling_of

__all__ = [
    "NEVER_REACHED",
    "RepetitionMetrics",
    "braking_end",
    "braking_ends",
    "load_range",
    "load_ranges",
    "load_ranges_of",
]


#: How a repetition's ``no_load_range_reason`` starts when its speed never came within tolerance of the set velocity.
NEVER_REACHED = "the speed never came within tolerance of"


def load_range(
    speed_dps: np.ndarray,
    nominal_dps: float,
    *,
    tolerance: float = 0.10,
    overshoot: float = 0.02,
    settle: float = 0.002,
    settled: float | None = None,
) -> tuple[int, int] | None:
    """The isokinetic load range of one movement: ``(start, stop)`` sample offsets, or ``None``.

    The longest run of samples whose speed (deg/s, positive, unfiltered) lies within
    ``tolerance`` (a fraction) of ``nominal_dps``, which leaves out acceleration and
    deceleration. When the speed, on first reaching the nominal velocity, overshoots it by
    more than ``overshoot`` (a fraction) before coming back to it, the servo is braking the
    limb, and braking is where the impact artifact lies (Schwartz et al. 2010): the load
    range then starts only once braking is over (:func:`braking_end`). A servo whose
    overshoot rings (:mod:`analysis.settling`) has settled only at ``settled`` (a sample
    offset, fractional); given, the load range starts there at the earliest, and the
    braking rule, made for one bump, is not used. (One movement of :func:`load_ranges_of`.)
    """
    speed = np.asarray(speed_dps, dtype=np.float64)
    starts, stops = load_ranges_of(speed, Segments.of([len(speed)]), np.array([float(nominal_dps)]),
                                   np.array([np.nan if settled is None else float(settled)]),
                                   tolerance=tolerance, overshoot=overshoot, settle=settle)
    return (int(starts[0]), int(stops[0])) if starts[0] >= 0 else None


def load_ranges_of(
    speed_dps: np.ndarray,
    segments: Segments,
    nominal_dps: np.ndarray,
    settled: np.ndarray,
    *,
    tolerance: float,
    overshoot: float,
    settle: float,
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`load_range` of every movement at once: start and stop offsets (-1, -1 where there is none).

    ``speed_dps`` holds the movements' speeds end to end (``segments``), ``nominal_dps`` and
    ``settled`` one value per movement (``nan``: not settled by a ringing servo's rule).
    """
    n = len(segments)
    off, end = segments.starts, segments.stops
    nominal = segments.spread(nominal_dps)
    inside = np.abs(speed_dps - nominal) <= tolerance * nominal
    before = np.zeros_like(inside)
    before[1:] = inside[:-1]
    before[off] = False
    after = np.zeros_like(inside)
    after[:-1] = inside[1:]
    after[end - 1] = False
    run_start = np.flatnonzero(inside & ~before)
    run_stop = np.flatnonzero(inside & ~after) + 1
    owner = np.searchsorted(off, run_start, side="right") - 1
    first_run = np.searchsorted(owner, np.arange(n))
    has = first_run < np.searchsorted(owner, np.arange(n), side="right")
    starts = np.full(n, -1, dtype=np.intp)
    stops = np.full(n, -1, dtype=np.intp)
    if not has.any():
        return starts, stops
    length = run_stop - run_start
    runs = Segments.of(np.diff(np.append(first_run[has], len(length))))
    longest = runs.argmax(length)  # the first longest run of each movement that has one
    a = np.full(n, -1, dtype=np.intp)
    b = np.full(n, -1, dtype=np.intp)
    a[has], b[has] = run_start[longest] - off[has], run_stop[longest] - off[has]
    ringing = has & np.isfinite(settled)
    a[ringing] = np.maximum(a[ringing], np.ceil(settled[ringing] - 1e-9).astype(np.intp))
    plain = has & ~ringing
    # the overshoot's peak: the highest speed between first reaching the nominal velocity and first coming back to it,
    # in the load range's first half
    half_end = np.where(plain, off + (a + b) // 2 + 1, off)
    reach = first_in(speed_dps >= nominal, off, half_end)
    reached = reach >= 0
    back = first_in(speed_dps <= nominal, np.where(reached, reach, end), half_end)
    peak_end = np.minimum(np.where(back >= 0, back, half_end) + 1, half_end)
    top = np.full(n, np.inf)
    top[reached] = range_reduce(np.maximum, speed_dps, reach[reached], peak_end[reached])
    peak = first_in(speed_dps >= segments.spread(top), np.where(reached, reach, end), peak_end)
    braked = reached & (speed_dps[np.maximum(peak, 0)] > (1.0 + overshoot) * nominal_dps)
    if braked.any():
        noise = np.zeros(n)
        noise[braked] = noise_sds(speed_dps, off[braked] + a[braked], off[braked] + b[braked])
        ends = braking_ends(speed_dps, segments, nominal_dps, peak, np.where(braked, off + b, off), settle=settle,
                            noise_dps=noise)
        ok = braked & (ends >= 0) & (ends < b)
        a[ok] = np.maximum(a[ok], ends[ok])
        a[braked & ~ok] = -1
    found = (a >= 0) & (a < b)
    return np.where(found, a, -1), np.where(found, b, -1)


def load_ranges(
    speed_dps: np.ndarray,
    segments: Segments,
    nominal_dps: np.ndarray,
    groups: Sequence[int],
    fs: float,
    *,
    tolerance: float = 0.10,
    overshoot: float = 0.02,
    settle: float = 0.002,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The load range (:func:`load_range`) of each movement, with its set velocity's servo settling.

    ``speed_dps`` holds the movements' raw speeds (deg/s, positive) end to end (``segments``);
    ``groups`` labels the movements of one set velocity (both directions: one servo, one
    velocity); each group's settling (:func:`analysis.settling.servo_settling`) is found from
    all its movements together, and each movement's load range starts no earlier than its
    own arrival at the set velocity plus the settling time.

    Returns the load ranges' start and stop offsets (-1 where there is none) and, for each,
    how many samples its start is uncertain by: 0 for a start found by the speed alone (known
    to a sample), else twice the settling time's jackknife SD (30 % of the settling time when
    fewer than 3 movements, or a left-out fit, leave it unknown: the spread of single-movement
    fits), at least one sample.
    """
    label = np.asarray(groups, dtype=np.intp)
    arrival = arrival_offsets(speed_dps, segments, nominal_dps)
    settled = np.full(len(segments), np.nan)
    uncertainties = np.zeros(len(segments), dtype=np.intp)
    for g in sorted(set(groups)):
        members = np.flatnonzero(label == g)
        s = settling_of(speed_dps, segments, nominal_dps, members, fs, tolerance=tolerance, overshoot=overshoot,
                           arrival=arrival)
        if s is None:
            continue
        timed = members[np.isfinite(arrival[members])]
        settled[timed] = arrival[timed] + s.settle_s * fs
        spread_s = 2.0 * s.uncertainty_s if np.isfinite(s.uncertainty_s) else _SINGLE_FIT_SPREAD * s.settle_s
        uncertainties[timed] = max(1, int(np.ceil(spread_s * fs)))
    starts, stops = load_ranges_of(speed_dps, segments, nominal_dps, settled, tolerance=tolerance, overshoot=overshoot,
                                   settle=settle)
    return starts, stops, uncertainties


#: Spread of a settling time fitted without the jackknife (fewer than 3 movements), as a fraction of it: single
#: movements' fits on the validation grid's ringing servos were off by 20-40 %.
_SINGLE_FIT_SPREAD = 0.3


def braking_end(
    speed_dps: np.ndarray, nominal_dps: float, *, peak: int, settle: float = 0.002, noise_dps: float = 0.0
) -> int | None:
    """First sample (offset) after the servo has braked a velocity overshoot, or ``None``.

    The impact artifact is the limb's inertia times the braking deceleration, so it lasts
    as long as the braking, and the speed comes back to the set velocity tangentially: a
    speed threshold is crossed while the deceleration, and the artifact, are still there
    (at 500 deg/s with 0.3 deg/s of velocity noise, a 0.2 % threshold is crossed 2 ms
    before braking ends, with 10 N.m of a knee's artifact left). Braking is therefore taken
    to end at the later of

    - the speed back within ``settle`` (a fraction) of ``nominal_dps``, and
    - as long after the speed falls through half the overshoot as it rose through half
      before that (a servo braking symmetrically ends as long after its steepest point as
      it began before it; the half crossings are where the speed changes fastest, so noise
      moves them least), plus one sample for the crossings' rounding to samples and three
      SDs of their timing: ``noise_dps`` over the speed's slope there.

    Parameters
    ----------
    speed_dps
        The movement's speed (deg/s, positive) up to the end of the load range.
    nominal_dps
        The set velocity, deg/s.
    peak
        Offset of the overshoot's peak speed.
    settle
        Fraction of the set velocity within which the speed counts as back.
    noise_dps
        SD of the speed's noise, deg/s.

    (One movement of :func:`braking_ends`.)
    """
    speed = np.asarray(speed_dps, dtype=np.float64)
    ends = braking_ends(speed, Segments.of([len(speed)]), np.array([float(nominal_dps)]), np.array([peak]),
                        np.array([len(speed)]), settle=settle, noise_dps=np.array([float(noise_dps)]))
    return int(ends[0]) if ends[0] >= 0 else None


def braking_ends(
    speed_dps: np.ndarray,
    segments: Segments,
    nominal_dps: np.ndarray,
    peak: np.ndarray,
    stop: np.ndarray,
    *,
    settle: float,
    noise_dps: np.ndarray,
) -> np.ndarray:
    """:func:`braking_end` of every movement with a peak (``peak >= 0``, a flat index; the speed up to flat ``stop``).

    Returns offsets within each movement, -1 where braking does not end (or there is no peak).
    """
    off = segments.starts
    has = peak >= 0
    at = np.maximum(peak, 0)
    excess = speed_dps[at] - nominal_dps
    half = np.where(has, nominal_dps + 0.5 * excess, -np.inf)
    calm_level = np.where(has, (1.0 + settle) * nominal_dps, -np.inf)
    lo = np.where(has, peak, stop)
    down = first_in(speed_dps <= segments.spread(half), lo, stop)
    calm = first_in(speed_dps <= segments.spread(calm_level), lo, stop)
    below = last_in(speed_dps <= segments.spread(half), off, np.where(has, peak, off))
    up = np.where(below >= 0, below - off + 1, 0)
    fall = down - off
    slope = 0.5 * excess / np.maximum(fall - up, 1)  # deg/s per sample, the mean from half up to the peak and back
    ok = has & (down >= 0) & (calm >= 0)
    jitter = np.zeros(len(off), dtype=np.intp)
    jitter[ok] = np.ceil(3.0 * noise_dps[ok] / slope[ok]).astype(np.intp)
    return np.where(ok, np.maximum(calm - off, 2 * fall - up + 1 + jitter), -1)


@dataclass(frozen=True)
class RepetitionMetrics:
    """Figures of one repetition (one movement in one direction).

    Windowed figures come from the isokinetic load range and are ``None`` when the
    velocity never came within tolerance; ``*_unwindowed_*`` use the whole movement.
    Times are from movement onset (s), angles in deg, torques in N.m (the group's
    torque, positive), work in J (torque integrated over angle in radians), power in W.
    A ``partial`` repetition (``partial_reason`` says why: it covered less than its set's
    usual range) is left out of the set's mean peak, CV and fatigue indexes.
    ``no_load_range_reason`` says why the windowed figures are ``None``: the speed never
    came within tolerance of the set velocity, or the servo's settling left no trustworthy
    load range (:mod:`analysis.measurability`).
    """

    index: int
    movement: str
    start_s: float
    end_s: float
    velocity_dps: float
    peak_torque_nm: float | None
    angle_at_peak_deg: float | None
    time_to_peak_s: float | None
    peak_torque_unwindowed_nm: float
    angle_at_peak_unwindowed_deg: float
    time_to_peak_unwindowed_s: float
    torque_at_angle_nm: float | None
    torque_at_time_nm: float | None
    work_j: float
    load_range_work_j: float | None
    mean_power_w: float
    peak_power_w: float | None
    rom_deg: float
    load_range_start_s: float | None
    load_range_end_s: float | None
    acceleration_time_s: float | None
    deceleration_time_s: float | None
    partial: bool = False
    partial_reason: str | None = None
    no_load_range_reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready mapping (field names as in the JSON contract)."""
        return {k: _clean(v) for k, v in self.__dict__.items()}


def _clean(v: Any) -> Any:
    if isinstance(v, float):
        return None if not np.isfinite(v) else round(v, 6)
    return v
