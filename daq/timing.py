"""Device time to host time, Lab Streaming Layer style.

The raw device timestamps are always kept; host time is a linear map
``host_s = offset_s + slope * device_s`` fitted by least squares per clock segment
from (device time of a frame's last sample, host arrival time) pairs. The fit
absorbs the transport's mean latency into the offset and the device crystal's
error into the slope.

A segment is a stretch over which the device clock is known to run continuously:
a new one starts at START, after a reconnect and when device time jumps backward.
A frame lost to corruption does not end a segment (the clock kept running).

A fitted slope further than :data:`MAX_CLOCK_ERROR` from 1 is no crystal's error: it
means the device clock does not keep real time at all (a simulator at a speed factor).
The segment then follows the device clock (``host_s = host_first + device elapsed``), so
durations, times to peak and powers stay in the device's own seconds, and the measured
rate is still reported. When the previous segment followed the device clock too and the
clock ran on (a reconnect), the new segment continues the previous one's map, so the gap
keeps its length in device seconds.

Published sample times approach the fit by slewing, never by stepping (like NTP's
clock discipline): each block starts where the previous block's timing predicts,
corrected toward the fit by at most half the interval since the previous sample. So
host times within a segment never go backward, sample spacing stays within a
factor of two of nominal, and the times converge to the least-squares line.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["ClockFit", "ClockSegment", "DRIFT_SPAN_S", "MAX_CLOCK_ERROR"]

#: Device-time span (s) a segment needs before its drift is reported.
DRIFT_SPAN_S = 2.0
#: Largest plausible clock rate error: a crystal is within 1e-4, an Arduino's ceramic
#: resonator within 5e-3. Beyond this the device clock is followed, not corrected.
MAX_CLOCK_ERROR = 0.01


@dataclass(frozen=True)
class ClockSegment:
    """The fit of one segment: ``host_s = offset_s + slope * device_time_us / 1e6``.

    Attributes
    ----------
    segment
        Segment number, from 0.
    first_index, last_index
        Sample indices the segment covers.
    points
        Frames (or chunks) the fit used.
    offset_s, slope
        The fitted line (seconds; host seconds per device second).
    residual_rms_s
        RMS of each point's distance from the fit before that point was added, once
        the slope is fitted: the transport's latency jitter, seconds (``nan`` before).
    drift_ppm
        How much faster the device clock runs than the host's, parts per million, as
        measured (``None`` until the fit spans :data:`DRIFT_SPAN_S`).
    follows_device_clock
        ``True`` when the measured rate was implausible (beyond :data:`MAX_CLOCK_ERROR`)
        and host times follow the device clock with slope 1.
    """

    segment: int
    first_index: int
    last_index: int
    points: int
    offset_s: float
    slope: float
    residual_rms_s: float
    drift_ppm: float | None
    follows_device_clock: bool = False


class ClockFit:
    """Running least-squares fit of host time against device time for one segment.

    Numerically stable (Welford-style co-moments about the first point), O(1) per point.

    Parameters
    ----------
    segment, first_index
        Segment number and the index of its first sample.
    prior_slope
        Slope used until the segment spans ``min_span_s`` of device time (e.g. the
        previous segment's), so a new segment's first frames map sensibly.
    min_span_s
        Device-time span, seconds, after which the slope is fitted.
    follow_from
        ``(device_s, host_s)`` of the previous segment's last sample when that segment
        followed the device clock and the clock ran on: while this one follows the
        device clock too, it continues that map instead of restarting from host time.
    """

    def __init__(
        self,
        segment: int,
        first_index: int,
        *,
        prior_slope: float = 1.0,
        min_span_s: float = 0.2,
        follow_from: tuple[float, float] | None = None,
    ) -> None:
        self.segment = segment
        self.first_index = first_index
        self.last_index = first_index
        self.prior_slope = prior_slope
        self.min_span_s = min_span_s
        self._n = 0
        self._d0 = 0.0
        self._h0 = 0.0
        self._mx = 0.0
        self._my = 0.0
        self._cxx = 0.0
        self._cxy = 0.0
        self._span_s = 0.0
        self._sq_resid = 0.0
        self._n_resid = 0
        self._slope = prior_slope
        self._measured_slope = prior_slope
        self._offset = 0.0  # y = offset + slope * x, with x and y from the map's origin
        self._follow_from = follow_from
        self._origin: tuple[float, float] | None = follow_from  # (device_s, host_s) of the map
        self._pub_device_us: int | None = None  # last published sample: device time, host time
        self._pub_host_s = 0.0

    @property
    def slope(self) -> float:
        return self._slope

    def add(self, device_time_us: int, host_time_s: float, last_index: int) -> None:
        """Add one (device time, host arrival time) pair; ``last_index`` is the newest sample's index."""
        if self._n == 0:
            self._d0 = device_time_us / 1e6
            self._h0 = host_time_s
        x = device_time_us / 1e6 - self._d0
        y = host_time_s - self._h0
        if self._n >= 2 and self._span_s >= self.min_span_s:  # once the slope is fitted
            self._sq_resid += (y - (self._offset + self._slope * x)) ** 2
            self._n_resid += 1
        self._n += 1
        dx = x - self._mx
        self._mx += dx / self._n
        self._my += (y - self._my) / self._n
        self._cxx += dx * (x - self._mx)
        self._cxy += dx * (y - self._my)
        self._span_s = max(self._span_s, abs(x))
        fitted = self._span_s >= self.min_span_s and self._cxx > 0.0 and self._cxy > 0.0
        if fitted:
            self._measured_slope = self._cxy / self._cxx
        if fitted and abs(self._measured_slope - 1.0) <= MAX_CLOCK_ERROR:
            self._slope = self._measured_slope
            self._offset = self._my - self._slope * self._mx
            self._origin = (self._d0, self._h0)
        else:  # not fitted yet, or no real-time clock: map on the device clock from a fixed point
            self._slope = 1.0 if fitted else self.prior_slope
            self._offset = 0.0
            self._origin = self._follow_from or (self._d0, self._h0)
        self.last_index = last_index

    def map_one(self, device_time_us: int) -> float:
        """Host time (s) of a device time (us) on the current fit line."""
        d0, h0 = self._map_origin()
        return h0 + self._offset + self._slope * (device_time_us / 1e6 - d0)

    def map_block(self, device_time_us: np.ndarray) -> np.ndarray:
        """Host times (s, float64) of a block of increasing device times (us) that follows the
        previously mapped one: slewed toward the fit, monotonic (see the module docstring)."""
        first = int(device_time_us[0])
        elapsed_s = (device_time_us - first) / 1e6
        start, slope = self.place_block(first, int(device_time_us[-1]), float(elapsed_s[-1]))
        host: np.ndarray = start + slope * elapsed_s
        return host

    def place_block(self, first_device_us: int, last_device_us: int, last_elapsed_s: float) -> tuple[float, float]:
        """Where the next block goes, without its arrays: ``(start_s, slope)``, its samples' host times being
        ``start_s + slope * elapsed_s`` (``elapsed_s``: device time from its first sample, s; the last one
        ``last_elapsed_s``). The same numbers as :meth:`map_block`, element for element."""
        target = self.map_one(first_device_us)
        if self._pub_device_us is None:
            start = target
        else:
            interval = self._slope * (first_device_us - self._pub_device_us) / 1e6
            predicted = self._pub_host_s + interval
            limit = 0.5 * interval
            start = predicted + min(max(target - predicted, -limit), limit)
        slope = self._slope
        self._pub_device_us = last_device_us
        self._pub_host_s = start + slope * last_elapsed_s
        return start, slope

    def _map_origin(self) -> tuple[float, float]:
        return self._origin if self._origin is not None else (self._d0, self._h0)

    def snapshot(self) -> ClockSegment:
        fitted = self._span_s >= max(self.min_span_s, DRIFT_SPAN_S)
        return ClockSegment(
            segment=self.segment,
            first_index=self.first_index,
            last_index=self.last_index,
            points=self._n,
            offset_s=self._map_origin()[1] + self._offset - self._slope * self._map_origin()[0],
            slope=self._slope,
            residual_rms_s=math.sqrt(self._sq_resid / self._n_resid) if self._n_resid else math.nan,
            drift_ppm=(1.0 / self._measured_slope - 1.0) * 1e6 if fitted else None,
            follows_device_clock=abs(self._measured_slope - 1.0) > MAX_CLOCK_ERROR,
        )
