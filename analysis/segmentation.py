"""Repetition segmentation: movements from velocity direction changes, or from the device's markers.

A *movement* (a repetition, in the project's vocabulary: one movement in one direction)
is a maximal run of samples whose velocity exceeds ``rest_speed_dps`` in one direction
and whose peak speed exceeds ``min_speed_dps``; runs are kept only when they cover at
least ``min_rom_deg`` and last ``min_duration_s``. Rests, pauses at the range limits
and velocity noise around zero therefore never make a movement, and a direction change
without a pause splits at the zero crossing.

The set's nominal velocity is recognised from the plateau: the most common speed of
each movement (a histogram mode, so the overshoot and the acceleration ramps do not
count), then movements of one direction are grouped when their plateaus lie within
``velocity_tolerance`` of each other.

A *gap* is where the recording is not continuous. With the device's sample index (the
recording's ``sequence``, a vendor file's sample counter or device clock), gaps are exactly
where the index does not step by 1: a jump of ``k + 1`` lost ``k`` samples (a disconnect, a
dropped packet), and an index that repeats or goes back (a frame received twice, a device
that restarted) is a discontinuity with 0 samples lost. The host's clock is never used then:
its jitter is not the device's. Only a recording without an index falls back to its time
steps: a step longer than ``gap_factor`` (1.5) sample periods is a gap. No movement crosses a
gap: the movements cut by one (moving at either of its edges) are partial and are dropped,
never joined across it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from analysis.segments import Segments
from analysis.stats import median

__all__ = [
    "Gap",
    "Movement",
    "cluster_velocities",
    "find_gaps",
    "find_movements",
    "movements_from_markers",
    "plateau_speed",
    "plateau_speeds",
    "segments_between",
]

#: A time step longer than this many sample periods (the median step) is a gap.
GAP_FACTOR = 1.5


@dataclass(frozen=True)
class Movement:
    """One movement in one direction: samples ``start`` (inclusive) to ``stop`` (exclusive).

    ``sign`` is +1 toward the pattern's first-named direction, -1 toward the other.
    """

    start: int
    stop: int
    sign: int


@dataclass(frozen=True)
class Gap:
    """A discontinuity between sample ``index - 1`` and sample ``index``.

    ``after_s`` is the time (s) of the last sample before it, ``duration_s`` the time step
    across it (s), ``samples_lost`` the samples missing (from the sample index when the
    recording has one, else estimated from the time step; 0 for a repeated or restarting
    index), ``reason`` what happened, in words.
    """

    index: int
    after_s: float
    duration_s: float
    samples_lost: int
    reason: str = ""


def find_gaps(
    time_s: np.ndarray,
    *,
    sample_index: np.ndarray | None = None,
    gap_factor: float = GAP_FACTOR,
    period_s: float | None = None,
) -> list[Gap]:
    """The gaps of a recording: where its sample index does not step by 1, or, without an index, long time steps.

    Parameters
    ----------
    time_s
        Sample times, s.
    sample_index
        The device's index of each sample (integers), or ``None``. When given, gaps are
        exactly where it does not step by 1 (``time_s`` only dates them): a step of
        ``k + 1`` is ``k`` lost samples; a step of 0 (a repeated sample) or below (the index
        went back: the device restarted) is a discontinuity with 0 samples lost.
    gap_factor
        Without an index: a time step over ``gap_factor`` times the median step is a gap.
    period_s
        The median step (s) when the caller already has it (:func:`analysis.conditioning.sample_period_of`).

    Example
    -------
    Host times jittering by 0.7 ms at 1 kHz make no gap; a jump of the index does:

    >>> t = np.arange(6) / 1000.0 + np.array([0, 7, -7, 7, -7, 0]) * 1e-4
    >>> [(g.index, g.samples_lost) for g in find_gaps(t, sample_index=np.array([0, 1, 2, 5, 6, 7]))]
    [(3, 2)]
    """
    t = np.asarray(time_s, dtype=np.float64)
    if sample_index is not None:
        return _index_gaps(t, np.asarray(sample_index))
    if len(t) < 3:
        return []
    dt = np.diff(t)
    period = median(dt) if period_s is None else period_s
    if not period > 0:
        return []
    return [
        Gap(i, float(t[i - 1]), float(dt[i - 1]), max(1, int(round(float(dt[i - 1]) / period)) - 1),
            f"time step of {float(dt[i - 1]):.3f} s, {float(dt[i - 1]) / period:.1f} sample periods (no sample index)")
        for i in (int(k) + 1 for k in np.flatnonzero(dt > gap_factor * period))
    ]


def _index_gaps(t: np.ndarray, index: np.ndarray) -> list[Gap]:
    if len(index) != len(t):
        raise ValueError(f"sample_index has {len(index)} samples, time_s has {len(t)}")
    if len(index) and not np.issubdtype(index.dtype, np.integer):
        if not np.all(np.isfinite(index)) or np.any(index != np.round(index)):
            raise ValueError("sample_index must hold whole numbers")
    steps = np.diff(index.astype(np.int64))
    gaps: list[Gap] = []
    for k in map(int, np.flatnonzero(steps != 1)):
        before, after, step = int(index[k]), int(index[k + 1]), int(steps[k])
        if step > 1:
            reason = f"sample index jumps from {before} to {after}"
        elif step == 0:
            reason = f"sample index {before} repeated"
        else:
            reason = f"sample index restarts at {after} after {before}"
        gaps.append(Gap(k + 1, float(t[k]), float(t[k + 1] - t[k]), max(step - 1, 0), reason))
    return gaps


def segments_between(n: int, gaps: Sequence[Gap]) -> list[tuple[int, int]]:
    """``(start, stop)`` sample bounds of the gap-free stretches of ``n`` samples."""
    edges = [0, *(g.index for g in gaps), n]
    return [(a, b) for a, b in zip(edges[:-1], edges[1:]) if b > a]


def _touch_gaps(starts: np.ndarray, stops: np.ndarray, gap_at: np.ndarray) -> np.ndarray:
    """Whether samples ``start..stop-1`` of each run reach a gap (moving at its edge: cut by it); ``gap_at`` sorted."""
    ordered = np.sort(gap_at)
    return np.searchsorted(ordered, stops, side="right") > np.searchsorted(ordered, starts, side="left")


def _runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Starts and stops (exclusive) of the runs of True in ``mask``."""
    edges = np.diff(mask.astype(np.int8), prepend=np.int8(0), append=np.int8(0))
    return np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)


def find_movements(
    time_s: np.ndarray,
    position_deg: np.ndarray,
    velocity_dps: np.ndarray,
    *,
    rest_speed_dps: float = 3.0,
    min_speed_dps: float = 10.0,
    min_rom_deg: float = 5.0,
    min_duration_s: float = 0.05,
    gaps: Sequence[Gap] | None = None,
) -> list[Movement]:
    """Movements found from the direction of a (filtered) velocity signal.

    A movement moving at the edge of a gap (see :func:`find_gaps`) is partial: it is dropped.

    Parameters
    ----------
    time_s, position_deg, velocity_dps
        Samples (s, deg, deg/s); velocity should be low-pass filtered.
    rest_speed_dps
        Speed (deg/s) under which the lever counts as still: movement boundaries.
    min_speed_dps
        Peak speed (deg/s) a movement must reach.
    min_rom_deg
        Smallest range of motion (deg) a movement must cover.
    min_duration_s
        Shortest duration (s) of a movement.
    gaps
        The recording's gaps; ``None`` finds them from ``time_s``. Filter the velocity
        between gaps (each gap-free stretch on its own), not across them.
    """
    if gaps is None:
        gaps = find_gaps(time_s)
    gap_at = np.array([g.index for g in gaps], dtype=np.intp)
    if rest_speed_dps <= 0 or min_speed_dps < rest_speed_dps:
        raise ValueError("need 0 < rest_speed_dps <= min_speed_dps")
    found: list[Movement] = []
    for sign in (1, -1):
        signed = sign * velocity_dps
        starts, stops = _runs(signed > rest_speed_dps)
        if len(starts) == 0:
            continue
        peak = np.maximum.reduceat(signed, starts)
        last = stops - 1
        rom = np.abs(position_deg[last] - position_deg[starts])
        duration = time_s[last] - time_s[starts]
        keep = (peak > min_speed_dps) & (rom >= min_rom_deg) & (duration >= min_duration_s)
        keep &= ~_touch_gaps(starts, stops, gap_at)
        found.extend(Movement(a, b, sign) for a, b in zip(starts[keep].tolist(), stops[keep].tolist()))
    found.sort(key=lambda m: m.start)
    return found


def movements_from_markers(
    markers: Sequence[int], velocity_dps: np.ndarray, *, rest_speed_dps: float = 3.0, gaps: Sequence[Gap] = ()
) -> list[Movement]:
    """Movements between consecutive device markers (sample indices of direction reversals).

    Each interval becomes one movement in the direction of its net velocity, trimmed
    to the samples moving faster than ``rest_speed_dps`` (deg/s) in that direction.
    Samples before the first and after the last marker are not part of the test. An interval
    with a gap inside (see :func:`find_gaps`) is partial and dropped.
    """
    gap_at = np.array([g.index for g in gaps], dtype=np.intp)
    marks = sorted({int(m) for m in markers if 0 <= int(m) <= len(velocity_dps)})
    found: list[Movement] = []
    for a, b in zip(marks[:-1], marks[1:]):
        seg = velocity_dps[a:b]
        if len(seg) < 2 or np.any((gap_at > a) & (gap_at < b)):
            continue
        sign = 1 if float(np.sum(seg)) > 0 else -1
        moving = np.flatnonzero(sign * seg > rest_speed_dps)
        if len(moving) >= 2:
            found.append(Movement(a + int(moving[0]), a + int(moving[-1]) + 1, sign))
    return found


def plateau_speed(speed_dps: np.ndarray) -> float:
    """The plateau (most common) speed in deg/s of one movement's speed samples.

    A histogram of the samples above half the peak, 2 %-of-peak bins; the median of the
    samples within 4 % of the fullest bin. Overshoot and ramps are brief, so they lose.
    (One movement of :func:`plateau_speeds`.)
    """
    speed = np.asarray(speed_dps, dtype=np.float64)
    return float(plateau_speeds(speed, Segments.of([len(speed)]))[0])


def plateau_speeds(speed_dps: np.ndarray, segments: Segments) -> np.ndarray:
    """:func:`plateau_speed` of every movement, their speeds (deg/s) end to end (``segments``)."""
    n = len(segments)
    top = segments.reduce(np.maximum, speed_dps)
    half = 0.5 * top
    fast = np.flatnonzero(speed_dps >= segments.spread(half))
    owner = np.take(segments.owner, fast)
    values = np.take(speed_dps, fast)
    width = half / 25.0
    bins = np.minimum(((values - np.take(half, owner)) / np.take(width, owner)).astype(np.intp), 24)
    counts = np.bincount(owner * 25 + bins, minlength=25 * n).reshape(n, 25)
    centre = half + (np.argmax(counts, axis=1) + 0.5) * width
    centres = np.take(centre, owner)
    near = np.abs(values - centres) <= 0.04 * centres
    chosen, owners = values[near], owner[near]
    bounds = np.searchsorted(owners, np.arange(n + 1)).tolist()
    fast_count = np.bincount(owner, minlength=n).tolist()
    out: np.ndarray = centre.copy()
    for i in range(n):
        if fast_count[i] < 3:
            out[i] = top[i]
        elif bounds[i + 1] > bounds[i]:
            out[i] = median(chosen[bounds[i] : bounds[i + 1]])
    return out


def cluster_velocities(plateaus_dps: Sequence[float], *, velocity_tolerance: float = 0.15) -> list[int]:
    """Group label per plateau speed: sorted plateaus split where one exceeds the previous by more than the tolerance."""
    order = np.argsort(plateaus_dps)
    labels = [0] * len(plateaus_dps)
    label = 0
    prev: float | None = None
    for i in order:
        p = float(plateaus_dps[i])
        if prev is not None and p > prev * (1.0 + velocity_tolerance):
            label += 1
        labels[i] = label
        prev = p
    return labels
