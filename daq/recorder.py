"""The one recording loop: a driver's stream, through stop conditions, into sinks.

:class:`Recorder` STARTs a configured driver and hands everything it streams to its
sinks (:class:`RecordingSink`) until a stop condition (:class:`StopConditions`): a duration,
the device's SET_COMPLETE, a number of movements counted from the velocity (a board that
only samples), a number of samples, a stop request, or the end of the stream. The loop
does, once for every sink:

- the time axis: ``time_s`` is the device clock in seconds from the first sample, so its
  steps are as even as the device's; a new clock segment (after a reconnect, a device clock
  that jumped or restarted) is placed by the sample index, whose gap is counted exactly: the
  device's clock measures time within a segment, its sample count across them;
- sample numbers: ``sequence`` counts from the recording's START, on whatever stream the
  driver had before, and events and clock segments are numbered the same way;
- loss accounting: gaps (counted from the sample index), overflows of the loop's own
  queue, reconnects, the frames lost at the very end; every one an
  :class:`~daq.events.AcquisitionEvent` with the same wording in every sink;
- flushes on a fixed grid of ``flush_interval_s`` (a slow flush does not push the next back);
- the end: STOP, the last samples drained, the clock segments, a :class:`RecordingSummary`.

``isokin record`` runs it with a :class:`~daq.csv_sink.CsvSink`; the service records a
trial with its database sink and a live-view sink (``api.acquisition``).
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace

import numpy as np

from daq.driver import Driver
from daq.errors import DaqError
from daq.events import STOP_FAILED, AcquisitionEvent, event_of
from daq.movements import MovementCounter
from daq.stats import AcquisitionStats
from daq.stream import (
    SET_ENDED,
    DeviceEvent,
    Gap,
    Overflow,
    Reconnected,
    SampleBlock,
    StreamEnded,
    StreamItem,
    Subscription,
)
from daq.timing import ClockSegment
from firmware_protocols import EventCode

__all__ = [
    "COMPLETE",
    "End",
    "FAILED",
    "INTERRUPTED",
    "MemorySink",
    "Progress",
    "RecordedBlock",
    "Recorder",
    "RecordingStart",
    "RecordingSink",
    "RecordingSummary",
    "StopConditions",
]

log = logging.getLogger(__name__)

COMPLETE, INTERRUPTED, FAILED = "complete", "interrupted", "failed"

#: Stream ends that interrupt a recording (the rest fail it).
_INTERRUPTING_ENDS = ("device lost", "closed")


@dataclass(frozen=True)
class End:
    """How a recording ended: ``state`` (``complete``, ``interrupted`` or ``failed``) and why."""

    state: str
    reason: str


@dataclass(frozen=True)
class StopConditions:
    """When the loop stops (the first condition met; a stop request and the stream's end always stop it).

    Attributes
    ----------
    duration_s
        Host seconds after START, or ``None``.
    set_complete
        Stop at the device's SET_COMPLETE event.
    movements
        Stop after this many movements, counted from the velocity (for a board that only
        samples; the driver's plan gives the set velocity), or ``None``.
    samples
        Stop once this many samples arrived, or ``None``.
    """

    duration_s: float | None = None
    set_complete: bool = True
    movements: int | None = None
    samples: int | None = None


@dataclass(frozen=True)
class RecordingStart:
    """What sinks learn when the device has started.

    Attributes
    ----------
    driver
        The driver (its ``url``, ``info``, ``calibration``, ``plan``, ``protocol``).
    started_at
        Wall-clock time (UTC) of START's answer; the first sample's time is in :class:`Progress`.
    """

    driver: Driver
    started_at: dt.datetime


@dataclass(frozen=True, eq=False)
class RecordedBlock:
    """Samples as the sinks get them: the driver's block, the recording's time axis and sample numbers.

    ``time_s`` (s, float64) is the recording time of each sample of ``block`` (see the module
    docstring); ``sequence`` (int64) its sample number in this recording: the driver's index,
    counted from the recording's START (a loss shows as a jump, as in the driver's index).
    """

    time_s: np.ndarray
    sequence: np.ndarray
    block: SampleBlock

    def __len__(self) -> int:
        return len(self.block)


@dataclass(frozen=True)
class Progress:
    """The recording's figures so far (handed to every flush and to the end).

    Attributes
    ----------
    samples, gaps, lost_samples
        Samples received, gaps (device losses and overflows) and the samples they lost.
    frames_lost_uncounted
        Frames lost at the very end whose samples cannot be counted (not in ``lost_samples``).
    crc_errors, malformed, bytes_discarded, reconnects, repeated_frames
        The driver's counters since START.
    duration_s
        ``time_s`` of the newest sample, s (``None`` before the first).
    effective_rate_hz
        Samples per second of recording time over the gap-free stretches: the device's rate
        as its own clock shows it (``None`` before two samples).
    first_sample_at
        Wall-clock time (UTC) of the first sample, ``None`` before it.
    segments
        The device/host clock fit of each segment so far.
    drift_ppm
        Fitted drift of the device clock against the host's, ppm (``None`` until fitted).
    """

    samples: int
    gaps: int
    lost_samples: int
    frames_lost_uncounted: int
    crc_errors: int
    malformed: int
    bytes_discarded: int
    reconnects: int
    repeated_frames: int
    duration_s: float | None
    effective_rate_hz: float | None
    first_sample_at: dt.datetime | None
    segments: tuple[ClockSegment, ...]
    drift_ppm: float | None


@dataclass(frozen=True)
class RecordingSummary:
    """What a recording holds and what went wrong on the way (:class:`Progress` at the end, and the end).

    ``path`` is where the CSV sink wrote (empty without one); ``stopped_by`` the end's reason
    (``"duration"``, ``"set complete"``, ``"10 movements counted"``, ``"stop requested"``,
    ``"interrupted"``, or why the stream ended: ``"device lost"``, ``"different device"``, ...),
    ``state`` the end's state.
    """

    path: str
    samples: int
    duration_s: float
    effective_rate_hz: float
    gaps: int
    lost_samples: int
    crc_errors: int
    bytes_discarded: int
    reconnects: int
    overflow_drops: int
    drift_ppm: float | None
    stopped_by: str
    state: str = COMPLETE
    frames_lost_uncounted: int = 0
    malformed: int = 0
    repeated_frames: int = 0

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


class RecordingSink(ABC):
    """Where a recording goes. Called from the loop's thread only, in this order:
    :meth:`begin`, then :meth:`add_samples` / :meth:`add_event` as they come with
    :meth:`flush` at least every flush interval, then :meth:`finish` once."""

    def begin(self, start: RecordingStart) -> None:  # noqa: B027 - optional hook
        """The device started."""

    @abstractmethod
    def add_samples(self, samples: RecordedBlock) -> None:
        """Take consecutive samples (keep them until :meth:`flush`)."""

    @abstractmethod
    def add_event(self, event: AcquisitionEvent) -> None:
        """Take an event, at its place among the samples."""

    def flush(self, progress: Progress) -> End | None:
        """Make what was taken durable; an :class:`End` if the recording cannot go on (e.g. its trial vanished)."""
        return None

    def finish(self, end: End, progress: Progress) -> None:  # noqa: B027 - optional hook
        """The recording is over: write the last of it (the clock segments are in ``progress``)."""


class MemorySink(RecordingSink):
    """Keeps what the loop hands it, in memory: each block (with its device clock and mapped host
    times) and each event, in order (a limb weighing, tests, benchmarks)."""

    def __init__(self) -> None:
        self.blocks: list[RecordedBlock] = []
        self.events: list[AcquisitionEvent] = []

    def add_samples(self, samples: RecordedBlock) -> None:
        self.blocks.append(samples)

    def add_event(self, event: AcquisitionEvent) -> None:
        self.events.append(event)


class Recorder:
    """Record what ``driver`` streams into ``sinks``.

    Parameters
    ----------
    driver
        An opened, calibrated and configured driver (:meth:`daq.driver.Driver.configure`).
    sinks
        Where the recording goes, in order.
    flush_interval_s
        Longest time samples stay in the sinks before :meth:`RecordingSink.flush`, s.
    queue_items
        Capacity of the loop's subscription, in stream items (a slower loop drops and marks).
    """

    def __init__(
        self,
        driver: Driver,
        sinks: Sequence[RecordingSink],
        *,
        flush_interval_s: float = 0.5,
        queue_items: int = 100_000,
    ) -> None:
        if not flush_interval_s > 0:
            raise ValueError(f"flush_interval_s must be positive, got {flush_interval_s}")
        self.driver = driver
        self.sinks = tuple(sinks)
        self.flush_interval_s = flush_interval_s
        self._queue_items = queue_items
        self._subscription: Subscription | None = None
        self._stop_request: End | None = None
        self._before: AcquisitionStats | None = None
        self._started_at: dt.datetime | None = None
        self._first_sample_at: dt.datetime | None = None
        self._counter: MovementCounter | None = None
        self._conditions = StopConditions()
        self._started_mono = 0.0
        # time axis and numbering
        self._index0 = 0  # the driver's index of the recording's sample 0
        self._segment0 = 0  # the driver's number of the recording's first clock segment
        self._segment: int | None = None
        self._origin_device_us = 0
        self._origin_time_s = 0.0
        self._last_time_s: float | None = None
        self._last_index = -1  # the driver's index of the newest sample
        # accounting
        self._samples = 0
        self._gaps = 0
        self._lost = 0
        self._tail_frames = 0
        self._covered_s = 0.0  # recording time spanned by the closed gap-free stretches
        self._stretch_start_s: float | None = None
        self._stretches = 0

    # --- control ---------------------------------------------------------------------------

    def start(self, conditions: StopConditions = StopConditions()) -> None:
        """START the device (in the caller's thread, so a refusal reaches the caller) and tell the sinks.

        Raises
        ------
        DaqError
            The device refuses or does not answer; nothing was recorded and the sinks were not begun.
        ValueError
            No calibration, or counting movements without a plan's velocity.
        """
        driver = self.driver
        plan = driver.plan
        if conditions.movements:
            if plan is None or not plan.slower_velocity_dps > 0:
                raise ValueError("counting movements needs the set velocity: configure the driver with the set's plan")
            self._counter = MovementCounter(plan.slower_velocity_dps, driver.sample_rate_hz)
        self._conditions = conditions
        self._before = before = driver.stats()
        self._segment0 = max((seg.segment for seg in before.segments), default=-1) + 1
        self._subscription = driver.subscribe(max_items=self._queue_items)
        try:
            driver.start()
        except BaseException:
            driver.unsubscribe(self._subscription)
            raise
        self._index0 = driver.start_index
        self._started_mono = time.monotonic()
        self._started_at = dt.datetime.now(dt.UTC)
        start = RecordingStart(driver, self._started_at)
        for sink in self.sinks:
            sink.begin(start)

    def record(self, conditions: StopConditions = StopConditions(), stop: threading.Event | None = None) -> RecordingSummary:
        """:meth:`start`, then :meth:`run` in this thread: a whole recording."""
        self.start(conditions)
        return self.run(stop)

    def request_stop(self, end: End = End(COMPLETE, "stop requested")) -> None:
        """Ask the loop to stop and end as ``end`` (thread-safe; the first request wins)."""
        if self._stop_request is None:
            self._stop_request = end

    def run(self, stop: threading.Event | None = None) -> RecordingSummary:
        """Record until a stop condition, then STOP the device, drain it and finish the sinks.

        Call after :meth:`start`, in the thread that owns the recording. ``stop`` (optional)
        is an event another thread may set, as :meth:`request_stop`. Ctrl-C ends the recording
        as ``interrupted``; a bug ends it as ``failed``; the sinks are finished in every case.
        """
        subscription = self._subscription
        if subscription is None:
            raise RuntimeError("Recorder.run before Recorder.start")
        end: End | None = None
        interval = self.flush_interval_s
        next_flush = time.monotonic() + interval
        deadline = (
            self._started_mono + self._conditions.duration_s if self._conditions.duration_s is not None else math.inf
        )
        try:
            while end is None:
                now = time.monotonic()
                wait = max(0.0, min(next_flush, deadline) - now)
                item = subscription.get(timeout=wait)
                if item is not None:
                    end = self._take(item)
                if end is None and stop is not None and stop.is_set():
                    self.request_stop()
                end = end or self._stop_request
                now = time.monotonic()
                if end is None and now >= deadline:
                    end = End(COMPLETE, "duration")
                if now >= next_flush:
                    end = self._flush() or end
                    next_flush = max(next_flush + interval, now)  # a fixed grid: no drift
        except KeyboardInterrupt:
            end = End(INTERRUPTED, "interrupted")
        except Exception as err:  # a bug must not leave a recording open forever
            log.exception("recording from %s failed", self.driver.url)
            end = End(FAILED, f"internal error: {err!r}")
        return self._finish(end, subscription)

    # --- the loop's work ---------------------------------------------------------------------

    def _take(self, item: StreamItem) -> End | None:
        """Account for one stream item and hand it to the sinks; an :class:`End` when recording is over."""
        if isinstance(item, SampleBlock):
            return self._take_samples(item)
        if isinstance(item, Gap):
            if item.count_known:
                self._gaps += 1
                self._lost += item.missing
            else:
                self._tail_frames += item.frames_lost
            self._close_stretch()
        elif isinstance(item, Overflow):
            self._gaps += 1
            self._lost += item.samples
            self._close_stretch()
        event = event_of(item, self._last_time_s, self._index0)
        for sink in self.sinks:
            sink.add_event(event)
        if isinstance(item, DeviceEvent) and item.code == EventCode.SET_COMPLETE and self._conditions.set_complete:
            return End(COMPLETE, "set complete")
        if isinstance(item, StreamEnded):
            state = INTERRUPTED if item.reason in _INTERRUPTING_ENDS else FAILED
            return End(state, item.reason)
        if isinstance(item, Reconnected) and item.resumed == SET_ENDED:
            return End(
                INTERRUPTED,
                f"the link was down when the device's set ended: samples after sequence {self._last_index - self._index0} "
                "were lost",
            )
        return None

    def _take_samples(self, block: SampleBlock) -> End | None:
        time_s = self._time_axis(block)
        if self._first_sample_at is None:
            lead_s = float(time_s[-1] - time_s[0])
            self._first_sample_at = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=lead_s)
        n = len(block)
        self._samples += n
        if self._stretch_start_s is None:
            self._stretch_start_s = float(time_s[0])
            self._stretches += 1
        self._last_time_s = float(time_s[-1])
        self._last_index = int(block.index[-1])
        recorded = RecordedBlock(time_s, block.index - self._index0, block)
        for sink in self.sinks:
            sink.add_samples(recorded)
        conditions = self._conditions
        if self._counter is not None and conditions.movements and self._counter.feed(block.velocity_dps) >= conditions.movements:
            return End(COMPLETE, f"{conditions.movements} movements counted")
        if conditions.samples is not None and self._samples >= conditions.samples:
            return End(COMPLETE, f"{conditions.samples} samples recorded")
        return None

    def _time_axis(self, block: SampleBlock) -> np.ndarray:
        """Recording time (s) of a block's samples: the device clock within a clock segment, 0 at the first
        sample; a new segment starts where the sample index puts it (its gap is counted exactly, or from time
        when the index restarted), so a device clock that glitched, jumped or restarted moves nothing after it."""
        device_us = block.device_time_us
        if block.segment != self._segment:
            origin_s = 0.0
            if self._last_time_s is not None:
                origin_s = self._last_time_s + (int(block.index[0]) - self._last_index) / self.driver.sample_rate_hz
            self._segment, self._origin_device_us, self._origin_time_s = block.segment, int(device_us[0]), origin_s
            self._close_stretch()
        return self._origin_time_s + (device_us - self._origin_device_us) / 1e6

    def _close_stretch(self) -> None:
        """A gap or a new clock segment ends a gap-free stretch (for the effective rate)."""
        if self._stretch_start_s is not None and self._last_time_s is not None:
            self._covered_s += self._last_time_s - self._stretch_start_s
        self._stretch_start_s = None

    def progress(self) -> Progress:
        """The figures so far (thread-safe enough for display: plain reads of counters)."""
        stats = self.driver.stats()
        before = self._before or stats
        covered = self._covered_s
        if self._stretch_start_s is not None and self._last_time_s is not None:
            covered += self._last_time_s - self._stretch_start_s
        intervals = self._samples - self._stretches  # sample intervals inside the stretches
        rate = intervals / covered if covered > 0 and intervals > 0 else None
        return Progress(
            samples=self._samples,
            gaps=self._gaps,
            lost_samples=self._lost,
            frames_lost_uncounted=self._tail_frames,
            crc_errors=stats.crc_errors - before.crc_errors,
            malformed=stats.malformed - before.malformed,
            bytes_discarded=stats.bytes_discarded - before.bytes_discarded,
            reconnects=stats.reconnects - before.reconnects,
            repeated_frames=stats.frames_repeated - before.frames_repeated,
            duration_s=self._last_time_s,
            effective_rate_hz=rate,
            first_sample_at=self._first_sample_at,
            segments=tuple(
                replace(
                    seg,
                    segment=seg.segment - self._segment0,
                    first_index=seg.first_index - self._index0,
                    last_index=seg.last_index - self._index0,
                )
                for seg in stats.segments
                if seg.segment >= self._segment0
            ),
            drift_ppm=stats.drift_ppm,
        )

    def _flush(self) -> End | None:
        progress = self.progress()
        end: End | None = None
        for sink in self.sinks:
            end = sink.flush(progress) or end
        return end

    def _finish(self, end: End, subscription: Subscription) -> RecordingSummary:
        driver = self.driver
        try:
            if driver.streaming:
                driver.stop()
        except DaqError as err:
            log.warning("%s: STOP failed: %s", driver.url, err)
            failed = AcquisitionEvent(STOP_FAILED, None, self._last_time_s, 0, str(err))
            for sink in self.sinks:
                sink.add_event(failed)
            if end.state == COMPLETE:  # the data ends where the link did: not a whole set
                end = End(
                    INTERRUPTED,
                    f"{end.reason}, but STOP could not reach the device ({err}); it is sent when the device answers again",
                )
        while (item := subscription.get(timeout=0)) is not None:  # what arrived before STOP's answer
            if isinstance(item, (SampleBlock, Gap, Overflow)):
                self._take(item)
        driver.unsubscribe(subscription)
        dropped = subscription.dropped_samples
        progress = self.progress()
        for sink in self.sinks:
            try:
                sink.finish(end, progress)
            except Exception:  # one sink's failure must not keep the others from finishing
                log.exception("recording from %s: a sink failed to finish", driver.url)
        path = next((str(p) for s in self.sinks if (p := getattr(s, "path", None)) is not None), "")
        return RecordingSummary(
            path=path,
            samples=progress.samples,
            duration_s=progress.duration_s or 0.0,
            effective_rate_hz=progress.effective_rate_hz if progress.effective_rate_hz is not None else math.nan,
            gaps=progress.gaps,
            lost_samples=progress.lost_samples,
            crc_errors=progress.crc_errors,
            bytes_discarded=progress.bytes_discarded,
            reconnects=progress.reconnects,
            overflow_drops=dropped,
            drift_ppm=progress.drift_ppm,
            stopped_by=end.reason,
            state=end.state,
            frames_lost_uncounted=progress.frames_lost_uncounted,
            malformed=progress.malformed,
            repeated_frames=progress.repeated_frames,
        )
