"""Per-repetition figures: isokinetic load range, peak torque, work, power, timing.

All torques here are *group torques*: the muscle group's torque made positive
(``group_sign * torque_nm``), so a flexor and an extensor peak are both positive.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from analysis.cutoff import noise_sd
from analysis.settling import Settling, arrival_offset, servo_settling

__all__ = ["NEVER_REACHED", "RepetitionMetrics", "braking_end", "load_range", "load_ranges", "measure_repetition"]


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
    braking rule, made for one bump, is not used.
    """
    inside = np.abs(speed_dps - nominal_dps) <= tolerance * nominal_dps
    if not inside.any():
        return None
    edges = np.diff(inside.astype(np.int8), prepend=np.int8(0), append=np.int8(0))
    starts = np.flatnonzero(edges == 1)
    stops = np.flatnonzero(edges == -1)
    k = int(np.argmax(stops - starts))
    a, b = int(starts[k]), int(stops[k])
    if settled is not None:
        a = max(a, int(np.ceil(settled - 1e-9)))
        return (a, b) if a < b else None
    peak = _overshoot_peak(speed_dps[: (a + b) // 2 + 1], nominal_dps)
    if peak is not None and speed_dps[peak] > (1.0 + overshoot) * nominal_dps:
        end = braking_end(speed_dps[:b], nominal_dps, peak=peak, settle=settle, noise_dps=noise_sd(speed_dps[a:b]))
        if end is None or end >= b:
            return None
        a = max(a, end)
    return a, b


def load_ranges(
    speeds_dps: Sequence[np.ndarray],
    nominal_dps: Sequence[float],
    groups: Sequence[int],
    fs: float,
    *,
    tolerance: float = 0.10,
    overshoot: float = 0.02,
    settle: float = 0.002,
) -> tuple[list[tuple[int, int] | None], list[int]]:
    """The load range (:func:`load_range`) of each movement, with its set velocity's servo settling.

    ``groups`` labels the movements of one set velocity (both directions: one servo, one
    velocity); each group's settling (:func:`analysis.settling.servo_settling`) is found from
    all its movements together, and each movement's load range starts no earlier than its
    own arrival at the set velocity plus the settling time.

    Returns the load ranges and, for each, how many samples its start is uncertain by: 0 for
    a start found by the speed alone (known to a sample), else twice the settling time's
    jackknife SD (30 % of the settling time when fewer than 3 movements, or a left-out fit,
    leave it unknown: the spread of single-movement fits), at least one sample.
    """
    settling: dict[int, Settling | None] = {}
    for g in set(groups):
        members = [i for i, h in enumerate(groups) if h == g]
        settling[g] = servo_settling([speeds_dps[i] for i in members], [nominal_dps[i] for i in members], fs,
                                     tolerance=tolerance, overshoot=overshoot)
    windows: list[tuple[int, int] | None] = []
    uncertainties: list[int] = []
    for speed, nominal, g in zip(speeds_dps, nominal_dps, groups):
        s = settling[g]
        arrival = arrival_offset(speed, nominal) if s is not None else None
        settled = None if s is None or arrival is None else arrival + s.settle_s * fs
        windows.append(load_range(speed, nominal, tolerance=tolerance, overshoot=overshoot, settle=settle, settled=settled))
        if s is None or settled is None:
            uncertainties.append(0)
            continue
        spread_s = 2.0 * s.uncertainty_s if np.isfinite(s.uncertainty_s) else _SINGLE_FIT_SPREAD * s.settle_s
        uncertainties.append(max(1, int(np.ceil(spread_s * fs))))
    return windows, uncertainties


#: Spread of a settling time fitted without the jackknife (fewer than 3 movements), as a fraction of it: single
#: movements' fits on the validation grid's ringing servos were off by 20-40 %.
_SINGLE_FIT_SPREAD = 0.3


def _overshoot_peak(speed_dps: np.ndarray, nominal_dps: float) -> int | None:
    """Offset of the highest speed between first reaching ``nominal_dps`` and first coming back to it."""
    reach = np.flatnonzero(speed_dps >= nominal_dps)
    if len(reach) == 0:
        return None
    r = int(reach[0])
    back = np.flatnonzero(speed_dps[r:] <= nominal_dps)
    stop = r + int(back[0]) if len(back) else len(speed_dps)
    return r + int(np.argmax(speed_dps[r : stop + 1]))


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
    """
    excess = float(speed_dps[peak]) - nominal_dps
    half = nominal_dps + 0.5 * excess
    down = np.flatnonzero(speed_dps[peak:] <= half)
    calm = np.flatnonzero(speed_dps[peak:] <= (1.0 + settle) * nominal_dps)
    if len(down) == 0 or len(calm) == 0:
        return None
    below = np.flatnonzero(speed_dps[:peak] <= half)
    up = int(below[-1]) + 1 if len(below) else 0
    fall = peak + int(down[0])
    slope = 0.5 * excess / max(fall - up, 1)  # deg/s per sample, the mean from half up to the peak and back
    jitter = int(np.ceil(3.0 * noise_dps / slope))
    return max(peak + int(calm[0]), 2 * fall - up + 1 + jitter)


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


def _work_j(group_torque_nm: np.ndarray, position_deg: np.ndarray) -> float:
    """Torque integrated over the angle travelled (rad), trapezoidal.

    Steps are signed along the net movement, so position noise cancels instead of adding up.
    """
    if len(group_torque_nm) < 2:
        return 0.0
    direction = 1.0 if position_deg[-1] >= position_deg[0] else -1.0
    mean_torque = group_torque_nm[1:] + group_torque_nm[:-1]
    step_deg = position_deg[1:] - position_deg[:-1]
    return float(np.dot(mean_torque, step_deg)) * 0.5 * direction * np.pi / 180.0


def measure_repetition(
    time_s: np.ndarray,
    group_torque_nm: np.ndarray,
    position_deg: np.ndarray,
    speed_dps: np.ndarray,
    *,
    index: int,
    movement: str,
    velocity_dps: float,
    window: tuple[int, int] | None,
    torque_angle_deg: float | None,
    torque_time_s: float | None,
    load_range_torque_nm: np.ndarray | None = None,
    raw_group_torque_nm: np.ndarray | None = None,
    no_load_range_reason: str | None = None,
) -> RepetitionMetrics:
    """Figures of one movement's samples.

    Parameters
    ----------
    time_s, group_torque_nm, position_deg, speed_dps
        The movement's samples: s, the group's torque (N.m, positive when the group pulls),
        deg, and speed (deg/s, positive).
    index
        1-based number of the repetition in its set.
    movement
        Direction the lever moved toward (e.g. ``"flexion"``).
    velocity_dps
        The repetition's plateau velocity (deg/s).
    window
        Load range as sample offsets (see :func:`load_range`), or ``None``.
    torque_angle_deg, torque_time_s
        Where to read torque at a fixed angle (deg) and a fixed time from onset (s); ``None`` skips.
    load_range_torque_nm
        The group torque over the load range when it was filtered on its own (N.m);
        ``None`` uses ``group_torque_nm`` over the window.
    raw_group_torque_nm
        The movement's group torque before low-pass filtering (N.m), or ``None`` when
        ``group_torque_nm`` is unfiltered. The unwindowed peak, its angle and time come from
        it (they are for comparison with vendor software, which prints raw sample peaks), and
        the windowed peak, found on the filtered curve, is capped at the largest raw sample of
        the load range: a low-pass can overshoot the samples it smooths by a few hundredths of
        a N.m, and a windowed peak must never exceed the raw peak.
    """
    t0 = float(time_s[0])
    duration = float(time_s[-1]) - t0
    raw = group_torque_nm if raw_group_torque_nm is None else raw_group_torque_nm
    k_all = int(np.argmax(raw))
    work = _work_j(group_torque_nm, position_deg)

    at_angle = None
    if torque_angle_deg is not None:
        lo, hi = float(np.min(position_deg)), float(np.max(position_deg))
        if lo <= torque_angle_deg <= hi:
            order = np.argsort(position_deg, kind="stable")
            at_angle = float(np.interp(torque_angle_deg, position_deg[order], group_torque_nm[order]))
    at_time = None
    if torque_time_s is not None and 0 <= torque_time_s <= duration:
        at_time = float(np.interp(t0 + torque_time_s, time_s, group_torque_nm))

    peak = angle = ttp = lr_work = peak_power = lr_start = lr_end = accel = decel = None
    if window is not None:
        a, b = window
        lr_torque = group_torque_nm[a:b] if load_range_torque_nm is None else load_range_torque_nm
        j = int(np.argmax(lr_torque))
        k = a + j
        peak = min(float(lr_torque[j]), float(np.max(raw[a:b])))
        angle, ttp = float(position_deg[k]), float(time_s[k]) - t0
        lr_work = _work_j(lr_torque, position_deg[a:b])
        peak_power = float(np.max(lr_torque * np.radians(speed_dps[a:b])))
        lr_start, lr_end = float(time_s[a]), float(time_s[b - 1])
        accel, decel = lr_start - t0, float(time_s[-1]) - lr_end
    elif no_load_range_reason is None:
        no_load_range_reason = f"{NEVER_REACHED} {velocity_dps:.0f} deg/s"
    return RepetitionMetrics(
        index=index,
        movement=movement,
        start_s=t0,
        end_s=float(time_s[-1]),
        velocity_dps=float(velocity_dps),
        peak_torque_nm=peak,
        angle_at_peak_deg=angle,
        time_to_peak_s=ttp,
        peak_torque_unwindowed_nm=float(raw[k_all]),
        angle_at_peak_unwindowed_deg=float(position_deg[k_all]),
        time_to_peak_unwindowed_s=float(time_s[k_all]) - t0,
        torque_at_angle_nm=at_angle,
        torque_at_time_nm=at_time,
        work_j=work,
        load_range_work_j=lr_work,
        mean_power_w=work / duration if duration > 0 else 0.0,
        peak_power_w=peak_power,
        rom_deg=float(np.ptp(position_deg)),
        load_range_start_s=lr_start,
        load_range_end_s=lr_end,
        acceleration_time_s=accel,
        deceleration_time_s=decel,
        no_load_range_reason=no_load_range_reason if window is None else None,
    )
