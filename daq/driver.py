"""The device driver: one interface over the binary and the ASCII protocol.

Architecture (after pyserial's ``ReaderThread`` and python-can's ``BusABC``): a
:class:`Driver` owns the port and one reader thread, which reads bytes, feeds the
protocol's decoder and hands :class:`~daq.stream.SampleBlock` s and events, in
order, to every :class:`~daq.stream.Subscription`. Writes are locked. Protocol
subclasses (:class:`~daq.binary_driver.BinaryDriver`,
:class:`~daq.ascii_driver.AsciiDriver`) implement the template methods
``_handshake``, ``_feed``, ``_link_lost`` and ``_resume``.

Nothing is lost silently: every sample the device numbered but the host did not
receive is a :class:`~daq.stream.Gap` with its exact count; a slow subscriber's
drops are counted and marked (:class:`~daq.stream.Overflow`). When the link fails
(read error, hang-up, EOF), the reader thread reopens the same URL every
``RECONNECT_PERIOD_S`` until ``reconnect_timeout_s``, checks it is the same device,
and continues the same stream with the gap marked.

Example
-------
>>> from daq import load_profile, open_driver                     # doctest: +SKIP
>>> with open_driver("/dev/ttyACM0", calibration=load_profile("simulator")) as drv:
...     sub = drv.subscribe()
...     drv.start()
...     item = sub.get(timeout=1.0)
"""

from __future__ import annotations

import logging
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Self

import serial

from daq.calibration import CalibrationProfile
from daq.errors import DaqError, DeviceRefused, DeviceUnavailable
from daq.indexing import SampleIndexer
from daq.plan import SetPlan
from daq.stats import AcquisitionStats
from daq.stream import (
    Disconnected,
    Gap,
    Reconnected,
    SampleBlock,
    SampleColumns,
    SampleTimes,
    StreamEnded,
    StreamItem,
    Subscription,
)
from daq.timing import ClockFit, ClockSegment
from daq.transport import describe_error, open_port, read_available
from firmware_protocols import ErrorCode

__all__ = ["DeviceInfo", "Driver", "RECONNECT_PERIOD_S", "WrongDevice"]

log = logging.getLogger(__name__)

#: Time between attempts to reopen a lost device, seconds.
RECONNECT_PERIOD_S = 0.2


class WrongDevice(DaqError):
    """After a reconnect, another device (a different serial number) answered at the URL."""


@dataclass(frozen=True)
class DeviceInfo:
    """Who the device is. ASCII boards say nothing about themselves: their fields are empty."""

    protocol: str
    model: str
    serial_number: str
    firmware_version: str
    sample_rates_hz: tuple[int, ...]
    max_samples_per_frame: int
    drives_machine: bool
    marker_button: bool


class Driver(ABC):
    """A device at a URL: open, start, subscribe, stop, close.

    Parameters
    ----------
    url
        Device path or pyserial URL.
    calibration
        Counts to units for the three channels. May be ``None`` to open and identify the
        device first (e.g. to pick the profile from ``info.model``); set it before :meth:`start`.
    sample_rate_hz
        Sample rate to configure (binary) or the board's rate (ASCII), Hz.
    reconnect_timeout_s
        How long to keep trying to reopen a lost device, seconds (0: do not reconnect).
    command_timeout_s
        How long to wait for a command's answer, seconds.
    baudrate
        For real UARTs; meaningless for USB CDC, ptys and sockets.
    """

    protocol: ClassVar[str]

    def __init__(
        self,
        url: str,
        *,
        calibration: CalibrationProfile | None,
        sample_rate_hz: int = 1000,
        reconnect_timeout_s: float = 10.0,
        command_timeout_s: float = 1.0,
        baudrate: int = 921600,
    ) -> None:
        if sample_rate_hz <= 0:
            raise ValueError(f"sample_rate_hz must be positive, got {sample_rate_hz}")
        self.url = url
        self.calibration = calibration
        self.sample_rate_hz = int(sample_rate_hz)
        self.reconnect_timeout_s = reconnect_timeout_s
        self.command_timeout_s = command_timeout_s
        self.baudrate = baudrate
        self.info: DeviceInfo | None = None
        #: The plan of the last :meth:`configure` (``None`` before the first).
        self.plan: SetPlan | None = None
        self._port: serial.SerialBase | None = None
        self._thread: threading.Thread | None = None
        self._closing = threading.Event()
        self._closed = False
        self._write_lock = threading.Lock()
        self._subs_lock = threading.Lock()  # (un)subscribing; handing out reads the tuple without it
        self._subs: tuple[Subscription, ...] = ()
        self._indexer = SampleIndexer()
        self._clock: ClockFit | None = None
        self._segments_done: list[ClockSegment] = []
        self._next_segment = 0
        self._last_device_time_us: int | None = None
        self._last_host_time_s: float | None = None
        self._first_host_time_s: float | None = None
        self._samples = 0
        self._gaps: list[Gap] = []
        self._lost = 0
        self._overflow_drops = 0
        self._disconnects = 0
        self._reconnects = 0
        self._stats_lock = threading.Lock()
        self._streaming = False
        #: A STOP that could not reach the device (the link was down): sent as soon as it answers again.
        self._stop_owed = False
        self._start_index = 0
        self._held: list[StreamItem] | None = None

    # --- lifecycle ---------------------------------------------------------------------------

    def open(self) -> Self:
        """Open the port, start the reader thread and identify the device (binary: HELLO/INFO)."""
        if self._thread is not None:
            raise ValueError(f"driver for {self.url} is already open")
        self._port = open_port(self.url, baudrate=self.baudrate)
        self._thread = threading.Thread(target=self._run, name=f"isokin-reader {self.url}", daemon=True)
        self._thread.start()
        try:
            self.info = self._handshake()
        except BaseException:
            self.close()
            raise
        return self

    def close(self) -> None:
        """Stop streaming (best effort), end the reader thread, close the port. Idempotent."""
        if self._closed:
            return
        self._closed = True
        if self._streaming and self._port is not None and self._thread is not None and self._thread.is_alive():
            try:
                self.stop()
            except DaqError as err:
                log.info("stop on close of %s failed: %s", self.url, err)
        self._closing.set()
        port = self._port
        if port is not None and hasattr(port, "cancel_read"):
            try:
                port.cancel_read()
            except (serial.SerialException, OSError):
                pass
        if self._thread is not None:
            self._thread.join(timeout=5.0)
        self._close_port()
        self._emit(StreamEnded("closed"))

    def __enter__(self) -> Self:
        if self._thread is None:
            self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def start_index(self) -> int:
        """The index the first sample of the newest START got (indices continue across STARTs and reconnects)."""
        return self._start_index

    @property
    def streaming(self) -> bool:
        """Whether the device is streaming samples (after START, before STOP or SET_COMPLETE)."""
        return self._streaming

    # --- protocol commands -----------------------------------------------------------------

    def configure(self, plan: SetPlan) -> None:
        """Prepare the next acquisition: the sample rate, and the set when ``plan.drive``.

        A device that only samples (no ``drives_machine`` capability, every ASCII board)
        refuses a plan that asks it to drive; give it ``plan.sampling_only()`` and run the
        set from the dynamometer's own console.

        Raises
        ------
        DeviceRefused
            The device cannot drive the machine, or refused the plan (NAK: unsupported rate,
            a value out of range, or while streaming).
        DeviceTimeout
            No answer within ``command_timeout_s``.
        """
        if plan.drive and not (self.info is not None and self.info.drives_machine):
            what = f"{self.info.model} " if self.info is not None and self.info.model else ""
            raise DeviceRefused(
                f"{self.url}: the {what}{self.protocol} device only samples: it cannot drive {plan.describe_drive()}; "
                "run the set from the dynamometer's console and record it without driving",
                int(ErrorCode.NOT_SUPPORTED),
            )
        self._configure(plan)
        self.plan = plan
        self.sample_rate_hz = plan.sample_rate_hz

    @abstractmethod
    def _configure(self, plan: SetPlan) -> None:
        """The protocol's part of :meth:`configure` (the plan is one this device can run)."""

    def start(self) -> None:
        """Start streaming; indices continue from the previous stream without a gap.

        Raises
        ------
        ValueError
            When no calibration profile is set.
        """
        if self.calibration is None:
            raise ValueError(f"no calibration profile set for {self.url}: give one before starting")
        self._start()

    @abstractmethod
    def _start(self) -> None:
        """The protocol's START."""

    @abstractmethod
    def stop(self) -> None:
        """Stop streaming; every sample sent before the stop has been handed out when it returns."""

    @abstractmethod
    def _handshake(self) -> DeviceInfo:
        """Identify the device right after opening (called in the user's thread)."""

    @abstractmethod
    def _feed(self, chunk: bytes, arrival_s: float) -> None:
        """Decode bytes read at host time ``arrival_s`` and publish what they complete (reader thread)."""

    @abstractmethod
    def _link_lost(self) -> None:
        """Forget partial input after the link failed (reader thread)."""

    @abstractmethod
    def _resume(self) -> str:
        """After reopening: check the device, restore streaming; return how (reader thread).

        Raises :class:`WrongDevice` if another device answered.
        """

    # --- subscribers ----------------------------------------------------------------------

    def subscribe(self, *, max_items: int = 2000) -> Subscription:
        """A new bounded queue that receives every item from now on."""
        sub = Subscription(max_items=max_items)
        with self._subs_lock:
            self._subs = (*self._subs, sub)
        return sub

    def unsubscribe(self, subscription: Subscription) -> None:
        with self._subs_lock:
            self._subs = tuple(sub for sub in self._subs if sub is not subscription)

    def _emit(self, item: StreamItem) -> None:
        held = self._held
        if held is not None and not isinstance(item, StreamEnded):
            held.append(item)  # received while resuming: handed out after the Reconnected item
            return
        dropped = 0
        for sub in self._subs:  # a tuple, replaced (never changed) by subscribe and unsubscribe
            dropped += sub.put(item)
        if dropped:
            with self._stats_lock:
                self._overflow_drops += dropped

    # --- statistics ---------------------------------------------------------------------------

    def stats(self) -> AcquisitionStats:
        """A consistent snapshot of the counters."""
        with self._stats_lock:
            segments = list(self._segments_done)
            if self._clock is not None:
                segments.append(self._clock.snapshot())
            first, last = self._first_host_time_s, self._last_host_time_s
            rate = (self._samples - 1) / (last - first) if first is not None and last is not None and last > first else float("nan")
            drift = next((s.drift_ppm for s in reversed(segments) if s.drift_ppm is not None), None)
            return AcquisitionStats(
                samples=self._samples,
                gaps=tuple(self._gaps),
                lost_samples=self._lost,
                overflow_drops=self._overflow_drops,
                disconnects=self._disconnects,
                reconnects=self._reconnects,
                effective_rate_hz=rate,
                drift_ppm=drift,
                segments=tuple(segments),
                **self._decoder_stats(),
            )

    @abstractmethod
    def _decoder_stats(self) -> dict[str, Any]:
        """The protocol's share of :class:`AcquisitionStats`: frames, bytes, errors, loss detection."""

    def clock_segments(self) -> tuple[ClockSegment, ...]:
        """The clock fit of every segment so far."""
        return self.stats().segments

    # --- helpers for subclasses ----------------------------------------------------------------

    def _write(self, data: bytes) -> None:
        """Write bytes under the write lock (callers holding the lock use ``_write_locked``)."""
        with self._write_lock:
            self._write_locked(data)

    def _write_locked(self, data: bytes) -> None:
        port = self._port
        if port is None:
            raise DeviceUnavailable(f"{self.url} is disconnected")
        try:
            port.write(data)
        except (serial.SerialException, OSError) as err:
            raise DeviceUnavailable(f"cannot write to {self.url}: {describe_error(err)}") from err

    def _in_reader_thread(self) -> bool:
        return threading.current_thread() is self._thread

    def _pump(self, done: Callable[[], bool], timeout_s: float) -> None:
        """Read and dispatch until ``done()`` or the timeout (reader thread only, e.g. during a reconnect)."""
        deadline = time.monotonic() + timeout_s
        while not done() and time.monotonic() < deadline and not self._closing.is_set():
            self._read_once()

    def _break_clock(self) -> None:
        """End the current clock segment: the next samples start a new fit."""
        with self._stats_lock:
            if self._clock is not None:
                self._segments_done.append(self._clock.snapshot())
                self._clock = None

    def _publish(
        self, first_index: int, device_time_us: int, times: SampleTimes, columns: SampleColumns, row: int, arrival_s: float
    ) -> None:
        """Time and hand out one block of consecutive samples: its first sample's index and device time,
        the samples' device times from it, and its counts (row ``row`` of ``columns``), made into arrays
        by whoever reads them (:class:`~daq.stream.SampleBlock`)."""
        n = len(times.offsets_us)
        last_index = first_index + n - 1
        last_device_us = device_time_us + times.last_offset_us
        with self._stats_lock:
            if self._last_device_time_us is not None and device_time_us < self._last_device_time_us:
                if self._clock is not None:  # the device clock went backward: a new segment
                    self._segments_done.append(self._clock.snapshot())
                    self._clock = None
            clock = self._clock
            if clock is None:
                previous = self._segments_done[-1] if self._segments_done else None
                follow_from = None
                if (
                    previous is not None
                    and previous.follows_device_clock
                    and self._last_device_time_us is not None
                    and self._last_host_time_s is not None
                    and device_time_us >= self._last_device_time_us  # the device clock ran on
                ):
                    follow_from = (self._last_device_time_us / 1e6, self._last_host_time_s)
                prior = previous.slope if previous is not None else 1.0
                clock = self._clock = ClockFit(
                    self._next_segment, first_index, prior_slope=prior, follow_from=follow_from
                )
                self._next_segment += 1
            clock.add(last_device_us, arrival_s, last_index)
            start_s, slope = clock.place_block(device_time_us, last_device_us, times.last_elapsed_s)
            self._samples += n
            self._last_device_time_us = last_device_us
            if self._first_host_time_s is None:
                self._first_host_time_s = start_s + slope * 0.0  # the first sample: elapsed 0
            self._last_host_time_s = start_s + slope * times.last_elapsed_s
        cal = self.calibration
        assert cal is not None  # start() requires it
        self._emit(
            SampleBlock(
                first_index=first_index,
                columns=columns,
                row=row,
                device_time_us=device_time_us,
                times=times,
                host_start_s=start_s,
                host_slope=slope,
                calibration=cal,
                segment=clock.segment,
            )
        )

    def _publish_gap(
        self, after_index: int, missing: int, *, derived_from_time: bool, reason: str, frames_lost: int = 0
    ) -> None:
        """Publish a gap; ``frames_lost`` > 0 means the sample count is unknown (``missing`` is 0)."""
        gap = Gap(after_index, missing, derived_from_time, reason, time.monotonic(), frames_lost == 0, frames_lost)
        with self._stats_lock:
            self._gaps.append(gap)
            self._lost += missing
        self._emit(gap)

    def _missing_from_host_time(self, first_new_host_s: float) -> int:
        """Samples lost before a sample taken at host time ``first_new_host_s``, from the host clock."""
        last = self._last_host_time_s
        if last is None:
            return 0
        slope = self._segments_done[-1].slope if self._segments_done else 1.0
        return max(0, round((first_new_host_s - last) * self.sample_rate_hz / slope) - 1)

    # --- the reader thread -------------------------------------------------------------------

    def _read_once(self) -> None:
        port = self._port
        if port is None:
            raise DeviceUnavailable(f"{self.url} is disconnected")
        chunk = read_available(port)
        if chunk:
            self._feed(chunk, time.monotonic())

    def _run(self) -> None:
        reason = "closed"
        try:
            while not self._closing.is_set():
                try:
                    self._read_once()
                except (serial.SerialException, OSError, DeviceUnavailable) as err:
                    if self._closing.is_set():
                        break
                    reason = self._recover(describe_error(err))
                    if reason:
                        break
                    reason = "closed"
        except Exception:  # a bug must not end the stream silently
            log.exception("reader thread of %s failed", self.url)
            reason = "driver error"
        finally:
            self._streaming = False
            self._emit(StreamEnded(reason))

    def _recover(self, why: str) -> str:
        """Reconnect after a link failure; return ``""`` on success or why the stream ends."""
        now = time.monotonic()
        with self._stats_lock:
            self._disconnects += 1
        self._emit(Disconnected(self._indexer.last_index, why, now))
        log.warning("%s: link lost (%s); reconnecting", self.url, why)
        self._close_port()
        self._link_lost()
        self._break_clock()
        deadline = now + self.reconnect_timeout_s
        attempts = 0
        while time.monotonic() < deadline:
            if self._closing.wait(RECONNECT_PERIOD_S):
                return "closed"
            attempts += 1
            try:
                self._port = open_port(self.url, baudrate=self.baudrate)
            except DeviceUnavailable:
                continue
            self._held = []
            try:
                resumed = self._resume()
            except WrongDevice as err:
                log.error("%s", err)
                self._release_held()
                self._close_port()
                return "different device"
            except (DaqError, serial.SerialException, OSError) as err:
                log.info("%s: reconnect attempt %d failed: %s", self.url, attempts, err)
                self._release_held()
                self._close_port()
                self._link_lost()
                continue
            with self._stats_lock:
                self._reconnects += 1
            self._release_held(Reconnected(attempts, resumed, time.monotonic()))
            log.warning("%s: reconnected after %d attempts (%s)", self.url, attempts, resumed)
            return ""
        return "device lost"

    def _release_held(self, first: StreamItem | None = None) -> None:
        """Stop holding items back; hand out ``first`` and then what was held, in order."""
        held, self._held = self._held or [], None
        for item in ([first] if first is not None else []) + held:
            self._emit(item)

    def _close_port(self) -> None:
        with self._write_lock:
            port, self._port = self._port, None
        if port is not None:
            try:
                port.close()
            except (serial.SerialException, OSError):
                pass
