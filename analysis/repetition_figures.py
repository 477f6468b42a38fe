"""Every repetition's figures at once: peak torque, its angle and time, work, power, torque at an angle and a time.

All torques here are *group torques*: the muscle group's torque made positive
(``group_sign * torque_nm``), so a flexor and an extensor peak are both positive. The
movements' samples lie end to end (:class:`analysis.segments.Segments`); each figure is a
few whole-array numpy operations over all of them, and equals what the same formula gives on
each movement's own arrays (:class:`analysis.repetition.RepetitionMetrics` lists them).
"""

from __future__ import annotations

import numpy as np

from analysis.segments import Segments, first_in, gather_index, last_in, range_reduce

__all__ = ["measure_repetitions"]


def _works_j(group_torque_nm: np.ndarray, position_deg: np.ndarray, segments: Segments) -> np.ndarray:
    """Each segment's torque integrated over the angle travelled (rad), trapezoidal.

    Steps are signed along the net movement, so position noise cancels instead of adding up.
    0 for a segment of one sample.
    """
    off, last = segments.starts, segments.stops - 1
    products = np.add(group_torque_nm[1:], group_torque_nm[:-1])
    products *= np.subtract(position_deg[1:], position_deg[:-1])
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

    Returns
    -------
    Each :class:`analysis.repetition.RepetitionMetrics` figure by its field name (``start_s``,
    ``peak_torque_nm``...), ``nan`` where the repetition has none.
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
