"""Samples decimated for display: fixed bins of consecutive samples, mean with torque min and max.

A running trial feeds every sample block to a :class:`LiveBuffer`; live clients read the
bins they have not seen yet with a cursor. At 1 kHz and :data:`LIVE_RATE_HZ` = 50 a bin
holds 20 samples (20 ms of device time); the torque envelope (min, max) keeps short
peaks visible that a mean alone would flatten.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass
from itertools import islice

import numpy as np

__all__ = ["LIVE_RATE_HZ", "LiveBins", "LiveBuffer", "decimate", "samples_per_bin"]

#: Bins per second of device time sent to live clients.
LIVE_RATE_HZ = 50
#: Bins kept for late or slow clients (one minute at 50 Hz).
KEPT_BINS = 3000


@dataclass(frozen=True, eq=False)
class LiveBins:
    """Decimated samples, one value per bin (arrays of equal length).

    Attributes
    ----------
    time_s
        Time of each bin's first sample, s from the trial's first sample.
    torque_nm, torque_min_nm, torque_max_nm
        Mean, lowest and highest torque in the bin, N.m.
    position_deg, velocity_dps
        Mean position (deg) and velocity (deg/s) in the bin.
    """

    time_s: np.ndarray
    torque_nm: np.ndarray
    torque_min_nm: np.ndarray
    torque_max_nm: np.ndarray
    position_deg: np.ndarray
    velocity_dps: np.ndarray

    def __len__(self) -> int:
        return len(self.time_s)

    def to_lists(self) -> dict[str, list[float]]:
        """Columns as JSON-ready lists, rounded to display precision."""
        return {
            "time_s": np.round(self.time_s, 4).tolist(),
            "torque_nm": np.round(self.torque_nm, 3).tolist(),
            "torque_min_nm": np.round(self.torque_min_nm, 3).tolist(),
            "torque_max_nm": np.round(self.torque_max_nm, 3).tolist(),
            "position_deg": np.round(self.position_deg, 3).tolist(),
            "velocity_dps": np.round(self.velocity_dps, 3).tolist(),
        }


def samples_per_bin(sample_rate_hz: float, *, live_rate_hz: float = LIVE_RATE_HZ) -> int:
    """Samples per display bin at a sample rate (Hz): at least 1."""
    if not sample_rate_hz > 0 or not live_rate_hz > 0:
        raise ValueError(f"rates must be positive, got {sample_rate_hz} and {live_rate_hz} Hz")
    return max(1, round(sample_rate_hz / live_rate_hz))


def decimate(
    time_s: np.ndarray, torque_nm: np.ndarray, position_deg: np.ndarray, velocity_dps: np.ndarray, *, per_bin: int
) -> LiveBins:
    """Bin whole groups of ``per_bin`` consecutive samples (a trailing partial group is left out).

    Example
    -------
    >>> b = decimate(np.arange(4.0), np.array([1.0, 3, 5, 9]), np.zeros(4), np.zeros(4), per_bin=2)
    >>> b.torque_nm.tolist(), b.torque_max_nm.tolist(), b.time_s.tolist()
    ([2.0, 7.0], [3.0, 9.0], [0.0, 2.0])
    """
    if per_bin < 1:
        raise ValueError(f"per_bin must be at least 1, got {per_bin}")
    n = len(time_s) // per_bin * per_bin
    torque = np.asarray(torque_nm[:n], dtype=np.float64).reshape(-1, per_bin)
    return LiveBins(
        time_s=np.asarray(time_s[:n:per_bin], dtype=np.float64),
        torque_nm=torque.mean(axis=1),
        torque_min_nm=torque.min(axis=1, initial=np.inf),
        torque_max_nm=torque.max(axis=1, initial=-np.inf),
        position_deg=np.asarray(position_deg[:n], dtype=np.float64).reshape(-1, per_bin).mean(axis=1),
        velocity_dps=np.asarray(velocity_dps[:n], dtype=np.float64).reshape(-1, per_bin).mean(axis=1),
    )


class LiveBuffer:
    """The latest bins of a running trial, read by cursor (thread-safe).

    Parameters
    ----------
    per_bin
        Samples per bin (see :func:`samples_per_bin`).
    kept
        Bins kept; a client further behind skips to the oldest kept bin.
    """

    _FIELDS = ("time_s", "torque_nm", "torque_min_nm", "torque_max_nm", "position_deg", "velocity_dps")

    def __init__(self, per_bin: int, *, kept: int = KEPT_BINS) -> None:
        self.per_bin = per_bin
        self._lock = threading.Lock()
        self._bins: deque[tuple[float, ...]] = deque(maxlen=kept)
        self._total = 0
        self._pending: list[np.ndarray] = [np.empty(0)] * 4

    @property
    def total(self) -> int:
        """Bins produced so far (the cursor after the newest bin)."""
        return self._total

    def add(self, time_s: np.ndarray, torque_nm: np.ndarray, position_deg: np.ndarray, velocity_dps: np.ndarray) -> None:
        """Add consecutive samples (s, N.m, deg, deg/s); whole bins become readable."""
        columns = [np.concatenate((old, new)) for old, new in zip(self._pending, (time_s, torque_nm, position_deg, velocity_dps))]
        bins = decimate(*columns, per_bin=self.per_bin)
        used = len(bins) * self.per_bin
        self._pending = [c[used:] for c in columns]
        rows = zip(*(getattr(bins, name).tolist() for name in self._FIELDS))
        with self._lock:
            self._bins.extend(rows)
            self._total += len(bins)

    def since(self, cursor: int) -> tuple[LiveBins, int]:
        """Bins from ``cursor`` on (or from the oldest kept one), and the cursor to ask with next."""
        with self._lock:
            oldest = self._total - len(self._bins)
            start = max(cursor, oldest) - oldest
            rows = list(islice(self._bins, start, None))
            total = self._total
        columns = np.array(rows, dtype=np.float64).reshape(-1, len(self._FIELDS)).T
        return LiveBins(*columns), total
