"""Record a driver's stream to the recording CSV (``daq.recording``), incrementally.

Rows are flushed to disk at least every ``flush_interval_s`` (0.5 s by default), so a
crash loses at most that much. Columns: ``time_s`` (device time mapped to host
seconds, 0 at the first sample), the three calibrated channels, then ``status``,
``sequence`` (the sample index: a loss shows as a jump) and ``device_time_us`` (the
raw device clock). Acquisition events become ``# ...`` note lines at their place::

    # gap: 12 samples lost after sequence 4711 (counted from the sample index; sequence jump)
    # disconnected after sequence 9000: read failed: [Errno 5] Input/output error
    # reconnected after 3 attempts (streaming)
    # event: SET_COMPLETE 5 at sequence 29999

and at the end one ``# clock: ...`` line per clock segment with its fit, so the
host-time mapping can be redone afterwards from ``device_time_us``.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from daq.driver import Driver
from daq.errors import DaqError
from daq.recording import RecordingWriter
from daq.stats import AcquisitionStats
from daq.stream import DeviceEvent, Disconnected, Gap, Overflow, Reconnected, SampleBlock, StreamEnded, StreamItem
from daq.timing import ClockSegment
from firmware_protocols import EventCode

__all__ = ["EXTRA_COLUMNS", "Recorder", "RecordingSummary"]

EXTRA_COLUMNS = ("status", "sequence", "device_time_us")


@dataclass(frozen=True)
class RecordingSummary:
    """What a recording holds and what went wrong on the way.

    Attributes
    ----------
    path
        The CSV written.
    samples
        Rows written.
    duration_s
        ``time_s`` of the last row (host seconds from the first sample).
    effective_rate_hz
        Rows per second of ``duration_s``.
    gaps, lost_samples
        Gaps during the recording and the samples they lost (exact unless derived from time).
    crc_errors, bytes_discarded, reconnects, overflow_drops
        The driver's counters over the recording.
    drift_ppm
        Fitted device clock drift against the host clock, ppm (``None`` if too short to fit).
    frames_lost_uncounted
        Frames lost at the very end (before STOP's ACK) whose samples cannot be counted:
        ``lost_samples`` does not include them; a gap note in the file says so.
    stopped_by
        ``"duration"``, ``"set complete"``, ``"stop requested"``, ``"interrupted"``, or why the stream ended
        (``"device lost"``, ``"different device"``, ...).
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
    frames_lost_uncounted: int = 0

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


class Recorder:
    """Write everything a driver streams to one CSV until a stop condition.

    Parameters
    ----------
    driver
        An opened (and, for a driving device, configured) driver.
    path
        The CSV file to create.
    metadata
        Recording metadata (joint, pattern, side, mode, velocity_dps, body_mass_kg, ...);
        the device's identity, calibration, rate and start time are added.
    flush_interval_s
        Longest time rows stay in memory, seconds.
    fsync
        Push each flush to the disk (``os.fsync``).

    Raises
    ------
    RecordingFormatError
        When the file cannot be created.
    """

    def __init__(
        self,
        driver: Driver,
        path: str | os.PathLike[str],
        metadata: Mapping[str, object],
        *,
        flush_interval_s: float = 0.5,
        fsync: bool = True,
    ) -> None:
        self.driver = driver
        self.flush_interval_s = flush_interval_s
        info = driver.info
        meta: dict[str, object] = dict(metadata)
        meta.setdefault("sample_rate_hz", driver.sample_rate_hz)
        meta.update(
            device=driver.url,
            device_model=(info.model if info else "") or None,
            device_serial=(info.serial_number if info else "") or None,
            firmware_version=(info.firmware_version if info else "") or None,
            protocol=driver.protocol,
            calibration=driver.calibration.name if driver.calibration else None,
            started_at=datetime.now(UTC).isoformat(timespec="milliseconds"),
        )
        self._writer = RecordingWriter(path, meta, extra_columns=EXTRA_COLUMNS, fsync=fsync)
        self._subscription = driver.subscribe(max_items=10_000)
        self._t0: float | None = None
        self._last_time_s = 0.0
        self._gaps = 0
        self._lost = 0
        self._tail_frames = 0

    @property
    def path(self) -> str:
        return str(self._writer.path)

    def run(
        self,
        *,
        duration_s: float | None = None,
        stop: threading.Event | None = None,
        stop_on_set_complete: bool = True,
    ) -> RecordingSummary:
        """START the device, write until a stop condition, STOP it, close the file.

        Stops after ``duration_s`` seconds of host time, when ``stop`` is set, at
        SET_COMPLETE (if ``stop_on_set_complete``), when the stream ends (device lost),
        or on Ctrl-C; the file is complete and closed in every case.
        """
        driver = self.driver
        before = driver.stats()
        stopped_by = "stop requested"
        try:
            driver.start()
            started = time.monotonic()
            last_flush = started
            while True:
                if stop is not None and stop.is_set():
                    break
                if duration_s is not None and time.monotonic() - started >= duration_s:
                    stopped_by = "duration"
                    break
                item = self._subscription.get(timeout=0.05)
                if item is not None:
                    end = self._write(item, stop_on_set_complete)
                    if end:
                        stopped_by = end
                        break
                if time.monotonic() - last_flush >= self.flush_interval_s:
                    self._writer.flush()
                    last_flush = time.monotonic()
        except KeyboardInterrupt:
            stopped_by = "interrupted"
        finally:
            self._finish()
        return self._summary(before, stopped_by)

    def _write(self, item: StreamItem, stop_on_set_complete: bool) -> str:
        """Write one item; return why recording ends, or ``""``."""
        w = self._writer
        if isinstance(item, SampleBlock):
            if self._t0 is None:
                self._t0 = float(item.host_time_s[0])
            time_s = item.host_time_s - self._t0
            self._last_time_s = float(time_s[-1])
            w.write_rows(
                time_s.tolist(),
                item.torque_nm.tolist(),
                item.position_deg.tolist(),
                item.velocity_dps.tolist(),
                status=item.status.tolist(),
                sequence=item.index.tolist(),
                device_time_us=item.device_time_us.tolist(),
            )
        elif isinstance(item, Gap):
            self._gaps += 1
            self._lost += item.missing
            if not item.count_known:
                self._tail_frames += item.frames_lost
                w.note(f"gap: samples lost after sequence {item.after_index}, count unknown ({item.reason})")
            else:
                how = "derived from time" if item.derived_from_time else "counted from the sample index"
                w.note(f"gap: {item.missing} samples lost after sequence {item.after_index} ({how}; {item.reason})")
        elif isinstance(item, DeviceEvent):
            w.note(f"event: {item.name} {item.value} at sequence {item.index}")
            if stop_on_set_complete and item.code == EventCode.SET_COMPLETE:
                return "set complete"
        elif isinstance(item, Disconnected):
            w.note(f"disconnected after sequence {item.after_index}: {item.reason}")
        elif isinstance(item, Reconnected):
            w.note(f"reconnected after {item.attempts} attempts ({item.resumed})")
        elif isinstance(item, Overflow):
            w.note(f"overflow: the recorder fell behind; {item.samples} samples from sequence {item.first_index} dropped")
        elif isinstance(item, StreamEnded):
            w.note(f"stream ended: {item.reason}")
            return item.reason
        return ""

    def _finish(self) -> None:
        driver = self.driver
        try:
            if driver.streaming:
                driver.stop()
        except DaqError as err:
            self._writer.note(f"stop failed: {err}")
        finally:
            while (item := self._subscription.get(timeout=0)) is not None:
                if self._write(item, False):
                    break
            driver.unsubscribe(self._subscription)
            for seg in driver.clock_segments():
                self._writer.note(_clock_note(seg))
            self._writer.close()

    def _summary(self, before: AcquisitionStats, stopped_by: str) -> RecordingSummary:
        after = self.driver.stats()
        rows = self._writer.rows_written
        duration = self._last_time_s
        return RecordingSummary(
            path=self.path,
            samples=rows,
            duration_s=duration,
            effective_rate_hz=(rows - 1) / duration if duration > 0 else float("nan"),
            gaps=self._gaps,
            lost_samples=self._lost,
            crc_errors=after.crc_errors - before.crc_errors,
            bytes_discarded=after.bytes_discarded - before.bytes_discarded,
            reconnects=after.reconnects - before.reconnects,
            overflow_drops=self._subscription.dropped_samples,
            drift_ppm=after.drift_ppm,
            stopped_by=stopped_by,
            frames_lost_uncounted=self._tail_frames,
        )


def _clock_note(seg: ClockSegment) -> str:
    drift = f"{seg.drift_ppm:+.1f} ppm" if seg.drift_ppm is not None else "drift not fitted"
    jitter = "n/a" if math.isnan(seg.residual_rms_s) else f"{seg.residual_rms_s * 1e6:.0f} us"
    return (
        f"clock: segment {seg.segment} sequence {seg.first_index}..{seg.last_index}: "
        f"host_s = {seg.offset_s:.6f} + {seg.slope:.9f} * device_us / 1e6 ({drift}, jitter {jitter}, {seg.points} points)"
    )
