"""The recording CSV as a sink of the recording loop: what ``isokin record`` writes.

Columns: ``time_s`` (the device clock from the first sample, s), the three calibrated
channels, then ``status``, ``sequence`` (the sample index: a loss shows as a jump) and
``device_time_us`` (the raw device clock). Events become ``# ...`` notes at their place
(:func:`daq.events.event_note`), and at the end one ``# clock: ...`` line per clock segment
(:func:`clock_note`) keeps the device/host mapping, so it can be redone afterwards.
Rows reach the disk at every flush of the loop (``os.fsync``), so a crash loses at most
one flush interval.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping

from daq.errors import RecordingFormatError
from daq.events import AcquisitionEvent, event_note
from daq.recorder import End, Progress, RecordedBlock, RecordingSink, RecordingStart
from daq.recording import RecordingWriter
from daq.timing import ClockSegment

__all__ = ["EXTRA_COLUMNS", "METADATA_ORDER", "CsvSink", "clock_note", "device_metadata", "ordered_metadata"]

#: The columns after the four of every recording: status bits, sample index, raw device clock.
EXTRA_COLUMNS = ("status", "sequence", "device_time_us")

#: The order of a recording's metadata lines: the test, then the device. ``isokin record`` and the
#: service's export both write them so, so the two files of one run differ only in values (the
#: service adds its own keys, trial and session ids and figures, after these).
METADATA_ORDER = (
    "joint",
    "pattern",
    "side",
    "involved_side",
    "mode",
    "group",
    "velocity_dps",
    "repetitions",
    "body_mass_kg",
    "gravity_torque_nm",
    "horizontal_angle_deg",
    "subject",
    "sample_rate_hz",
    "device",
    "device_model",
    "device_serial",
    "firmware_version",
    "protocol",
    "calibration",
    "started_at",
)


def ordered_metadata(values: Mapping[str, object]) -> dict[str, object]:
    """``values`` without ``None``s, the keys of :data:`METADATA_ORDER` first in that order, then the rest."""
    known = {key: values[key] for key in METADATA_ORDER if values.get(key) is not None}
    return known | {key: value for key, value in values.items() if key not in known and value is not None}


def device_metadata(start: RecordingStart) -> dict[str, object]:
    """The metadata a recording keeps about its device: URL, identity, protocol, calibration, rate, start."""
    driver = start.driver
    info = driver.info
    return {
        "sample_rate_hz": driver.sample_rate_hz,
        "device": driver.url,
        "device_model": (info.model if info else "") or None,
        "device_serial": (info.serial_number if info else "") or None,
        "firmware_version": (info.firmware_version if info else "") or None,
        "protocol": driver.protocol,
        "calibration": driver.calibration.name if driver.calibration else None,
        "started_at": start.started_at.isoformat(timespec="milliseconds"),
    }


def clock_note(seg: ClockSegment) -> str:
    """The ``clock: ...`` note of one clock segment's fit (host seconds from device microseconds)."""
    drift = f"{seg.drift_ppm:+.1f} ppm" if seg.drift_ppm is not None else "drift not fitted"
    jitter = "n/a" if math.isnan(seg.residual_rms_s) else f"{seg.residual_rms_s * 1e6:.0f} us"
    return (
        f"clock: segment {seg.segment} sequence {seg.first_index}..{seg.last_index}: "
        f"host_s = {seg.offset_s:.6f} + {seg.slope:.9f} * device_us / 1e6 ({drift}, jitter {jitter}, {seg.points} points)"
    )


class CsvSink(RecordingSink):
    """Write a recording to a CSV file.

    Parameters
    ----------
    path
        The file to create (at once, so a path that cannot be written fails before the device
        starts; its header is written at :meth:`begin`, when the device has started).
    metadata
        The test's metadata (joint, pattern, side, mode, velocity_dps, body_mass_kg, ...);
        the device's (:func:`device_metadata`) is added, without overriding what is given.
    fsync
        Push each flush to the disk.
    """

    def __init__(self, path: str | os.PathLike[str], metadata: Mapping[str, object], *, fsync: bool = True) -> None:
        self.path = os.fspath(path)
        self.metadata = dict(metadata)
        self.fsync = fsync
        self._writer: RecordingWriter | None = None
        try:  # fail before the device starts, not after
            with open(self.path, "w", encoding="utf-8"):
                pass
        except OSError as err:
            raise RecordingFormatError(f"cannot write {self.path}: {err.strerror}") from err

    @property
    def rows_written(self) -> int:
        return self._writer.rows_written if self._writer is not None else 0

    def begin(self, start: RecordingStart) -> None:
        meta = ordered_metadata({**device_metadata(start), **{k: v for k, v in self.metadata.items() if v is not None}})
        self._writer = RecordingWriter(self.path, meta, extra_columns=EXTRA_COLUMNS, fsync=self.fsync)

    def add_samples(self, samples: RecordedBlock) -> None:
        assert self._writer is not None
        b = samples.block
        self._writer.write_rows(
            samples.time_s,
            b.torque_nm,
            b.position_deg,
            b.velocity_dps,
            status=b.status,
            sequence=samples.sequence,
            device_time_us=b.device_time_us,
        )

    def add_event(self, event: AcquisitionEvent) -> None:
        assert self._writer is not None
        self._writer.note(event_note(event.kind, event.sequence, event.lost_samples, event.detail))

    def flush(self, progress: Progress) -> End | None:
        if self._writer is not None:
            self._writer.flush()
        return None

    def finish(self, end: End, progress: Progress) -> None:
        if self._writer is None:
            return
        for seg in progress.segments:
            self._writer.note(clock_note(seg))
        self._writer.close()
