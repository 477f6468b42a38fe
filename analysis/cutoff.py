"""The torque's low-pass cut-off: as high as the noise allows, never below what the load range needs.

A low-pass filter trades noise against resolution. Noise: white noise of SD ``sd`` sampled at
``rate`` leaves ``sd * sqrt(NOISE_BANDWIDTH * cutoff / (rate / 2))`` after the zero-lag
Butterworth filter (order 2 per pass: the two passes' noise bandwidth is 0.83 x the
cut-off), and a peak read as the maximum of a noisy plateau comes out high by one to two
such SDs. Resolution: the filter rounds sharp features (activation and relaxation
transients, the step where a vendor export zeroes the torque) over about half a period of
the cut-off and rings before them, by a few % of their size, at a distance that grows as
the cut-off falls.

So the torque of a set is filtered at the highest cut-off, up to ``max_cutoff_hz`` (20 Hz,
the top of the published 6-20 Hz range), whose leftover noise is at most
``noise_limit_percent`` of the set's peak torque; but never below ``cycles`` periods per
load range nor ``min_cutoff_hz``. The torque over a load range is one hump (it rises with
activation and the torque-angle curve and falls with them or with the relaxation at the
end), so three periods of the cut-off per load range keep its peak within about 0.6 %.
This lower bound is Murray 1986's observation (DOMAIN.md section 3) that the best cut-off
rises with test velocity: a load range lasts its range of motion over the velocity, so the
bound grows in proportion to velocity, and more for joints with a short range.

Strong signals (a knee, a hip) are therefore filtered at 20 Hz whatever the velocity; weak
ones (a wrist's 5-10 N.m under the simulator's 0.4 N.m of noise, where 20 Hz leaves
0.07 N.m, 1.5-3 % of the peak) at 6 Hz up to 180 deg/s and about 9 Hz at 300 deg/s.
"""

from __future__ import annotations

import math

import numpy as np

from analysis.stats import median

__all__ = [
    "DEFAULT_CUTOFF_CYCLES",
    "DEFAULT_MIN_CUTOFF_HZ",
    "DEFAULT_NOISE_LIMIT_PERCENT",
    "NOISE_BANDWIDTH",
    "noise_sd",
    "noise_sds",
    "torque_cutoff_hz",
]

#: Default least number of periods of the cut-off per load range.
DEFAULT_CUTOFF_CYCLES = 3.0

#: Default lowest cut-off (Hz): the bottom of the published 6-20 Hz range; below it the filter
#: rounds activation and relaxation transients, whose time constants (tens of ms) do not
#: scale with velocity.
DEFAULT_MIN_CUTOFF_HZ = 6.0

#: Default noise left after filtering, as % of the set's peak torque (its SD).
DEFAULT_NOISE_LIMIT_PERCENT = 0.25

#: Noise bandwidth of the forward-backward order-2 Butterworth filter, in units of its cut-off.
NOISE_BANDWIDTH = 3.0 * math.pi / (8.0 * math.sqrt(2.0))


def noise_sd(signal: np.ndarray) -> float:
    """SD of a signal's white noise (signal units), from its second differences.

    The median absolute second difference, scaled to an SD for Gaussian noise (the second
    difference of white noise has ``sqrt(6)`` times its SD). A smooth signal sampled fast
    adds next to nothing to second differences, and the median ignores steps and spikes.
    0.0 with fewer than 3 samples.
    """
    return float(noise_sds(signal, np.array([0]), np.array([len(signal)]))[0])


def noise_sds(signal: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """:func:`noise_sd` of each ``signal[lo[i]:hi[i]]``, the second differences taken once for all."""
    out = np.zeros(len(lo))
    x = np.asarray(signal, dtype=np.float64)
    if len(x) < 3:
        return out
    second = x[2:] - 2.0 * x[1:-1]
    second += x[:-2]
    np.abs(second, out=second)
    for i, (a, b) in enumerate(zip(np.asarray(lo).tolist(), np.asarray(hi).tolist())):
        if b - a >= 3:
            out[i] = median(second[a : b - 2]) * 1.4826 / math.sqrt(6.0)
    return out


def torque_cutoff_hz(
    load_range_s: float,
    *,
    peak_torque_nm: float,
    noise_sd_nm: float,
    sample_rate_hz: float,
    noise_limit_percent: float = DEFAULT_NOISE_LIMIT_PERCENT,
    cycles: float = DEFAULT_CUTOFF_CYCLES,
    min_cutoff_hz: float = DEFAULT_MIN_CUTOFF_HZ,
    max_cutoff_hz: float = 20.0,
) -> float:
    """Low-pass cut-off (Hz) for the torque of a set (see the module's docstring for the reasons).

    Parameters
    ----------
    load_range_s
        Duration of the set's load ranges, s (typically their median).
    peak_torque_nm
        The set's peak torque (N.m, magnitude).
    noise_sd_nm
        SD of the torque's noise, N.m (:func:`noise_sd`).
    sample_rate_hz
        Sample rate, Hz.
    noise_limit_percent
        Largest noise SD left after filtering, % of ``peak_torque_nm``.
    cycles
        The cut-off is at least ``cycles / load_range_s``.
    min_cutoff_hz, max_cutoff_hz
        Bounds of the cut-off, Hz.

    Example
    -------
    A wrist's 5 N.m at 300 deg/s over 105 deg of load range, then a knee's 150 N.m:

    >>> round(torque_cutoff_hz(0.35, peak_torque_nm=5.0, noise_sd_nm=0.4, sample_rate_hz=1000.0), 2)
    8.57
    >>> torque_cutoff_hz(0.35, peak_torque_nm=150.0, noise_sd_nm=0.4, sample_rate_hz=1000.0)
    20.0
    """
    if cycles <= 0 or min_cutoff_hz <= 0 or max_cutoff_hz < min_cutoff_hz or noise_limit_percent <= 0:
        raise ValueError("need cycles > 0, noise_limit_percent > 0 and 0 < min_cutoff_hz <= max_cutoff_hz")
    floor = max(min_cutoff_hz, cycles / load_range_s) if load_range_s > 0 else max_cutoff_hz
    if noise_sd_nm > 0:
        ratio = noise_limit_percent / 100.0 * abs(peak_torque_nm) / noise_sd_nm
        allowed = ratio * ratio * sample_rate_hz / (2.0 * NOISE_BANDWIDTH)
    else:
        allowed = math.inf
    return float(min(max_cutoff_hz, max(floor, allowed)))
