"""Per-repetition figures: isokinetic load range, peak torque, work, power, timing.

All torques here are *group torques*: the muscle group's torque made positive
(``group_sign * torque_nm``), so a flexor and an extensor peak are both positive.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from analysis.cutoff import noise_sds
from analysis.segments import Segments, first_in, gather_index, last_in, range_reduce
from analysis.settling import arrival_offsets, settling_of

__all__ = [
    "NEVER_REACHED",
    "RepetitionMetrics",
    "braking_end",
    "braking_ends",
    "load_range",
    "load_ranges",
    "load_ranges_of",
    "measure_repetitions",
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


def _works_j(group_torque_nm: np.ndarray, position_deg: np.ndarray, segments: Segments) -> np.ndarray:
    """Each segment's torque integrated over the angle travelled (rad), trapezoidal.

    Steps are signed along the net movement, so position noise cancels instead of adding up.
    0 for a segment of one sample.
    """
    off, last = segments.starts, segments.stops - 1
    products = (group_torque_nm[1:] + group_torque_nm[:-1]) * (position_deg[1:] - position_deg[:-1])
    long = last > off
    total = np.zeros(len(segments))
    total[long] = range_reduce(np.add, products, off[long], last[long])
    direction = np.where(position_deg[last] >= position_deg[off], 1.0, -1.0)
    return np.where(long, total * 0.5 * direction * np.pi / 180.0, 0.0)


def _interp_at(x: np.ndarray, xp: np.ndarray, fp: np.ndarray, segments: Segments, asked: np.ndarray) -> np.ndarray:
    """``numpy.interp(x[i], sorted xp, fp in the same order)`` over each segment ``i`` where ``asked`` (else ``nan``).

    Sorted as a stable sort does: of equal ``xp`` below or at ``x``, the last sample counts; above it, the first.
    Each asked ``x[i]`` must lie within its segment's ``xp``.
    """
    off, end = segments.starts, segments.stops
    level = segments.spread(np.where(asked, x, -np.inf))
    below = xp <= level
    low = np.full(len(segments), -np.inf)
    low[asked] = range_reduce(np.maximum, np.where(below, xp, -np.inf), off[asked], end[asked])
    j_low = last_in(below & (xp == segments.spread(low)), off, end)
    above = (xp > level) & segments.spread(asked)
    high = np.full(len(segments), np.inf)
    has_high = asked & (low < x)
    high[has_high] = range_reduce(np.minimum, np.where(above, xp, np.inf), off[has_high], end[has_high])
    j_high = first_in(above & (xp == segments.spread(high)), off, end)
    at_low, at_high = fp[np.maximum(j_low, 0)], fp[np.maximum(j_high, 0)]
    with np.errstate(divide="ignore", invalid="ignore"):
        between = (at_high - at_low) / (high - low) * (x - low) + at_low
    return np.where(asked, np.where(has_high, between, at_low), np.nan)


def measure_repetitions(
    time_s: np.ndarray,
    group_torque_nm: np.ndarray,
    position_deg: np.ndarray,
    speed_dps: np.ndarray,
    raw_group_torque_nm: np.ndarray,
    segments: Segments,
    window_start: np.ndarray,
    window_stop: np.ndarray,
    load_range_torque_nm: np.ndarray,
    *,
    torque_angle_deg: float | None,
    torque_time_s: float | None,
) -> dict[str, np.ndarray]:
    """Figures of every movement at once, as arrays (one value per movement; ``nan`` where a figure has none).

    Parameters
    ----------
    time_s, group_torque_nm, position_deg, speed_dps, raw_group_torque_nm
        The movements' samples end to end (``segments``): s, the group's low-passed torque (N.m,
        positive when the group pulls), deg, speed (deg/s, positive), and the group's torque before
        low-pass filtering (N.m; the same array as ``group_torque_nm`` when unfiltered). The
        unwindowed peak, its angle and time come from the raw torque (they are for comparison with
        vendor software, which prints raw sample peaks), and the windowed peak, found on the filtered
        curve, is capped at the largest raw sample of the load range: a low-pass can overshoot the
        samples it smooths by a few hundredths of a N.m, and a windowed peak must never exceed the
        raw peak.
    window_start, window_stop
        Each movement's load range as sample offsets (see :func:`load_range`), -1 where it has none.
    load_range_torque_nm
        The group torque over the load ranges, each low-passed on its own (N.m), end to end in
        movement order (the movements with a load range only).
    torque_angle_deg, torque_time_s
        Where to read torque at a fixed angle (deg) and a fixed time from onset (s); ``None`` skips.
    """
    n = len(segments)
    off, last = segments.starts, segments.stops - 1
    t0 = time_s[off]
    duration = time_s[last] - t0
    k_all = segments.argmax(raw_group_torque_nm)
    work = _works_j(group_torque_nm, position_deg, segments)
    low, high = segments.reduce(np.minimum, position_deg), segments.reduce(np.maximum, position_deg)
    at_angle = np.full(n, np.nan)
    if torque_angle_deg is not None:
        x = float(torque_angle_deg)
        at_angle = _interp_at(np.full(n, x), position_deg, group_torque_nm, segments, (low <= x) & (x <= high))
    at_time = np.full(n, np.nan)
    if torque_time_s is not None:
        asked = (0 <= torque_time_s) & (torque_time_s <= duration)
        x = t0 + torque_time_s
        j = off + segments.reduce(np.add, (time_s <= segments.spread(x)).astype(np.intp)) - 1
        nxt = np.minimum(j + 1, last)
        with np.errstate(divide="ignore", invalid="ignore"):
            between = (group_torque_nm[nxt] - group_torque_nm[j]) / (time_s[nxt] - time_s[j]) * (x - time_s[j]) + group_torque_nm[j]
        at_time = np.where(asked, np.where((time_s[j] == x) | (j == last), group_torque_nm[j], between), np.nan)
    out = {
        "start_s": t0,
        "end_s": time_s[last],
        "peak_torque_unwindowed_nm": raw_group_torque_nm[k_all],
        "angle_at_peak_unwindowed_deg": position_deg[k_all],
        "time_to_peak_unwindowed_s": time_s[k_all] - t0,
        "torque_at_angle_nm": at_angle,
        "torque_at_time_nm": at_time,
        "work_j": work,
        "mean_power_w": np.divide(work, duration, out=np.zeros(n), where=duration > 0),
        "rom_deg": high - low,
    }
    windowed = window_start >= 0
    w_lo, w_hi = off[windowed] + window_start[windowed], off[windowed] + window_stop[windowed]
    windows = Segments.of(w_hi - w_lo)
    inside = gather_index(w_lo, w_hi - w_lo)
    k = inside[windows.argmax(load_range_torque_nm)]
    lr_start, lr_end = time_s[w_lo], time_s[w_hi - 1]
    figures = {
        "peak_torque_nm": np.minimum(load_range_torque_nm[windows.argmax(load_range_torque_nm)],
                                     range_reduce(np.maximum, raw_group_torque_nm, w_lo, w_hi)),
        "angle_at_peak_deg": position_deg[k],
        "time_to_peak_s": time_s[k] - t0[windowed],
        "load_range_work_j": _works_j(load_range_torque_nm, np.take(position_deg, inside), windows),
        "peak_power_w": windows.reduce(np.maximum, load_range_torque_nm * np.radians(np.take(speed_dps, inside))),
        "load_range_start_s": lr_start,
        "load_range_end_s": lr_end,
        "acceleration_time_s": lr_start - t0[windowed],
        "deceleration_time_s": time_s[last][windowed] - lr_end,
    }
    for key, values in figures.items():
        out[key] = np.full(n, np.nan)
        out[key][windowed] = values
    return out
