"""What a driver hands to its subscribers: sample blocks and events, in order.

A subscriber gets a :class:`Subscription`, a bounded FIFO of :data:`StreamItem`.
When a subscriber falls behind and its buffer is full, new items are not queued
but counted; the next time there is room an :class:`Overflow` item is queued at
that place, saying exactly which samples were dropped. Nothing is lost silently.

Items:

- :class:`SampleBlock`: consecutive samples (raw counts, calibrated values, times).
- :class:`DeviceEvent`: an EVENT message from the device (limit, marker, set complete).
- :class:`Gap`: samples the device sent that never arrived, with their exact count.
- :class:`Disconnected` / :class:`Reconnected`: the link went away / came back.
- :class:`Overflow`: this subscriber was too slow and lost the items it names.
- :class:`StreamEnded`: the last item; the driver closed or gave up on the device.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass
from typing import NamedTuple, Protocol

import numpy as np

__all__ = [
    "ArrayColumns",
    "SET_ENDED",
    "STOPPED_ON_RECONNECT",
    "DeviceEvent",
    "Disconnected",
    "Gap",
    "Overflow",
    "Reconnected",
    "SampleBlock",
    "SampleColumns",
    "SampleTimes",
    "StreamEnded",
    "StreamItem",
    "Subscription",
]


class SampleColumns(Protocol):
    """Where blocks' counts come from: the columns of one or more frames, made into arrays on first use."""

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """Counts, shape ``(frames, 3, n)`` (rows torque, position, velocity), and status bits, ``(frames, n)``."""
        ...


class ArrayColumns:
    """Columns already in arrays: counts ``(3, n)`` and status ``(n,)`` of one block (row 0)."""

    __slots__ = ("_arrays",)

    def __init__(self, counts: np.ndarray, status: np.ndarray) -> None:
        self._arrays = (counts[np.newaxis], status[np.newaxis])

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        return self._arrays


class SampleBlock:
    """Consecutive samples without a gap, all arrays of equal length (read-only).

    A driver's reader thread only checks, places and times a frame; the block's arrays are
    made from the frame as received on first use, in the thread that reads them, and kept
    (a consumer that never reads the raw counts never pays for them).

    Attributes
    ----------
    index
        Sample indices (int64), counted from the first START and continuing across
        reconnects, so a gap shows as a jump equal to :attr:`Gap.missing`.
    device_time_us
        Raw device clock of each sample, microseconds (int64).
    host_time_s
        Device time mapped to the host's monotonic clock, seconds (float64), by the
        linear fit of the block's clock segment.
    torque_counts, position_counts, velocity_counts
        Raw ADC counts (int32 from the binary protocol, int64 from ASCII lines).
    torque_nm, position_deg, velocity_dps
        Calibrated values (float64): N.m, deg, deg/s.
    status
        Per-sample status bits (uint8, see ``firmware_protocols.SampleStatus``).
    segment
        Index of the gap-free clock segment the block belongs to.

    Parameters
    ----------
    first_index
        Index of the first sample.
    columns, row
        The block's counts and status: row ``row`` of ``columns.arrays()``.
    device_time_us, times
        The first sample's device time (us) and the samples' offsets from it (:class:`SampleTimes`).
    host_start_s, host_slope
        Host time of the first sample (s) and host seconds per device second:
        ``host_time_s = host_start_s + host_slope * times.elapsed_s``.
    calibration
        Counts to units (``CalibrationProfile.apply``).
    segment
        The clock segment.
    """

    __slots__ = ("_cache", "_calibration", "_columns", "_device_us", "_first_index", "_host_slope", "_host_start_s",
                 "_row", "_times", "segment")

    def __init__(
        self,
        *,
        first_index: int,
        columns: SampleColumns,
        row: int,
        device_time_us: int,
        times: SampleTimes,
        host_start_s: float,
        host_slope: float,
        calibration: Calibration,
        segment: int,
    ) -> None:
        self._first_index = first_index
        self._columns = columns
        self._row = row
        self._device_us = device_time_us
        self._times = times
        self._host_start_s = host_start_s
        self._host_slope = host_slope
        self._calibration = calibration
        self.segment = segment
        self._cache: dict[str, np.ndarray] = {}

    def __len__(self) -> int:
        return len(self._times.offsets_us)

    def __repr__(self) -> str:
        return f"SampleBlock(index {self._first_index}..{self._first_index + len(self) - 1}, segment {self.segment})"

    def _get(self, name: str) -> np.ndarray:
        """An array, made once (two threads reading a new block may both make it: the same values)."""
        array = self._cache.get(name)
        if array is None:
            array = self._cache[name] = self._make(name)
        return array

    def _make(self, name: str) -> np.ndarray:
        made: np.ndarray
        if name == "index":
            return np.arange(self._first_index, self._first_index + len(self), dtype=np.int64)
        if name == "device_time_us":
            return self._times.offsets_us + self._device_us
        if name == "host_time_s":
            return self._host_start_s + self._host_slope * self._times.elapsed_s
        if name == "counts":
            made = self._columns.arrays()[0][self._row]
        elif name == "status":
            made = self._columns.arrays()[1][self._row]
        else:  # "values"
            made = self._calibration.apply(self._get("counts"))
        return made

    def _channel(self, name: str, channel: int) -> np.ndarray:
        row: np.ndarray = self._get(name)[channel]
        return row

    @property
    def index(self) -> np.ndarray:
        return self._get("index")

    @property
    def device_time_us(self) -> np.ndarray:
        return self._get("device_time_us")

    @property
    def host_time_s(self) -> np.ndarray:
        return self._get("host_time_s")

    @property
    def torque_counts(self) -> np.ndarray:
        return self._channel("counts", 0)

    @property
    def position_counts(self) -> np.ndarray:
        return self._channel("counts", 1)

    @property
    def velocity_counts(self) -> np.ndarray:
        return self._channel("counts", 2)

    @property
    def torque_nm(self) -> np.ndarray:
        return self._channel("values", 0)

    @property
    def position_deg(self) -> np.ndarray:
        return self._channel("values", 1)

    @property
    def velocity_dps(self) -> np.ndarray:
        return self._channel("values", 2)

    @property
    def status(self) -> np.ndarray:
        return self._get("status")


class Calibration(Protocol):
    def apply(self, counts: np.ndarray) -> np.ndarray:
        """Calibrated values of counts ``(..., 3, n)``."""
        ...


class SampleTimes(NamedTuple):
    """Device times of a block's samples from its first: the same for every frame of a size at a rate.

    ``offsets_us`` (int64) and ``elapsed_s`` (float64, ``offsets_us / 1e6``) per sample;
    ``last_offset_us`` and ``last_elapsed_s`` their last values as Python numbers.
    """

    offsets_us: np.ndarray
    elapsed_s: np.ndarray
    last_offset_us: int
    last_elapsed_s: float

    @classmethod
    def of(cls, offsets_us: np.ndarray) -> SampleTimes:
        """From the offsets (us) of a block's samples from its first sample (so ``offsets_us[0] == 0``)."""
        elapsed_s = offsets_us / 1e6
        return cls(offsets_us, elapsed_s, int(offsets_us[-1]), float(elapsed_s[-1]))


@dataclass(frozen=True)
class DeviceEvent:
    """An EVENT from the device. ``code`` is a ``firmware_protocols.EventCode`` value.

    ``index`` is the sample index it belongs to (same numbering as :attr:`SampleBlock.index`).
    """

    index: int
    device_time_us: int
    code: int
    name: str
    value: int


@dataclass(frozen=True)
class Gap:
    """Samples lost between two received ones.

    Attributes
    ----------
    after_index
        Index of the last good sample before the gap (-1 if none was received yet).
    missing
        Exact number of samples lost (the next received sample has index
        ``after_index + missing + 1``).
    derived_from_time
        ``False`` when counted from the device's sample index (exact); ``True`` when
        the index restarted (a device re-started after a reconnect, an ASCII board
        without counter) and the count comes from timestamps.
    reason
        ``"sequence jump"``, ``"disconnect"``, ``"index restart"``, ``"end of set"`` (samples
        lost before SET_COMPLETE, counted from its sample index), or, when the count is
        unknown, what is known (``"2 frames lost before STOP's ACK; sample count unknown"``).
    host_time_s
        Host monotonic time when the gap was detected, seconds.
    count_known
        ``False`` when samples were lost at the end of a stream with nothing after them to
        count from (frames lost before STOP's ACK): ``missing`` is then 0 and ``reason`` says
        how many frames were lost.
    frames_lost
        Frames known to be lost in the gap when the sample count is unknown, else 0.
    """

    after_index: int
    missing: int
    derived_from_time: bool
    reason: str
    host_time_s: float
    count_known: bool = True
    frames_lost: int = 0


@dataclass(frozen=True)
class Disconnected:
    """The link failed (read error, hang-up); the driver is trying to reconnect."""

    after_index: int
    reason: str
    host_time_s: float


#: ``Reconnected.resumed`` when the device was driving a set and is found idle: the set ended while the link was down.
SET_ENDED = "set ended"
#: ``Reconnected.resumed`` when a STOP asked for while the link was down was sent on the reconnect.
STOPPED_ON_RECONNECT = "stopped"


@dataclass(frozen=True)
class Reconnected:
    """The same device answered again; ``resumed`` is ``"streaming"`` (it kept streaming), ``"restarted"``
    (a board that only samples was STARTed again), ``"idle"`` (nothing was streaming) or ``"set ended"``
    (the device was driving a set and is idle: the set ended while the link was down; streaming is over)
    or ``"stopped"`` (a STOP asked for while the link was down was sent now: streaming is over)."""

    attempts: int
    resumed: str
    host_time_s: float


@dataclass(frozen=True)
class Overflow:
    """This subscriber's buffer was full: these items were dropped here, in this order.

    ``first_index`` is the index of the first dropped sample (-1 if only events were dropped).
    """

    first_index: int
    samples: int
    blocks: int
    events: int


@dataclass(frozen=True)
class StreamEnded:
    """No more items will come: ``reason`` is ``"closed"``, ``"device lost"`` or ``"different device"``."""

    reason: str


StreamItem = SampleBlock | DeviceEvent | Gap | Disconnected | Reconnected | Overflow | StreamEnded


class Subscription:
    """A bounded FIFO of stream items for one consumer.

    Parameters
    ----------
    max_items
        Capacity in items (blocks and events). Beyond it new items are dropped and
        counted, and an :class:`Overflow` item marks the place. ``StreamEnded`` is
        always delivered.

    Attributes
    ----------
    dropped_samples, dropped_blocks, dropped_events
        Running totals of what this subscriber lost to overflow.
    """

    def __init__(self, *, max_items: int = 2000) -> None:
        if max_items < 1:
            raise ValueError(f"max_items must be at least 1, got {max_items}")
        self.max_items = max_items
        self.dropped_samples = 0
        self.dropped_blocks = 0
        self.dropped_events = 0
        self._items: deque[StreamItem] = deque()
        self._cond = threading.Condition()
        self._pending_overflow: Overflow | None = None
        self._ended = False

    def put(self, item: StreamItem) -> int:
        """Queue an item (driver side); return the number of samples dropped (0 when queued)."""
        with self._cond:
            if self._ended:
                return 0
            if isinstance(item, StreamEnded):
                self._flush_overflow(force=True)
                self._items.append(item)
                self._ended = True
                self._cond.notify_all()
                return 0
            self._flush_overflow(force=False)  # an earlier overflow's marker goes first, if there is room
            if len(self._items) >= self.max_items:
                return self._drop(item)
            self._items.append(item)
            self._cond.notify()
            return 0

    def _drop(self, item: StreamItem) -> int:
        ov = self._pending_overflow or Overflow(-1, 0, 0, 0)
        if isinstance(item, SampleBlock):
            n = len(item)
            first = ov.first_index if ov.first_index >= 0 else int(item.index[0])
            ov = Overflow(first, ov.samples + n, ov.blocks + 1, ov.events)
            self.dropped_samples += n
            self.dropped_blocks += 1
        else:
            n = 0
            ov = Overflow(ov.first_index, ov.samples, ov.blocks, ov.events + 1)
            self.dropped_events += 1
        self._pending_overflow = ov
        return n

    def _flush_overflow(self, *, force: bool) -> None:
        if self._pending_overflow is not None and (force or len(self._items) < self.max_items):
            self._items.append(self._pending_overflow)
            self._pending_overflow = None

    def get(self, timeout: float | None = None) -> StreamItem | None:
        """Next item, waiting up to ``timeout`` seconds (forever if ``None``); ``None`` on timeout."""
        with self._cond:
            if not self._items and not self._cond.wait_for(lambda: bool(self._items), timeout):
                return None
            item = self._items.popleft()
            self._flush_overflow(force=False)
            return item
