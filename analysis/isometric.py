"""Isometric tests: contractions against a lever held still at one angle.

Recognition (:func:`is_isometric`): the test says so (mode ``isometric``, a vendor's isometric
export), or the lever never moves: its (filtered) speed stays under ``min_speed_dps`` and its
position within ``ISOMETRIC_MAX_ROM_DEG`` (5 deg) over the whole recording.

Contractions (:func:`find_contractions`), on the torque low-passed at the analysis's cut-off:

- **rest level** (the baseline): the torque's most common value, a histogram mode with bins
  of 4 noise SDs (at least 0.5 % of the torque's range): at rest the torque sits within the
  noise of one value (the limb's weight and the sensor's offset), while a contraction's
  plateau sags and varies. Each contraction's own baseline is the median of the rest samples
  in the second before it (the recording's rest level when there are none);
- a **contraction** is a run of torque more than ``detect`` away from the rest level (the
  larger of 10 noise SDs and 10 % of the largest excursion), longer than 0.2 s;
- **onset** (documented, for the rate of torque development), on the torque low-passed at
  ``rtd_cutoff_hz`` (100 Hz; the 20 Hz of the other figures smears a rise over ±10 ms and
  puts the crossing 7 ms early, 50 Hz still 2.5 ms): the torque crosses the threshold (the larger of 3 SDs of
  its noise and 1 % of the contraction's peak: 2.5 N.m for a 250 N.m knee extension), and
  onset is where that rise, extended back along its slope over the next 5 ms, leaves the
  baseline (never before the last sample at or under the baseline). So the threshold keeps
  noise from triggering onset while onset itself is where the torque started to rise, as an
  examiner marks it by eye. The contraction ends when the (20 Hz) torque falls back within
  the threshold (or the recording ends).

Figures per contraction (:class:`ContractionMetrics`), all on the torque *net of the
baseline* (so neither the limb's weight nor the sensor's offset needs a weighing, and
agonist/antagonist ratios are not inflated by gravity): peak torque (the filtered curve's
maximum, capped at the largest raw sample), its time from onset, the angle (median position),
the rate of torque development (RTD) over 0-50, 0-100 and 0-200 ms from onset
(``T(onset + w) / w`` on the 100 Hz torque, N.m/s), the mean torque over the best 1 s (or over
the whole contraction when shorter, with ``best_window_s`` saying so) and the impulse (the
integral of the net torque from onset to end, N.m.s).

Against the simulator's truth (contractions rising with a 40 ms activation time constant):
at 500 Hz and above RTD within 3 % wherever the noise left at 100 Hz is under 1 % of the
torque 50 ms after onset (every joint but the wrist's 10 N.m under 0.4 N.m of noise, off by
up to 8 %); peak, best 1 s mean and impulse within 1 % (the validation grid's table in
``analysis/README.md`` gives the worst cases).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from analysis.conditioning import lowpass
from analysis.cutoff import NOISE_BANDWIDTH
from analysis.repetition import _clean

__all__ = [
    "ISOMETRIC_MAX_ROM_DEG",
    "RTD_WINDOWS_S",
    "Contraction",
    "ContractionMetrics",
    "filtered_noise_sd",
    "filtered_torque",
    "find_contractions",
    "is_isometric",
    "measure_contraction",
]

#: A lever moving less than this (deg) over the whole recording is held still: an isometric test.
ISOMETRIC_MAX_ROM_DEG = 5.0
#: Windows (s) of the rate of torque development, from onset.
RTD_WINDOWS_S = (0.05, 0.1, 0.2)
_MIN_CONTRACTION_S = 0.2
_BEST_WINDOW_S = 1.0


@dataclass(frozen=True)
class Contraction:
    """One contraction: samples ``onset`` (inclusive) to ``stop`` (exclusive), its sign and baseline (N.m).

    ``onset_s`` is the refined onset time (s), between samples ``onset - 1`` and ``onset``.
    """

    onset: int
    stop: int
    sign: int
    baseline_nm: float
    onset_s: float
    ends_with_recording: bool = False


@dataclass(frozen=True)
class ContractionMetrics:
    """Figures of one isometric contraction (torques net of the baseline, the group's, positive).

    Attributes
    ----------
    index
        1-based number in its set.
    onset_s, end_s
        Onset (the documented threshold) and end of the contraction, s (recording time).
    baseline_torque_nm
        The torque at rest just before (N.m, signed as recorded): subtracted from every figure.
    peak_torque_nm, time_to_peak_s, angle_deg
        Peak net torque (N.m), its time from onset (s), the lever's angle (median position, deg).
    rtd_0_50_nm_per_s, rtd_0_100_nm_per_s, rtd_0_200_nm_per_s
        Rate of torque development from onset over 50, 100 and 200 ms (N.m/s); ``None`` when
        the contraction is shorter.
    mean_torque_best_1s_nm, best_window_s
        Largest mean net torque over ``best_window_s`` (1 s, or the whole contraction when shorter).
    impulse_nm_s
        Net torque integrated from onset to end (N.m.s).
    duration_s
        End minus onset, s.
    ends_with_recording
        True when the recording stops before the torque has come back to rest.
    """

    index: int
    onset_s: float
    end_s: float
    baseline_torque_nm: float
    peak_torque_nm: float
    time_to_peak_s: float
    angle_deg: float
    rtd_0_50_nm_per_s: float | None
    rtd_0_100_nm_per_s: float | None
    rtd_0_200_nm_per_s: float | None
    mean_torque_best_1s_nm: float
    best_window_s: float
    impulse_nm_s: float
    duration_s: float
    ends_with_recording: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {k: _clean(v) for k, v in self.__dict__.items()}


def is_isometric(position_deg: np.ndarray, speed_dps: np.ndarray, *, min_speed_dps: float) -> bool:
    """Whether the lever stayed still: filtered speed (deg/s) under ``min_speed_dps`` and position within 5 deg."""
    if len(position_deg) < 3:
        return False
    return float(np.ptp(position_deg)) < ISOMETRIC_MAX_ROM_DEG and float(np.max(np.abs(speed_dps))) < min_speed_dps


def _rest_level(torque_nm: np.ndarray, noise_nm: float) -> float:
    span = float(np.ptp(torque_nm))
    width = max(4.0 * noise_nm, 0.005 * span, 1e-9)
    bins = np.floor((torque_nm - float(np.min(torque_nm))) / width).astype(np.intp)
    counts = np.bincount(bins)
    k = int(np.argmax(counts))
    near = torque_nm[np.abs(bins - k) <= 1]
    return float(np.median(near))


def find_contractions(
    time_s: np.ndarray,
    torque_nm: np.ndarray,
    sample_rate_hz: float,
    *,
    noise_nm: float,
    onset_nm: np.ndarray | None = None,
    onset_noise_nm: float | None = None,
) -> list[Contraction]:
    """The contractions of an isometric torque signal, in time order (see the module docstring).

    ``torque_nm`` is low-passed as the figures are (N.m) and ``noise_nm`` the SD of the noise
    left in it; ``onset_nm`` is the torque onsets are found on (less smoothed; ``None``:
    ``torque_nm``) and ``onset_noise_nm`` its noise SD (:func:`filtered_noise_sd`).
    """
    n = len(torque_nm)
    if n < 3:
        return []
    sharp = torque_nm if onset_nm is None else onset_nm
    noise = max(noise_nm, 1e-6)
    sharp_noise = max(noise if onset_noise_nm is None else onset_noise_nm, 1e-6)
    rest = _rest_level(torque_nm, noise)
    excursion = torque_nm - rest
    largest = float(np.max(np.abs(excursion)))
    detect = max(10.0 * noise, 0.1 * largest)
    found: list[Contraction] = []
    for sign in (1, -1):
        above = sign * excursion > detect
        edges = np.diff(above.astype(np.int8), prepend=np.int8(0), append=np.int8(0))
        for a, b in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)):
            if (b - a) / sample_rate_hz < _MIN_CONTRACTION_S:
                continue
            before = slice(max(0, int(a) - int(sample_rate_hz)), int(a))
            quiet = torque_nm[before][np.abs(excursion[before]) <= 4.0 * noise]
            baseline = float(np.median(quiet)) if len(quiet) >= 3 else rest
            net = sign * (torque_nm - baseline)
            peak = float(np.max(net[a:b]))
            back = np.flatnonzero(net[b:] <= max(3.0 * noise, 0.01 * peak))
            stop = int(b) + int(back[0]) if len(back) else n
            threshold = max(3.0 * sharp_noise, 0.01 * peak)
            onset, onset_s = _onset(time_s, sign * (sharp - baseline), int(a), threshold, sample_rate_hz)
            found.append(Contraction(onset, stop, sign, baseline, onset_s, ends_with_recording=len(back) == 0))
    found.sort(key=lambda c: c.onset)
    merged: list[Contraction] = []
    for c in found:  # a contraction of one sign cannot overlap another's: keep the first
        if merged and c.onset < merged[-1].stop:
            continue
        merged.append(c)
    return merged


def _onset(time_s: np.ndarray, net_nm: np.ndarray, rising: int, threshold_nm: float, sample_rate_hz: float) -> tuple[int, float]:
    """``(first sample, time)`` of a rise's onset: the threshold crossing before sample ``rising``, extended back.

    The crossing time is interpolated between samples; the rise's slope over the next 5 ms
    carries it back to the baseline, but not before the last sample at or under it.
    """
    under = np.flatnonzero(net_nm[: rising + 1] <= threshold_nm)
    k = int(under[-1]) + 1 if len(under) else 0
    if k == 0 or k >= len(net_nm):
        return k, float(time_s[min(k, len(time_s) - 1)])
    t0, t1, y0, y1 = float(time_s[k - 1]), float(time_s[k]), float(net_nm[k - 1]), float(net_nm[k])
    crossing = t0 + (threshold_nm - y0) / (y1 - y0) * (t1 - t0) if y1 > y0 else t1
    d = min(max(1, int(round(0.005 * sample_rate_hz))), len(net_nm) - 1 - k)
    slope = (float(net_nm[k + d]) - y1) / (float(time_s[k + d]) - t1) if d > 0 else 0.0
    onset_s = crossing - threshold_nm / slope if slope > 0 else crossing
    rest = np.flatnonzero(net_nm[:k] <= 0.0)
    floor = float(time_s[int(rest[-1])]) if len(rest) else float(time_s[0])
    onset_s = max(onset_s, floor)
    first = int(np.searchsorted(time_s, onset_s, side="left"))
    return min(first, k), onset_s


def measure_contraction(
    contraction: Contraction,
    *,
    index: int,
    time_s: np.ndarray,
    filtered_nm: np.ndarray,
    raw_nm: np.ndarray,
    position_deg: np.ndarray,
    onset_nm: np.ndarray | None = None,
) -> ContractionMetrics:
    """Figures of one contraction (see :class:`ContractionMetrics`) from the filtered and raw torques (N.m).

    ``onset_nm`` is the torque the rate of torque development is read on (``None``: ``filtered_nm``).
    """
    a, b, g = contraction.onset, contraction.stop, contraction.sign
    t = time_s[a:b]
    net = g * (filtered_nm[a:b] - contraction.baseline_nm)
    raw = g * (raw_nm[a:b] - contraction.baseline_nm)
    sharp = g * ((filtered_nm if onset_nm is None else onset_nm) - contraction.baseline_nm)
    k = int(np.argmax(net))
    onset_s, end_s = contraction.onset_s, float(t[-1])
    rtd: list[float | None] = []
    for w in RTD_WINDOWS_S:
        rtd.append(float(np.interp(onset_s + w, time_s, sharp)) / w if onset_s + w <= end_s else None)
    fs = (len(t) - 1) / (end_s - float(t[0])) if end_s > float(t[0]) else 1.0
    width = int(round(_BEST_WINDOW_S * fs))
    if len(net) > width >= 1:
        best = float(np.max(np.convolve(net, np.ones(width) / width, mode="valid")))
        window = _BEST_WINDOW_S
    else:
        best, window = float(np.mean(net)), end_s - onset_s
    return ContractionMetrics(
        index=index,
        onset_s=onset_s,
        end_s=end_s,
        baseline_torque_nm=contraction.baseline_nm,
        peak_torque_nm=min(float(net[k]), float(np.max(raw))),
        time_to_peak_s=float(t[k]) - onset_s,
        angle_deg=float(np.median(position_deg[a:b])),
        rtd_0_50_nm_per_s=rtd[0],
        rtd_0_100_nm_per_s=rtd[1],
        rtd_0_200_nm_per_s=rtd[2],
        mean_torque_best_1s_nm=best,
        best_window_s=window,
        impulse_nm_s=float(np.sum(0.5 * (net[1:] + net[:-1]) * np.diff(t))),
        duration_s=end_s - onset_s,
        ends_with_recording=contraction.ends_with_recording,
    )


def filtered_noise_sd(raw_noise_nm: float, sample_rate_hz: float, cutoff_hz: float | None) -> float:
    """SD (N.m) of white noise of SD ``raw_noise_nm`` after the zero-lag low-pass at ``cutoff_hz`` (Hz; ``None``: raw)."""
    if cutoff_hz is None or cutoff_hz > sample_rate_hz / 5:
        return raw_noise_nm
    return raw_noise_nm * math.sqrt(min(1.0, NOISE_BANDWIDTH * cutoff_hz / (sample_rate_hz / 2)))


def filtered_torque(torque_nm: np.ndarray, sample_rate_hz: float, cutoff_hz: float | None, order: int) -> np.ndarray:
    """The torque low-passed at ``cutoff_hz`` (Hz), as the contractions are measured.

    As recorded when ``cutoff_hz`` is ``None`` or above a fifth of the sample rate (a filter
    that near Nyquist smooths nothing worth its ringing).
    """
    if cutoff_hz is None or len(torque_nm) <= 3 * (order + 1) or cutoff_hz > sample_rate_hz / 5:
        return np.asarray(torque_nm, dtype=np.float64)
    return lowpass(torque_nm, sample_rate_hz, cutoff_hz=cutoff_hz, order=order)


def angle_groups(angles_deg: Sequence[float], *, tolerance_deg: float = 5.0) -> list[int]:
    """Label per contraction angle: angles within ``tolerance_deg`` of the previous sorted one share a label."""
    order = np.argsort(angles_deg)
    labels = [0] * len(angles_deg)
    label, prev = 0, None
    for i in order:
        if prev is not None and angles_deg[i] - prev > tolerance_deg:
            label += 1
        labels[i] = label
        prev = angles_deg[i]
    return labels
