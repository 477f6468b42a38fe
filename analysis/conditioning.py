"""Signal conditioning: sample rate, gravity correction and zero-lag low-pass filtering."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np

from analysis.errors import AnalysisError
from analysis.segments import Segments
from analysis.stats import median

__all__ = [
    "DEFAULT_CUTOFF_HZ",
    "gravity_correct",
    "gravity_torque",
    "lowpass",
    "lowpass_segments",
    "sample_period_of",
    "sample_rate_of",
    "velocity_agreement",
]

#: Default low-pass cut-off (Hz) of the velocity, and the highest cut-off of the torque
#: (:mod:`analysis.cutoff`). Published cut-offs run from 6 to 20 Hz; this is the top of
#: that range, which keeps the velocity's ramps and overshoot for segmentation, and the
#: torque's activation and relaxation transients at the highest velocities (at 500 deg/s a
#: whole knee repetition lasts about 0.2 s).
DEFAULT_CUTOFF_HZ = 20.0


def sample_rate_of(time_s: np.ndarray) -> float:
    """The sample rate (Hz) from the median sample interval of ``time_s`` (s): 1 / :func:`sample_period_of`.

    Raises
    ------
    AnalysisError
        With fewer than two samples or when time does not increase.
    """
    return 1.0 / sample_period_of(time_s)


def sample_period_of(time_s: np.ndarray) -> float:
    """The median sample interval (s) of ``time_s`` (s).

    Raises
    ------
    AnalysisError
        With fewer than two samples or when time does not increase.
    """
    if len(time_s) < 2:
        raise AnalysisError(f"too few samples ({len(time_s)})")
    dt = median(np.diff(time_s))
    if not dt > 0:
        raise AnalysisError("time_s does not increase")
    return dt


def lowpass(signal: np.ndarray, sample_rate_hz: float, *, cutoff_hz: float = DEFAULT_CUTOFF_HZ, order: int = 2) -> np.ndarray:
    """Zero-lag low-pass Butterworth filter (forward-backward, so the effective order doubles).

    Each end is extended by point reflection about its sample (odd extension, which keeps
    the end's level and slope) over one period of the cut-off (``sample_rate_hz / cutoff_hz``
    samples, at most the signal's length). scipy's default extension is a few samples long
    whatever the cut-off, which leaves the filter's start-up transient in the signal: at
    6 Hz and 1 kHz, 5 % of a torque that rises steeply from the start of a segment.
    Segments (a load range, a movement) are filtered on their own, so a peak on their first
    or last samples, as after a turnaround, keeps its value.

    Parameters
    ----------
    signal
        Samples, any unit.
    sample_rate_hz
        Sample rate in Hz.
    cutoff_hz
        -3 dB frequency of one pass, in Hz (the two passes together are -6 dB there).
    order
        Order of the Butterworth design for one pass.

    Raises
    ------
    ValueError
        When the cut-off is not between 0 and the Nyquist frequency.
    AnalysisError
        When the signal is too short to be filtered.
    """
    nyquist = sample_rate_hz / 2.0
    if not 0 < cutoff_hz < nyquist:
        raise ValueError(f"cutoff_hz must be between 0 and the Nyquist frequency {nyquist:g} Hz, got {cutoff_hz:g}")
    if order < 1:
        raise ValueError(f"order must be at least 1, got {order}")
    sos = _design(order, float(cutoff_hz), float(sample_rate_hz))
    n = len(signal)
    if n <= 3 * (2 * len(sos) + 1):
        raise AnalysisError(f"too few samples ({n}) to filter")
    padlen = min(n - 1, int(np.ceil(sample_rate_hz / cutoff_hz)))
    from scipy.signal import sosfiltfilt  # imported where used: scipy.signal takes most of a second to import

    return np.asarray(sosfiltfilt(sos, signal, padlen=padlen))


def lowpass_segments(
    signal: np.ndarray,
    bounds: Sequence[tuple[int, int]],
    sample_rate_hz: float,
    *,
    cutoff_hz: float,
    order: int = 2,
) -> list[np.ndarray]:
    """Each segment ``signal[a:b]`` low-passed on its own, as :func:`lowpass` does, in a few vectorised passes.

    The segments (a movement, a load range) are padded like :func:`lowpass`, grouped by
    similar length and filtered row by row of one 2-D array per group, which spares the
    per-call overhead of thousands of small filterings. Segments too short to be filtered
    are returned unfiltered (copies). The results equal :func:`lowpass`'s to rounding.

    Parameters
    ----------
    signal
        The whole signal, any unit.
    bounds
        ``(start, stop)`` sample indices of each segment (stop exclusive).
    sample_rate_hz, cutoff_hz, order
        As for :func:`lowpass` (Hz, Hz, order of one pass).
    """
    nyquist = sample_rate_hz / 2.0
    if not 0 < cutoff_hz < nyquist:
        raise ValueError(f"cutoff_hz must be between 0 and the Nyquist frequency {nyquist:g} Hz, got {cutoff_hz:g}")
    sos = _design(order, float(cutoff_hz), float(sample_rate_hz))
    zi = _initial_state(order, float(cutoff_hz), float(sample_rate_hz))
    x = np.asarray(signal, dtype=np.float64)
    period = int(np.ceil(sample_rate_hz / cutoff_hz))
    out: list[np.ndarray] = [x[a:b].copy() for a, b in bounds]
    long_enough = [i for i, (a, b) in enumerate(bounds) if b - a > 3 * (2 * len(sos) + 1)]
    long_enough.sort(key=lambda i: bounds[i][1] - bounds[i][0])
    group: list[int] = []
    for i in long_enough + [-1]:
        n = bounds[i][1] - bounds[i][0] if i >= 0 else 0
        if group and (i < 0 or n > 1.25 * (bounds[group[0]][1] - bounds[group[0]][0]) or len(group) >= _GROUP_ROWS):
            for k, filtered in zip(group, _filtfilt_rows(sos, zi, x, [bounds[j] for j in group], period)):
                out[k] = filtered
            group = []
        if i >= 0:
            group.append(i)
    return out


_GROUP_ROWS = 512


def _filtfilt_rows(
    sos: np.ndarray, zi: np.ndarray, x: np.ndarray, bounds: list[tuple[int, int]], period: int
) -> list[np.ndarray]:
    """sosfiltfilt with odd extension of ``min(n - 1, period)`` samples, on several segments of ``x`` at once."""
    from scipy.signal import sosfilt

    starts = np.array([a for a, _ in bounds])
    lengths = np.array([b - a for a, b in bounds])
    pads = np.minimum(lengths - 1, period)
    extended = lengths + 2 * pads
    width = int(extended.max())
    rows = np.zeros((len(bounds), width))  # past a row's end: zeros (both passes are causal, so they never reach it)
    for r, (a, b) in enumerate(bounds):  # slice copies: cheaper than one fancy-indexed scatter of every sample
        p = int(pads[r])
        rows[r, p : p + b - a] = x[a:b]
    # each end point-reflected about its sample over ``pads`` samples: 2 x[first] - x[first + q], 2 x[last] - x[last - q]
    ends = Segments.of(pads)
    q = np.arange(int(ends.offsets[-1])) - ends.spread(ends.starts) + 1
    row_start = np.arange(len(bounds)) * width + pads
    first, last = ends.spread(starts), ends.spread(starts + lengths - 1)
    flat = rows.reshape(-1)
    flat[ends.spread(row_start) - q] = 2.0 * x[first] - x[first + q]
    flat[ends.spread(row_start + lengths - 1) + q] = 2.0 * x[last] - x[last - q]
    forward, _ = sosfilt(sos, rows, axis=-1, zi=zi[:, None, :] * rows[:, :1][None, :, :])
    reversed_rows = np.zeros_like(forward)
    for r, e in enumerate(extended.tolist()):
        reversed_rows[r, :e] = forward[r, e - 1 :: -1]
    backward, _ = sosfilt(sos, reversed_rows, axis=-1, zi=zi[:, None, :] * reversed_rows[:, :1][None, :, :])
    return [backward[r, e - p - n : e - p][::-1].copy() for r, (n, p, e) in enumerate(zip(lengths, pads, extended))]


@lru_cache(maxsize=64)
def _initial_state(order: int, cutoff_hz: float, sample_rate_hz: float) -> np.ndarray:
    """Steady-state initial conditions (per unit input) of :func:`_design`'s filter."""
    from scipy.signal import sosfilt_zi

    return np.asarray(sosfilt_zi(_design(order, cutoff_hz, sample_rate_hz)))


@lru_cache(maxsize=64)
def _design(order: int, cutoff_hz: float, sample_rate_hz: float) -> np.ndarray:
    """Butterworth second-order sections, designed once per (order, cut-off, rate): filtering runs per movement."""
    from scipy.signal import butter

    sos = np.asarray(butter(order, cutoff_hz, fs=sample_rate_hz, output="sos"))
    return sos


def gravity_torque(position_deg: np.ndarray, *, gravity_torque_nm: float, horizontal_angle_deg: float = 0.0) -> np.ndarray:
    """Torque (N.m) of the limb and lever's weight at each position.

    ``W cos(position - horizontal)``, with ``W`` (N.m) the gravitational torque measured with the
    segment horizontal, at position ``horizontal_angle_deg`` (deg). Positive ``W`` pulls toward +,
    as for the seated knee (DOMAIN.md section 3).
    """
    return gravity_torque_nm * np.cos(np.radians(np.asarray(position_deg) - horizontal_angle_deg))


def gravity_correct(
    torque_nm: np.ndarray, position_deg: np.ndarray, *, gravity_torque_nm: float, horizontal_angle_deg: float = 0.0
) -> np.ndarray:
    """Muscle torque (N.m): measured torque minus the limb's gravitational torque (see :func:`gravity_torque`)."""
    muscle_nm: np.ndarray = np.asarray(torque_nm) - gravity_torque(
        position_deg, gravity_torque_nm=gravity_torque_nm, horizontal_angle_deg=horizontal_angle_deg
    )
    return muscle_nm


def velocity_agreement(
    time_s: np.ndarray,
    position_deg: np.ndarray,
    velocity_dps: np.ndarray,
    *,
    window_s: float = 0.05,
    sample_rate_hz: float | None = None,
) -> float | None:
    """How well the velocity (deg/s) follows the position's change (deg): a correlation, -1..1.

    The position's change over ``window_s`` (s) against the velocity integrated over the same
    window, correlated over the whole recording: +1 when the velocity is d(position)/dt, -1
    when its sign is reversed. Over 50 ms the position's noise is small against its change.
    ``None`` when the lever moves less than 2 deg in the whole recording (an isometric test).
    ``sample_rate_hz`` is :func:`sample_rate_of` ``time_s`` when the caller already has it.
    """
    t = np.asarray(time_s, dtype=np.float64)
    if len(t) < 3 or float(np.ptp(position_deg)) < 2.0:
        return None
    w = max(1, int(round(window_s * (sample_rate_of(t) if sample_rate_hz is None else sample_rate_hz))))
    if len(t) <= w:
        return None
    v = np.asarray(velocity_dps, dtype=np.float64)
    step = np.add(v[1:], v[:-1])  # 0.5 (v[i] + v[i + 1]) dt[i], computed in place
    step *= 0.5
    step *= np.diff(t)
    integral = np.empty(len(t))
    integral[0] = 0.0
    np.cumsum(step, out=integral[1:])
    moved, integrated = position_deg[w:] - position_deg[:-w], integral[w:] - integral[:-w]
    norm = float(np.sqrt(np.dot(moved, moved) * np.dot(integrated, integrated)))
    return float(np.dot(moved, integrated)) / norm if norm > 0 else None
