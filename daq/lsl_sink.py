"""The recording as Lab Streaming Layer streams, for labs that record EMG and motion capture on one clock.

:class:`LslOutlets` publishes, per device, two LSL streams:

- **data**: type ``Dynamometer``, 3 float32 channels ``torque`` (N.m), ``position`` (deg),
  ``velocity`` (deg/s) with ``label``/``unit``/``type`` in the channel metadata as XDF readers
  expect, the device's nominal rate, and ``acquisition`` metadata (manufacturer, model, serial
  number, ``compensated_lag``). Name ``isokin <model> <serial>`` and source id
  ``isokin:<model>:<serial>`` (the device's identity, so a recorder that loses the stream
  finds it again; a board without a serial number is named by its URL).
- **markers**: type ``Markers``, one string channel, irregular rate: trial start and stop, set
  start and end, repetition (movement) starts and ends, device events, gaps, disconnections
  (the same wording as the recording CSV's notes, :func:`daq.events.event_note`).

Sample timestamps are the driver's device-clock mapping (``SampleBlock.host_time_s``: the
device clock fitted per gap-free segment to the host's monotonic clock, :mod:`daq.timing`),
moved onto LSL's clock by the offset between ``pylsl.local_clock()`` and ``time.monotonic()``
measured when the outlets open (on Linux both read CLOCK_MONOTONIC: the offset is a few
microseconds). So the serial link's jitter never enters the timestamps: their spacing is the
device's own. The transport's mean latency is inside the fit's offset and not subtracted:
``compensated_lag`` is 0.

:class:`LslSink` is the :class:`~daq.recorder.RecordingSink` that feeds them; ``pylsl`` is
imported only when outlets open (``pip install 'isokin[lsl]'``), and its absence is a
:class:`LslUnavailableError` saying how to install it.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from types import ModuleType
from typing import Any

import numpy as np

from daq.driver import Driver
from daq.errors import DaqError
from daq.events import AcquisitionEvent, event_note
from daq.movements import MovementCounter
from daq.plan import SetPlan
from daq.recorder import End, Progress, RecordedBlock, RecordingSink, RecordingStart

__all__ = ["CHANNELS", "INSTALL_HINT", "LslOutlets", "LslSink", "LslUnavailableError", "load_pylsl"]

#: (label, unit, type) of the data stream's channels, in order.
CHANNELS = (("torque", "N.m", "Torque"), ("position", "deg", "Position"), ("velocity", "deg/s", "Velocity"))

#: Blocks whose timestamps are kept to stamp events at their sample (a second or more at any rate).
_RECENT_BLOCKS = 256

INSTALL_HINT = (
    "publishing to Lab Streaming Layer needs pylsl: pip install 'isokin[lsl]'. Its wheels carry liblsl on "
    "x86_64 Linux, macOS and Windows; elsewhere install liblsl (a release of github.com/sccn/liblsl, "
    "'conda install -c conda-forge liblsl', or a build from source) and set PYLSL_LIB to the path of "
    "liblsl.so (.dylib, .dll)"
)


class LslUnavailableError(DaqError):
    """pylsl or its liblsl cannot be loaded; the message says how to install them."""


def load_pylsl() -> ModuleType:
    """Import pylsl (and so liblsl), or raise :class:`LslUnavailableError` with the install hint."""
    try:
        import pylsl
    except (ImportError, OSError, RuntimeError) as err:  # RuntimeError: pylsl found no liblsl
        raise LslUnavailableError(f"{INSTALL_HINT} ({type(err).__name__}: {err})") from err
    module: ModuleType = pylsl
    return module


def _clock_offset_s(local_clock: Any) -> float:
    """``pylsl.local_clock() - time.monotonic()``, s: the narrowest of a few bracketed reads."""
    best = (math.inf, 0.0)
    for _ in range(7):
        before = time.monotonic()
        lsl = float(local_clock())
        after = time.monotonic()
        best = min(best, (after - before, lsl - 0.5 * (before + after)))
    return best[1]


class LslOutlets:
    """The data and marker outlets of one device; they stay open across recordings of the same device.

    Thread-safe: the recording loop pushes, the owner may :meth:`close` from another thread.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pylsl: ModuleType | None = None
        self._identity: tuple[str, str, float] | None = None
        self.data: Any = None
        self.markers: Any = None
        self.source_id = ""
        self.name = ""
        #: ``pylsl.local_clock() - time.monotonic()`` measured when the outlets opened, s.
        self.clock_offset_s = 0.0
        self._last_timestamp: float | None = None
        self._recent: deque[tuple[int, int, np.ndarray]] = deque(maxlen=_RECENT_BLOCKS)  # first, last index, LSL times

    def open(self, driver: Driver) -> None:
        """Open the outlets for ``driver``'s device (kept when already open for it; reopened for another).

        Raises
        ------
        LslUnavailableError
            pylsl or liblsl is missing.
        """
        pylsl = self._pylsl or load_pylsl()
        info = driver.info
        model = (info.model if info else "") or "dynamometer"
        serial = (info.serial_number if info else "") or driver.url
        identity = (model, serial, float(driver.sample_rate_hz))
        with self._lock:
            if self._identity == identity and self.data is not None:
                return
            self._close_locked()
            self._pylsl = pylsl
            self.name = f"isokin {model} {serial}"
            self.source_id = f"isokin:{model}:{serial}"
            data_info = pylsl.StreamInfo(self.name, "Dynamometer", len(CHANNELS), float(driver.sample_rate_hz),
                                         pylsl.cf_float32, self.source_id)  # fmt: skip
            desc = data_info.desc()
            channels = desc.append_child("channels")
            for label, unit, kind in CHANNELS:
                channel = channels.append_child("channel")
                channel.append_child_value("label", label)
                channel.append_child_value("unit", unit)
                channel.append_child_value("type", kind)
            acquisition = desc.append_child("acquisition")
            acquisition.append_child_value("manufacturer", "isokin")
            acquisition.append_child_value("model", model)
            acquisition.append_child_value("serial_number", serial)
            acquisition.append_child_value("firmware_version", (info.firmware_version if info else "") or "")
            acquisition.append_child_value("compensated_lag", "0")
            clock = desc.append_child("isokin")
            clock.append_child_value("device_url", driver.url)
            clock.append_child_value("protocol", driver.protocol)
            clock.append_child_value("calibration", driver.calibration.name if driver.calibration else "")
            clock.append_child_value(
                "timestamps", "device clock mapped to the host's monotonic clock by a linear fit per gap-free segment")
            self.clock_offset_s = _clock_offset_s(pylsl.local_clock)
            clock.append_child_value("clock_offset_s", f"{self.clock_offset_s:.9f}")
            marker_info = pylsl.StreamInfo(f"{self.name} markers", "Markers", 1, pylsl.IRREGULAR_RATE, pylsl.cf_string,
                                           f"{self.source_id}:markers")  # fmt: skip
            marker_info.desc().append_child_value("dynamometer_source_id", self.source_id)
            self.data = pylsl.StreamOutlet(data_info, chunk_size=0, max_buffered=360)
            self.markers = pylsl.StreamOutlet(marker_info)
            self._identity = identity

    def wait_for_consumers(self, timeout_s: float) -> bool:
        """Wait up to ``timeout_s`` for an inlet (a recorder) on the data stream; whether one came."""
        data = self.data
        return bool(data is not None and data.wait_for_consumers(timeout_s))

    def push_samples(self, block: RecordedBlock) -> None:
        """One block of samples, stamped by the device clock mapping."""
        b = block.block
        timestamps = b.host_time_s + self.clock_offset_s
        chunk = np.column_stack((b.torque_nm, b.position_deg, b.velocity_dps)).astype(np.float32)
        with self._lock:
            if self.data is None:
                return
            self.data.push_chunk(chunk, timestamps.tolist())
            self._last_timestamp = float(timestamps[-1])
            self._recent.append((int(block.sequence[0]), int(block.sequence[-1]), timestamps))

    def timestamp_at(self, sequence: int | None) -> float | None:
        """The LSL timestamp of the recent sample with this index, else of the newest sample (``None`` before one)."""
        with self._lock:
            for first, last, timestamps in reversed(self._recent):
                if sequence is not None and first <= sequence <= last and last - first + 1 == len(timestamps):
                    return float(timestamps[sequence - first])
            return self._last_timestamp

    def timestamp_of(self, block: RecordedBlock, offset: int) -> float:
        """The LSL timestamp of sample ``offset`` of ``block``."""
        return float(block.block.host_time_s[offset]) + self.clock_offset_s

    def mark(self, text: str, timestamp: float | None = None) -> None:
        """Push one marker at ``timestamp`` (LSL clock), or at the newest sample's time, or now."""
        with self._lock:
            if self.markers is None or self._pylsl is None:
                return
            at = timestamp if timestamp is not None else self._last_timestamp
            self.markers.push_sample([text], at if at is not None else float(self._pylsl.local_clock()))

    def close(self) -> None:
        """Close both outlets (inlets see the streams end)."""
        with self._lock:
            self._close_locked()

    def _close_locked(self) -> None:
        self.data = self.markers = None  # pylsl destroys an outlet when its last reference goes
        self._identity = None
        self._last_timestamp = None
        self._recent.clear()


def _describe(plan: SetPlan) -> str:
    """``"knee flexion/extension con/con 60/60 deg/s, 5 repetitions, 0..90 deg (driven)"``."""
    where = " ".join(x for x in (plan.joint, plan.pattern) if x)
    return (f"{where + ' ' if where else ''}{plan.mode} {plan.velocity_plus_dps:g}/{plan.velocity_minus_dps:g} deg/s, "
            f"{plan.repetitions} repetitions, {plan.rom_min_deg:g}..{plan.rom_max_deg:g} deg"
            f" ({'driven by the device' if plan.drive else 'run from the console'})")


class LslSink(RecordingSink):
    """Publish a recording through :class:`LslOutlets`.

    Parameters
    ----------
    outlets
        The device's outlets (opened here for the recording's driver if they are not).
    label
        What the recording is, for the trial markers (e.g. ``"trial 12: left knee con/con 60 deg/s"``).
    own_outlets
        Close the outlets when the recording finishes (``isokin record``); the service keeps them
        open across trials.
    """

    def __init__(self, outlets: LslOutlets, *, label: str = "", own_outlets: bool = False) -> None:
        self.outlets = outlets
        self.label = label
        self.own_outlets = own_outlets
        self._counter: MovementCounter | None = None
        self._movements = 0
        self._blocks: list[tuple[int, RecordedBlock]] = []  # (offset of the block's first sample, block)
        self._fed = 0

    def begin(self, start: RecordingStart) -> None:
        driver = start.driver
        self.outlets.open(driver)
        plan = driver.plan
        velocity = plan.slower_velocity_dps if plan is not None else 0.0
        self._counter = MovementCounter(velocity, driver.sample_rate_hz, keep_boundaries=True) if velocity > 0 else None
        label = f" {self.label}" if self.label else ""
        self.outlets.mark(f"trial start{label}")
        self.outlets.mark("set start" + (f": {_describe(plan)}" if plan is not None and plan.mode else ""))

    def add_samples(self, samples: RecordedBlock) -> None:
        self.outlets.push_samples(samples)
        if self._counter is None:
            return
        self._blocks.append((self._fed, samples))
        self._counter.feed(samples.block.velocity_dps)
        self._fed += len(samples)
        for boundary in self._counter.boundaries:
            block_start, block = next((s, b) for s, b in reversed(self._blocks) if s <= boundary.offset)
            k = min(boundary.offset - block_start, len(block) - 1)
            where = f"toward {'+' if boundary.sign > 0 else '-'} at sequence {int(block.sequence[k])}"
            if boundary.kind == "start":
                text = f"repetition start {self._movements + 1} {where}"
            else:
                self._movements += boundary.counted
                text = f"repetition end {self._movements} {where}" if boundary.counted else f"movement too short, not counted, {where}"
            self.outlets.mark(text, self.outlets.timestamp_of(block, k))
        self._counter.boundaries.clear()
        self._blocks = self._blocks[-1:]

    def add_event(self, event: AcquisitionEvent) -> None:
        """A marker at the event's sample (a gap: the last sample before it), else at the newest sample."""
        text = event_note(event.kind, event.sequence, event.lost_samples, event.detail)
        self.outlets.mark(text, self.outlets.timestamp_at(event.sequence))

    def flush(self, progress: Progress) -> End | None:
        return None

    def finish(self, end: End, progress: Progress) -> None:
        label = f" {self.label}" if self.label else ""
        self.outlets.mark(f"set end ({end.reason})")
        self.outlets.mark(f"trial stop{label}: {end.state} ({end.reason}), {progress.samples} samples, "
                          f"{progress.lost_samples} lost")  # fmt: skip
        if self.own_outlets:
            self.outlets.close()
