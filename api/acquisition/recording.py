"""Recording one trial into the database: a thread that writes what the driver streams, every ``flush_interval_s``.

:class:`TrialRecording` subscribes to the driver, configures it (:class:`TrialPlan`),
marks the trial ``recording`` and STARTs. Its thread then takes every stream item and,
at least every ``flush_interval_s`` (0.1 s by default; the service promises 0.25 s),
commits in ONE transaction: the new samples as a chunk (``api.storage.samples``),
the new events (gaps, disconnections, device events) as ``trial_events`` rows, and the
trial's figures. A SIGKILL therefore loses at most the samples of the last interval;
the restarted service marks the trial ``interrupted`` (:func:`api.acquisition.service`).

``time_s`` is the driver's host-time mapping of the device clock, 0 at the first sample
(as ``isokin record`` writes it). The trial ends on SET_COMPLETE (a driving device),
after ``2 x repetitions`` movements (a sampling-only board, :class:`MovementCounter`),
on :meth:`TrialRecording.request_stop`, or when the device is lost.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from sqlalchemy import update
from sqlalchemy.exc import SQLAlchemyError

from api.acquisition.live import LiveBuffer, samples_per_bin
from api.acquisition.movements import MovementCounter
from api.acquisition.plan import TrialPlan
from api.errors import ConflictError
from api.storage.database import Database
from api.storage.models import Trial, TrialEvent
from api.storage.samples import append_samples, pack_samples
from daq.binary_driver import BinaryDriver
from daq.driver import Driver
from daq.errors import DaqError
from daq.stats import AcquisitionStats
from daq.stream import DeviceEvent, Disconnected, Gap, Overflow, Reconnected, SampleBlock, StreamEnded, StreamItem
from firmware_protocols import EventCode

__all__ = ["End", "Figures", "TrialRecording"]

log = logging.getLogger(__name__)

#: A recording whose database writes keep failing this long ends as ``failed``, seconds.
DATABASE_PATIENCE_S = 30.0


@dataclass(frozen=True)
class End:
    """How a recording ended: the trial's final state and why."""

    state: str
    reason: str


STOPPED = End("complete", "stopped by the operator")
SHUTDOWN = End("interrupted", "the server shut down during the trial")


@dataclass(frozen=True)
class Figures:
    """Acquisition figures of a recording so far.

    Attributes
    ----------
    samples, gaps, lost_samples
        Samples stored, gaps (device losses and overflows) and the samples they lost.
    crc_errors, reconnects
        Damaged frames and reconnections since the start.
    duration_s
        Time of the newest sample, s (``None`` before the first).
    effective_rate_hz
        Samples per second of ``duration_s`` (``None`` before two samples).
    longest_flush_interval_s
        Longest time between two database commits so far, s.
    flushed_at
        When samples last reached the database (UTC), ``None`` before the first commit.
    """

    samples: int
    gaps: int
    lost_samples: int
    crc_errors: int
    reconnects: int
    duration_s: float | None
    effective_rate_hz: float | None
    longest_flush_interval_s: float
    flushed_at: dt.datetime | None


class TrialRecording:
    """Record one trial from ``driver`` into ``database``.

    Parameters
    ----------
    database
        Where samples, events and figures go.
    driver
        The opened device (calibrated).
    plan
        The trial's set.
    station_id
        This server instance, stored on the trial.
    device_url
        The device's URL, stored on the trial.
    flush_interval_s
        Longest time samples wait before the database, s.
    on_end
        Called (in the recording thread) once the trial's final state is stored.
    """

    def __init__(
        self,
        database: Database,
        driver: Driver,
        plan: TrialPlan,
        *,
        station_id: str,
        device_url: str,
        flush_interval_s: float,
        on_end: Callable[[TrialRecording], None] = lambda _: None,
    ) -> None:
        self.database = database
        self.driver = driver
        self.plan = plan
        self.trial_id = plan.trial_id
        self.station_id = station_id
        self.device_url = device_url
        self.flush_interval_s = flush_interval_s
        self.on_end = on_end
        self.live = LiveBuffer(samples_per_bin(plan.sample_rate_hz))
        self.end: End | None = None
        #: ``ended_at`` as stored with the final state: tells this recording's trial from a later one with its id.
        self.ended_at: dt.datetime | None = None
        self._stop: End | None = None
        self._thread = threading.Thread(target=self._run, name=f"isokin-trial {plan.trial_id}", daemon=True)
        self._subscription = driver.subscribe(max_items=100_000)
        self._counter: MovementCounter | None = None
        self._before: AcquisitionStats | None = None
        self._t0: float | None = None
        self._started_at: dt.datetime | None = None
        self._pending: list[SampleBlock] = []
        self._live_pending: list[SampleBlock] = []
        self._events: list[TrialEvent] = []
        self._stored = 0
        self._gaps = 0
        self._lost = 0
        self._last_time_s: float | None = None
        self._last_flush = 0.0
        self._longest_flush = 0.0
        self._flushed_at: dt.datetime | None = None
        self._failing_since: float | None = None

    # --- control (caller's thread) -------------------------------------------------------

    def begin(self) -> None:
        """Configure the device, mark the trial ``recording``, START and run the thread.

        Raises
        ------
        ConflictError
            The trial is no longer ``created``.
        DaqError
            The device refuses the set or does not answer; the trial stays ``created``.
        """
        driver, plan = self.driver, self.plan
        try:
            if isinstance(driver, BinaryDriver):
                config = plan.configure(driver.info)
                driver.configure(config)
                driving = config.mode != 0
            else:
                driver.configure(plan.sample_rate_hz)  # type: ignore[attr-defined]
                driving = False
            if not driving:
                slower = min(plan.velocity_plus_dps, plan.velocity_minus_dps)
                self._counter = MovementCounter(slower, plan.sample_rate_hz)
            self._mark_recording(driving)
            self._before = driver.stats()
            try:
                driver.start()
            except BaseException:
                self._set_state_back()
                raise
        except BaseException:
            driver.unsubscribe(self._subscription)
            raise
        self._last_flush = time.monotonic()
        self._thread.start()

    def request_stop(self, end: End = STOPPED) -> None:
        """Ask the thread to stop the device and finish the trial as ``end``."""
        if self._stop is None:
            self._stop = end

    def join(self, timeout_s: float | None = None) -> bool:
        """Wait for the recording to finish; whether it has."""
        self._thread.join(timeout_s)
        return not self._thread.is_alive()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def figures(self) -> Figures:
        """The figures as of now (samples counted when received)."""
        stats = self.driver.stats()
        before = self._before or stats
        received = self._stored + sum(len(b) for b in self._pending)
        duration = self._last_time_s
        return Figures(
            samples=received,
            gaps=self._gaps,
            lost_samples=self._lost,
            crc_errors=stats.crc_errors - before.crc_errors,
            reconnects=stats.reconnects - before.reconnects,
            duration_s=duration,
            effective_rate_hz=(received - 1) / duration if duration else None,
            longest_flush_interval_s=self._longest_flush,
            flushed_at=self._flushed_at,
        )

    # --- database --------------------------------------------------------------------------

    def _mark_recording(self, driving: bool) -> None:
        info = self.driver.info
        calibration = self.driver.calibration
        metadata = {
            "device_model": info.model if info else None,
            "firmware_version": info.firmware_version if info else None,
            "protocol": self.driver.protocol,
            "drives_machine": driving,
            "flush_interval_s": self.flush_interval_s,
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
                    sample_rate_hz=float(self.plan.sample_rate_hz),
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

    def _flush(self, end: End | None = None) -> End | None:
        """Commit the pending samples, events and figures (and the final state); an :class:`End` if the trial vanished."""
        now = time.monotonic()
        self._longest_flush = max(self._longest_flush, now - self._last_flush)
        self._last_flush = now
        self._feed_live()
        blocks, events = self._pending, self._events
        rows = _rows(blocks, self._t0) if blocks else None
        figures = self.figures()
        values: dict[str, object] = {
            "sample_count": self._stored + (len(rows) if rows is not None else 0),
            "gap_count": figures.gaps,
            "lost_samples": figures.lost_samples,
            "crc_errors": figures.crc_errors,
            "reconnects": figures.reconnects,
            "duration_s": figures.duration_s,
            "flushed_at": dt.datetime.now(dt.UTC),
        }
        if self._started_at is not None:
            values["started_at"] = self._started_at
        if end is not None:
            values.update(state=end.state, ended_at=values["flushed_at"])
            values["end_reason" if end.state == "complete" else "interrupted_reason"] = end.reason
        try:
            with self.database.session() as session:
                result = session.execute(
                    update(Trial).where(Trial.id == self.trial_id, Trial.state == "recording").values(**values)
                )
                if result.rowcount == 0:  # type: ignore[attr-defined]
                    return End("deleted", "the trial was deleted or changed by someone else while recording")
                if rows is not None:
                    append_samples(session, self.trial_id, rows)
                session.add_all(events)
                session.commit()
        except SQLAlchemyError as err:
            log.error("trial %d: cannot store samples (%s); keeping them for the next flush", self.trial_id, err)
            self._failing_since = self._failing_since or now
            if now - self._failing_since > DATABASE_PATIENCE_S:
                return End("failed", f"the database refused the samples for {DATABASE_PATIENCE_S:g} s: {err}")
            return None
        self._failing_since = None
        self._flushed_at = values["flushed_at"]  # type: ignore[assignment]
        if end is not None:
            self.ended_at = self._flushed_at
        self._stored = int(values["sample_count"])  # type: ignore[call-overload]
        self._pending, self._events = [], []
        return None

    def _feed_live(self) -> None:
        blocks, self._live_pending = self._live_pending, []
        if blocks and self._t0 is not None:
            self.live.add(
                np.concatenate([b.host_time_s for b in blocks]) - self._t0,
                np.concatenate([b.torque_nm for b in blocks]),
                np.concatenate([b.position_deg for b in blocks]),
                np.concatenate([b.velocity_dps for b in blocks]),
            )

    # --- the recording thread ------------------------------------------------------------

    def _run(self) -> None:
        end: End | None = None
        try:
            next_flush = time.monotonic() + self.flush_interval_s
            while end is None:
                item = self._subscription.get(timeout=max(0.0, next_flush - time.monotonic()))
                if item is not None:
                    end = self._take(item)
                if end is None:
                    end = self._stop
                if time.monotonic() >= next_flush:
                    end = self._flush() or end
                    next_flush = max(next_flush + self.flush_interval_s, time.monotonic())  # no drift
        except Exception as err:  # a bug must not leave the trial recording forever
            log.exception("trial %d: recording failed", self.trial_id)
            end = End("failed", f"internal error: {err!r}")
        finally:
            self._finish(end or End("failed", "the recording ended without a reason"))

    def _take(self, item: StreamItem) -> End | None:
        """Account for one stream item; an :class:`End` when the trial is over."""
        if isinstance(item, SampleBlock):
            if self._t0 is None:
                self._t0 = float(item.host_time_s[0])
                lead_s = (len(item) - 1) / self.plan.sample_rate_hz
                self._started_at = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=lead_s)
            self._pending.append(item)
            self._live_pending.append(item)
            self._last_time_s = float(item.host_time_s[-1]) - self._t0
            if self._counter is not None and self._counter.feed(item.velocity_dps) >= self.plan.movements:
                return End("complete", f"{self.plan.movements} movements counted")
        elif isinstance(item, Gap):
            self._gaps += 1
            self._lost += item.missing
            if not item.count_known:
                how = f"{item.frames_lost} frame(s) lost at the end, sample count unknown"
            else:
                how = "derived from time" if item.derived_from_time else "counted from the sample index"
            self._event("gap", item.after_index, f"{item.reason}; {how}", item.missing)
        elif isinstance(item, Overflow):
            self._gaps += 1
            self._lost += item.samples
            self._event("overflow", item.first_index, "the service fell behind the device", item.samples)
        elif isinstance(item, Disconnected):
            self._event("disconnected", item.after_index, item.reason)
        elif isinstance(item, Reconnected):
            self._event("reconnected", None, f"after {item.attempts} attempts ({item.resumed})")
        elif isinstance(item, DeviceEvent):
            self._event(item.name.lower(), item.index, f"value {item.value}")
            if item.code == EventCode.SET_COMPLETE:
                return End("complete", "set complete")
        elif isinstance(item, StreamEnded):
            self._event("stream ended", None, item.reason)
            state = "interrupted" if item.reason in ("device lost", "closed") else "failed"
            return End(state, f"the device stream ended: {item.reason}")
        return None

    def _event(self, kind: str, sequence: int | None, detail: str, lost: int = 0) -> None:
        self._events.append(
            TrialEvent(
                trial_id=self.trial_id, kind=kind[:24], sequence=sequence, time_s=self._last_time_s, lost_samples=lost, detail=detail
            )
        )

    def _finish(self, end: End) -> None:
        driver = self.driver
        try:
            if driver.streaming:
                driver.stop()
        except DaqError as err:
            log.warning("trial %d: STOP failed: %s", self.trial_id, err)
            self._event("stop failed", None, str(err))
        while (item := self._subscription.get(timeout=0)) is not None:
            if isinstance(item, (SampleBlock, Gap, Overflow)):
                self._take(item)
        driver.unsubscribe(self._subscription)
        if end.state != "deleted":
            for _ in range(3):  # the final state must reach the database if at all possible
                if self._flush(end) is not None or self._failing_since is None:
                    break
                time.sleep(0.2)
        self.end = end
        log.info("trial %d: %s (%s)", self.trial_id, end.state, end.reason)
        self.on_end(self)


def _rows(blocks: list[SampleBlock], t0: float | None) -> np.ndarray:
    """Blocks as packed rows of ``api.storage.samples.SAMPLE_DTYPE``."""
    origin = t0 if t0 is not None else float(blocks[0].host_time_s[0])
    return pack_samples(
        np.concatenate([b.host_time_s for b in blocks]) - origin,
        np.concatenate([b.torque_nm for b in blocks]),
        np.concatenate([b.position_deg for b in blocks]),
        np.concatenate([b.velocity_dps for b in blocks]),
        np.concatenate([b.status for b in blocks]).astype(np.uint32),
        np.concatenate([b.index for b in blocks]),
    )
