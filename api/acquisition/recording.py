"""Recording one trial into the database: the recording loop of ``daq`` with a database sink and a live sink.

:class:`TrialRecording` marks the trial ``recording``, STARTs the device through
:class:`daq.recorder.Recorder` and runs the loop in a thread. Its sinks:

- :class:`DatabaseSink` commits, at least every ``flush_interval_s`` (0.1 s by default; the
  service promises 0.25 s) and in ONE transaction, the new samples as a chunk
  (``api.storage.samples``, with the device clock, packed as the calibrated counts), the new events as ``trial_events`` rows
  (the loop's :class:`~daq.events.AcquisitionEvent`, worded as ``isokin record`` words
  them), the trial's figures and its clock segments. It writes on the recorder's own
  database connection, so HTTP requests cannot hold it up. A SIGKILL loses at most the
  samples of the last interval; the restarted station marks the trial ``interrupted``.
- :class:`LiveSink` decimates every block for the live view (:mod:`api.acquisition.live`).

The trial ends on SET_COMPLETE (a driving device), after ``2 x repetitions`` movements (a
board that only samples), on :meth:`TrialRecording.request_stop`, when the device is lost,
or when the trial vanishes from the database.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import asdict

import numpy as np
from sqlalchemy import update
from sqlalchemy.exc import SQLAlchemyError

from api.acquisition.live import LiveBuffer, samples_per_bin
from api.errors import ConflictError
from api.storage.database import Database
from api.storage.models import Trial, TrialEvent
from api.storage.samples import append_samples, calibration_scales, pack_samples
from daq.calibration import CalibrationProfile
from daq.driver import Driver
from daq.events import AcquisitionEvent
from daq.lsl_sink import LslOutlets, LslSink
from daq.recorder import (
    COMPLETE,
    FAILED,
    INTERRUPTED,
    End,
    Progress,
    RecordedBlock,
    Recorder,
    RecordingSink,
    StopConditions,
)
from daq.timing import ClockSegment

__all__ = ["DELETED", "SHUTDOWN", "STOPPED", "DatabaseSink", "LiveSink", "TrialRecording", "packed_rows"]

log = logging.getLogger(__name__)

#: A recording whose database writes keep failing this long ends as ``failed``, seconds.
DATABASE_PATIENCE_S = 30.0
#: The end of a recording whose trial was deleted or changed by someone else (nothing more is written).
DELETED = "deleted"

STOPPED = End(COMPLETE, "stopped by the operator")
SHUTDOWN = End(INTERRUPTED, "the server shut down during the trial")


def _figures(progress: Progress) -> dict[str, object]:
    """The trial's columns that hold the recording's figures."""
    return {
        "sample_count": progress.samples,
        "gap_count": progress.gaps,
        "lost_samples": progress.lost_samples,
        "crc_errors": progress.crc_errors,
        "malformed": progress.malformed,
        "reconnects": progress.reconnects,
        "duration_s": progress.duration_s,
        "effective_rate_hz": progress.effective_rate_hz,
        "clock_segments": json.dumps([_segment_dict(seg) for seg in progress.segments]),
    }


def _segment_dict(seg: ClockSegment) -> dict[str, object]:
    """A clock segment as JSON-ready values (``NaN`` as ``None``)."""
    return {key: None if isinstance(value, float) and value != value else value for key, value in asdict(seg).items()}


class DatabaseSink(RecordingSink):
    """Samples, events, figures and clock segments of one trial into the database.

    Parameters
    ----------
    database
        The service's database (written on its recorder connection).
    trial_id
        The trial, already marked ``recording``.
    calibration
        The calibration that made the samples from the device's counts: chunks keep the counts
        (``api.storage.chunk_codec``), bit for bit the same samples in a tenth of the bytes.
    """

    def __init__(self, database: Database, trial_id: int, calibration: CalibrationProfile | None = None) -> None:
        self.database = database
        self.trial_id = trial_id
        self._scales = calibration_scales(calibration)
        self._blocks: list[RecordedBlock] = []
        self._events: list[TrialEvent] = []
        self._last_flush = time.monotonic()
        self.longest_flush_interval_s = 0.0
        self.flushed_at: dt.datetime | None = None
        self._failing_since: float | None = None
        self._next_chunk: int | None = None  # looked up once, then counted

    def add_samples(self, samples: RecordedBlock) -> None:
        self._blocks.append(samples)

    def add_event(self, event: AcquisitionEvent) -> None:
        self._events.append(
            TrialEvent(
                trial_id=self.trial_id,
                kind=event.kind[:24],
                sequence=event.sequence,
                time_s=event.time_s,
                lost_samples=event.lost_samples,
                detail=event.detail,
            )
        )

    def flush(self, progress: Progress) -> End | None:
        return self._commit(progress, None)

    def finish(self, end: End, progress: Progress) -> None:
        """The last samples and the final state, retried for as long as a recording would wait for the database."""
        if end.state == DELETED:
            return
        give_up = time.monotonic() + DATABASE_PATIENCE_S
        while True:
            if self._commit(progress, end) is not None or self._failing_since is None:
                return
            if time.monotonic() >= give_up:
                pending = sum(len(b) for b in self._blocks)
                log.error(
                    "trial %d: the database refused its last %d samples and its final state for %g s; it stays "
                    "'recording' until this station closes it (POST /trials/%d/stop, or its next start)",
                    self.trial_id, pending, DATABASE_PATIENCE_S, self.trial_id,
                )  # fmt: skip
                return
            time.sleep(0.5)

    def _commit(self, progress: Progress, end: End | None) -> End | None:
        """One transaction: the pending samples and events, the figures (and the final state)."""
        now = time.monotonic()
        self.longest_flush_interval_s = max(self.longest_flush_interval_s, now - self._last_flush)
        self._last_flush = now
        blocks, events = self._blocks, self._events
        rows = packed_rows(blocks) if blocks else None
        flushed_at = dt.datetime.now(dt.UTC)
        values = {**_figures(progress), "flushed_at": flushed_at}
        if progress.first_sample_at is not None:
            values["started_at"] = progress.first_sample_at
        if end is not None:
            values.update(state=end.state, ended_at=flushed_at)
            values["end_reason" if end.state == COMPLETE else "interrupted_reason"] = end.reason
        try:
            with self.database.recorder_session() as session:
                result = session.execute(
                    update(Trial).where(Trial.id == self.trial_id, Trial.state == "recording").values(**values)
                )
                if result.rowcount == 0:  # type: ignore[attr-defined]
                    return End(DELETED, "the trial was deleted or changed by someone else while recording")
                chunk = None
                if rows is not None:
                    chunk = append_samples(session, self.trial_id, rows, chunk_index=self._next_chunk, scales=self._scales)
                session.add_all(events)
                session.commit()
                if chunk is not None:
                    self._next_chunk = chunk.chunk_index + 1
        except SQLAlchemyError as err:
            log.error("trial %d: cannot store samples (%s); keeping them for the next flush", self.trial_id, err)
            self._failing_since = self._failing_since or now
            if now - self._failing_since > DATABASE_PATIENCE_S:
                return End(FAILED, f"the database refused the samples for {DATABASE_PATIENCE_S:g} s: {err}")
            return None
        self._failing_since = None
        self.flushed_at = flushed_at
        self._blocks, self._events = [], []
        return None


class LiveSink(RecordingSink):
    """Every block decimated into a :class:`~api.acquisition.live.LiveBuffer` for display."""

    def __init__(self, live: LiveBuffer) -> None:
        self.live = live

    def add_samples(self, samples: RecordedBlock) -> None:
        b = samples.block
        self.live.add(samples.time_s, b.torque_nm, b.position_deg, b.velocity_dps)

    def add_event(self, event: AcquisitionEvent) -> None:
        return None


def packed_rows(blocks: list[RecordedBlock]) -> np.ndarray:
    """Blocks as packed rows of ``api.storage.samples.SAMPLE_DTYPE``."""
    return pack_samples(
        np.concatenate([b.time_s for b in blocks]),
        np.concatenate([b.block.torque_nm for b in blocks]),
        np.concatenate([b.block.position_deg for b in blocks]),
        np.concatenate([b.block.velocity_dps for b in blocks]),
        np.concatenate([b.block.status for b in blocks]).astype(np.uint32),
        np.concatenate([b.sequence for b in blocks]),
        np.concatenate([b.block.device_time_us for b in blocks]),
    )


class TrialRecording:
    """Record one trial from ``driver`` into ``database``.

    Parameters
    ----------
    database
        Where samples, events and figures go.
    driver
        The opened device (calibrated and configured with the trial's plan).
    trial_id
        The trial recorded (``created``).
    station_id
        This server instance, stored on the trial.
    device_url
        The device's URL, stored on the trial.
    flush_interval_s
        Longest time samples wait before the database, s.
    on_end
        Called (in the recording thread) once the trial's final state is stored.
    lsl
        The device's Lab Streaming Layer outlets (``isokin serve --lsl``), or ``None``.
    """

    def __init__(
        self,
        database: Database,
        driver: Driver,
        trial_id: int,
        *,
        station_id: str,
        device_url: str,
        flush_interval_s: float,
        on_end: Callable[[TrialRecording], None] = lambda _: None,
        lsl: LslOutlets | None = None,
    ) -> None:
        self.database = database
        self.driver = driver
        self.trial_id = trial_id
        self.station_id = station_id
        self.device_url = device_url
        self.on_end = on_end
        self.live = LiveBuffer(samples_per_bin(driver.sample_rate_hz))
        self.end: End | None = None
        #: ``ended_at`` as stored with the final state: tells this recording's trial from a later one with its id.
        self.ended_at: dt.datetime | None = None
        self._sink = DatabaseSink(database, trial_id, driver.calibration)
        lsl_sinks = [LslSink(lsl, label=f"trial {trial_id}")] if lsl is not None else []
        self._recorder = Recorder(driver, [self._sink, LiveSink(self.live), *lsl_sinks], flush_interval_s=flush_interval_s)
        self._thread = threading.Thread(target=self._run, name=f"isokin-trial {trial_id}", daemon=True)

    # --- control (caller's thread) -------------------------------------------------------

    def begin(self) -> None:
        """Mark the trial ``recording``, START the device and run the recording thread.

        A device that drives the machine ends the set itself (SET_COMPLETE); on a board that
        only samples, the loop counts the plan's movements.

        Raises
        ------
        ConflictError
            The trial is no longer ``created``.
        DaqError
            The device refuses or does not answer; the trial is ``created`` again.
        """
        plan = self.driver.plan
        driving = plan is not None and plan.drive
        self._mark_recording(driving)
        counted = not driving and plan is not None and plan.movements > 0 and plan.slower_velocity_dps > 0
        # A set run from the machine's console ends after its movements; one without movements (isometric)
        # when the operator stops it.
        conditions = StopConditions(movements=plan.movements if counted and plan is not None else None)
        try:
            self._recorder.start(conditions)
        except BaseException:
            self._set_state_back()
            raise
        self._thread.start()

    def request_stop(self, end: End = STOPPED) -> None:
        """Ask the thread to stop the device and finish the trial as ``end``."""
        self._recorder.request_stop(end)

    def join(self, timeout_s: float | None = None) -> bool:
        """Wait for the recording to finish; whether it has."""
        self._thread.join(timeout_s)
        return not self._thread.is_alive()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def progress(self) -> Progress:
        """The recording's figures as of now (samples counted when received)."""
        return self._recorder.progress()

    @property
    def longest_flush_interval_s(self) -> float:
        """Longest time between two database commits so far, s."""
        return self._sink.longest_flush_interval_s

    @property
    def flushed_at(self) -> dt.datetime | None:
        """When samples last reached the database (UTC), ``None`` before the first commit."""
        return self._sink.flushed_at

    # --- database --------------------------------------------------------------------------

    def _mark_recording(self, driving: bool) -> None:
        info = self.driver.info
        calibration = self.driver.calibration
        metadata = {
            "device_model": info.model if info else None,
            "firmware_version": info.firmware_version if info else None,
            "protocol": self.driver.protocol,
            "drives_machine": driving,
            "flush_interval_s": self._recorder.flush_interval_s,
        }
        with self.database.session() as session:
            result = session.execute(
                update(Trial)
                .where(Trial.id == self.trial_id, Trial.state == "created")
                .values(
                    state="recording",
                    station_id=self.station_id,
                    device_url=self.device_url[:500],
                    device_serial=(info.serial_number if info else "")[:64] or None,
                    calibration=calibration.name[:100] if calibration else None,
                    metadata_json=json.dumps(metadata),
                    sample_rate_hz=float(self.driver.sample_rate_hz),
                    started_at=dt.datetime.now(dt.UTC),
                    ended_at=None,
                    end_reason=None,
                    interrupted_reason=None,
                )
            )
            if result.rowcount == 0:  # type: ignore[attr-defined]
                raise ConflictError(f"trial {self.trial_id} is no longer waiting to start")
            session.commit()

    def _set_state_back(self) -> None:
        with self.database.session() as session:
            session.execute(
                update(Trial).where(Trial.id == self.trial_id, Trial.state == "recording").values(state="created")
            )
            session.commit()

    # --- the recording thread ------------------------------------------------------------

    def _run(self) -> None:
        summary = self._recorder.run()
        self.end = End(summary.state, summary.stopped_by)
        self.ended_at = self._sink.flushed_at if summary.state != DELETED else None
        log.info("trial %d: %s (%s)", self.trial_id, summary.state, summary.stopped_by)
        self.on_end(self)
