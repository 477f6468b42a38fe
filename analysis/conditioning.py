"""Signal conditioning: sample rate, gravity correction and zero-lag low-pass filtering."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy.signal import butter, sosfiltfilt

from analysis.errors import AnalysisError

__all__ = ["DEFAULT_CUTOFF_HZ", "gravity_correct", "gravity_torque", "lowpass", "sample_rate_of"]

#: Default low-pass cut-off (Hz). Voluntary torque carries little above 10 Hz, even at
#: 500 deg/s where a repetition lasts about 0.2 s; published cut-offs run from 6 to 20 Hz.
#: We take the top of that range because Murray 1986 showed the best cut-off rises with
#: test velocity and that over-smoothing hides the inertial artifacts windowing must see,
#: while 20 Hz still removes most sensor and ADC noise at 100 Hz to 2 kHz sampling.
DEFAULT_CUTOFF_HZ = 20.0


def sample_rate_of(time_s: np.ndarray) -> float:
    """The sample rate (Hz) from the median sample interval of ``time_s`` (s).

    Raises
    ------
    AnalysisError
        With fewer than two samples or when time does not increase.
    """
    if len(time_s) < 2:
        raise AnalysisError(f"too few samples ({len(time_s)})")
    dt = float(np.median(np.diff(time_s)))
    if not dt > 0:
        raise AnalysisError("time_s does not increase")
    return 1.0 / dt


def lowpass(signal: np.ndarray, sample_rate_hz: float, *, cutoff_hz: float = DEFAULT_CUTOFF_HZ, order: int = 2) -> np.ndarray:
    """Zero-lag low-pass Butterworth filter (forward-backward, so the effective order doubles).

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
    padlen = 3 * (2 * len(sos) + 1)
    if len(signal) <= padlen:
        raise AnalysisError(f"too few samples ({len(signal)}) to filter")
    return np.asarray(sosfiltfilt(sos, signal))


@lru_cache(maxsize=64)
def _design(order: int, cutoff_hz: float, sample_rate_hz: float) -> np.ndarray:
    """Butterworth second-order sections, designed once per (order, cut-off, rate): filtering runs per movement."""
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
    return np.asarray(torque_nm) - gravity_torque(
        position_deg, gravity_torque_nm=gravity_torque_nm, horizontal_angle_deg=horizontal_angle_deg
    )
