"""Counting movements as they stream, to end a trial on a board that only samples.

A driving device ends a set itself (SET_COMPLETE). A board that only digitises the
dynamometer's outputs does not know the set, so the service counts movements from the
velocity channel: a movement starts when the speed rises above ``start_fraction`` of the
set velocity and ends when it falls below ``stop_fraction`` of it or reverses
(hysteresis, so noise around a threshold does not count twice), and counts only if it
lasted at least ``min_duration_s``. A set of ``repetitions`` per direction ends after
``2 * repetitions`` movements.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = ["MovementBoundary", "MovementCounter"]


class MovementBoundary(NamedTuple):
    """Where a movement started or ended: ``offset`` counts samples from the first fed; ``kind`` is
    ``"start"`` or ``"end"``; ``sign`` the direction (+1 toward increasing position); ``counted``
    (an end) whether it lasted long enough to count."""

    offset: int
    kind: str
    sign: int
    counted: bool = False


class MovementCounter:
    """Count completed movements in a stream of velocity samples.

    Parameters
    ----------
    velocity_dps
        Set velocity, deg/s (the slower direction's when they differ).
    sample_rate_hz
        Sample rate, Hz.
    start_fraction, stop_fraction
        Speed thresholds as fractions of ``velocity_dps`` (start above, stop below).
    min_duration_s
        Shortest movement counted, s.
    keep_boundaries
        Also list where each movement starts and ends (:attr:`boundaries`, drained by the caller).

    Example
    -------
    >>> c = MovementCounter(60.0, 100.0)
    >>> c.feed(np.r_[np.zeros(10), np.full(50, 60.0), np.zeros(10), np.full(50, -60.0), np.zeros(5)])
    2
    """

    def __init__(
        self,
        velocity_dps: float,
        sample_rate_hz: float,
        *,
        start_fraction: float = 0.5,
        stop_fraction: float = 0.2,
        min_duration_s: float = 0.1,
        keep_boundaries: bool = False,
    ) -> None:
        if not velocity_dps > 0 or not sample_rate_hz > 0:
            raise ValueError(f"velocity and rate must be positive, got {velocity_dps} deg/s and {sample_rate_hz} Hz")
        if not 0 < stop_fraction < start_fraction:
            raise ValueError("need 0 < stop_fraction < start_fraction")
        self.start_dps = start_fraction * velocity_dps
        self.stop_dps = stop_fraction * velocity_dps
        self.min_samples = max(1, round(min_duration_s * sample_rate_hz))
        self.count = 0
        self.keep_boundaries = keep_boundaries
        self.boundaries: list[MovementBoundary] = []
        self._sign = 0
        self._length = 0
        self._fed = 0

    def feed(self, velocity_dps: np.ndarray) -> int:
        """Take the next velocity samples (deg/s); return the movements completed so far."""
        v = np.asarray(velocity_dps, dtype=np.float64)
        i, n = 0, len(v)
        try:
            while i < n:
                if self._sign == 0:
                    moving = np.flatnonzero(np.abs(v[i:]) > self.start_dps)
                    if len(moving) == 0:
                        return self.count
                    i += int(moving[0])
                    self._sign, self._length = (1 if v[i] > 0 else -1), 0
                    if self.keep_boundaries:
                        self.boundaries.append(MovementBoundary(self._fed + i, "start", self._sign))
                ended = np.flatnonzero(self._sign * v[i:] < self.stop_dps)
                if len(ended) == 0:
                    self._length += n - i
                    return self.count
                self._length += int(ended[0])
                counted = self._length >= self.min_samples
                if counted:
                    self.count += 1
                i += int(ended[0])
                if self.keep_boundaries:
                    self.boundaries.append(MovementBoundary(self._fed + i, "end", self._sign, counted))
                self._sign = 0
            return self.count
        finally:
            self._fed += n
