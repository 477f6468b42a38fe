"""The service's acquisition side: the device, the one trial that records, limb weighing, and recovery at start.

:class:`Acquisition` owns the device and the recordings: connecting, starting and stopping
trials, weighing, the live view. Every method takes and returns plain, picklable values, so
it can run in the web server's process or in a process of its own
(:mod:`api.acquisition.process`), where no request can take the interpreter from it.

:class:`AcquisitionService` is what the routes use (``app.state.acquisition``): it holds the
station (:class:`api.stations.StationLock`: a second server with the same id on the same
database is refused, naming the first), marks as ``interrupted`` the trials this station left
``recording`` (a crash or SIGKILL: their stored samples stay readable), keeps the simulator
profiles, and forwards the rest to its :class:`Acquisition`, local or in its own process. The
device connects in the background, so the server starts even when it is absent. Only one
trial records or weighs at a time.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from analysis.weighing import MIN_SAMPLES, Weighing, weigh_limb
from api.acquisition.device import DeviceManager, DeviceSnapshot, DeviceState
from api.acquisition.live import LiveBins
from api.acquisition.recording import SHUTDOWN, STOPPED, TrialRecording
from api.acquisition.simulator import SimulatorProfiles
from api.errors import ConflictError, NotFoundError
from api.settings import Settings
from api.stations import StationLock, recover_station
from api.storage.database import Database
from api.storage.models import Trial
from daq.driver import Driver
from daq.errors import DaqError, DeviceTimeout
from daq.lsl_sink import LslOutlets
from daq.plan import SetPlan
from daq.recorder import COMPLETE, INTERRUPTED, End, MemorySink, Progress, Recorder, StopConditions
from firmware_protocols.vocabulary import DEFAULT_ROM_DEG

__all__ = ["Acquisition", "AcquisitionBackend", "AcquisitionService", "LiveView", "default_rom_deg", "record_weighing", "trial_plan"]

log = logging.getLogger(__name__)

#: Longest wait for a recording to stop (STOP, last samples, final commit), seconds.
STOP_TIMEOUT_S = 15.0
#: How often a server checks that it still holds its station's lock (PostgreSQL), seconds.
STATION_CHECK_S = 2.0


def default_rom_deg(joint: str, pattern: str) -> tuple[float, float]:
    """The usual range of motion of a joint's pattern, deg (``firmware_protocols.vocabulary.DEFAULT_ROM_DEG``)."""
    return DEFAULT_ROM_DEG.get((joint, pattern), (0.0, 90.0))


def trial_plan(trial: Trial, *, drive: bool) -> SetPlan:
    """The set a stored trial asks of the device (``drive``: the device runs it; else it only samples)."""
    lo, hi = default_rom_deg(trial.joint, trial.pattern)
    return SetPlan(
        sample_rate_hz=round(trial.sample_rate_hz or 1000),
        drive=drive,
        joint=trial.joint,
        pattern=trial.pattern,
        mode=trial.mode,
        group=trial.group,
        velocity_plus_dps=trial.velocity_plus_dps,
        velocity_minus_dps=trial.velocity_minus_dps,
        rom_min_deg=lo if trial.rom_min_deg is None else trial.rom_min_deg,
        rom_max_deg=hi if trial.rom_max_deg is None else trial.rom_max_deg,
        repetitions=trial.repetitions,
    )


def record_weighing(
    driver: Driver, *, duration_s: float, sample_rate_hz: int, hold_angle_deg: float | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Sample the relaxed limb for ``duration_s`` seconds of device time; torque (N.m) and position (deg).

    A device that drives the machine moves the lever to ``hold_angle_deg`` (deg) and holds the
    relaxed limb there (PASSIVE mode; Keating & Matyas 1996 weigh the knee near 50 deg); a board
    that only samples, or a driving one given no angle, samples while the technician holds the
    relaxed limb still.

    Raises
    ------
    DaqError
        The device refuses, stops or does not stream enough in time.
    """
    wanted = max(MIN_SAMPLES, round(duration_s * sample_rate_hz))
    drives = driver.info is not None and driver.info.drives_machine
    plan = SetPlan.hold(hold_angle_deg, sample_rate_hz=sample_rate_hz) if drives and hold_angle_deg is not None else SetPlan(sample_rate_hz)
    driver.configure(plan)
    collect = MemorySink()
    recorder = Recorder(driver, [collect], flush_interval_s=0.1)
    recorder.start(StopConditions(duration_s=duration_s + 5.0, set_complete=False, samples=wanted))
    summary = recorder.run()
    got = sum(len(b.block.torque_nm) for b in collect.blocks)
    if summary.state != COMPLETE:
        raise DaqError(f"the device stream ended during the weighing: {summary.stopped_by}")
    if got < wanted:
        raise DeviceTimeout(f"weighing: the device sent {got} of {wanted} samples in {duration_s + 5.0:g} s")
    torque_nm = np.concatenate([b.block.torque_nm for b in collect.blocks])
    position_deg = np.concatenate([b.block.position_deg for b in collect.blocks])
    return torque_nm[:wanted], position_deg[:wanted]


@dataclass(frozen=True, eq=False)
class LiveView:
    """A trial as the live display sees it, from the recording that runs (or ran last) here.

    Attributes
    ----------
    running
        Whether the trial is recording now.
    progress
        The acquisition figures so far.
    longest_flush_interval_s, flushed_at
        Longest time between two database commits so far (s), and the last commit (UTC, ``None`` before it).
    bins, cursor
        Bins since the cursor asked for, and the cursor to ask with next.
    ended_at
        When the recording ended (UTC), ``None`` while it runs: tells this recording's trial from a
        later one with its id.
    """

    running: bool
    progress: Progress
    longest_flush_interval_s: float
    flushed_at: dt.datetime | None
    bins: LiveBins
    cursor: int
    ended_at: dt.datetime | None


class Acquisition:
    """The device and the recordings of one server (thread-safe; every value in or out is picklable).

    Parameters
    ----------
    database
        The service's database (the recorder writes on a connection of its own).
    settings
        ``device_url`` (connected at start unless ``none``), ``station_id``, ``flush_interval_s``,
        ``data_dir`` (uploaded simulator profiles) and ``device_socket_hosts``.
    """

    def __init__(self, database: Database, settings: Settings) -> None:
        self.database = database
        self.station_id = settings.station_id
        self.flush_interval_s = settings.flush_interval_s
        self.startup_device = settings.device_url
        self.device = DeviceManager(profiles_of(settings), socket_hosts=settings.device_socket_hosts)
        self._lock = threading.Lock()
        self._recording: TrialRecording | None = None
        self._last_recording: TrialRecording | None = None
        self._weighing: int | None = None
        #: Lab Streaming Layer outlets every trial publishes to (``isokin serve --lsl``), kept across trials.
        self.lsl = LslOutlets() if settings.lsl else None

    # --- lifecycle ----------------------------------------------------------------------------

    def connect_startup_device(self) -> None:
        """Connect the configured device in the background (nothing for ``none``)."""
        if self.startup_device != "none" and self.device.state in ("not connected", "failed", "lost"):
            self.device.connect_in_background(self.startup_device)

    def restore_device(self, url: str, *, protocol: str, calibration: str | None, profile: str | None) -> None:
        """Connect, in the background, the device a previous acquisition had (after it died)."""
        self.device.connect_in_background(url, protocol=protocol, calibration=calibration, profile=profile)

    def shutdown(self, end: End = SHUTDOWN) -> None:
        """End a running trial (as ``interrupted`` by default) and close the device."""
        recording = self._recording
        if recording is not None:
            recording.request_stop(end)
            recording.join(STOP_TIMEOUT_S)
        self.device.close()
        if self.lsl is not None:
            self.lsl.close()

    # --- state --------------------------------------------------------------------------------

    def busy_with(self) -> int | None:
        """The trial recording or weighing now, if any."""
        with self._lock:
            return self._recording.trial_id if self._recording else self._weighing

    def device_snapshot(self) -> DeviceSnapshot:
        """The device's state, identity, calibration and counters, now."""
        return self.device.snapshot()

    def device_state(self) -> DeviceState:
        return self.device.state

    def live_view(self, trial_id: int, since: int) -> tuple[LiveView | None, DeviceState]:
        """The live view of ``trial_id`` if it records or was the last to record here (else ``None``), and the
        device's state: one call per message of a live display."""
        return self._live_view(trial_id, since), self.device.state

    def _live_view(self, trial_id: int, since: int) -> LiveView | None:
        for recording in (self._recording, self._last_recording):
            if recording is not None and recording.trial_id == trial_id:
                running = recording.running
                bins, cursor = recording.live.since(since)
                return LiveView(
                    running,
                    recording.progress(),
                    recording.longest_flush_interval_s,
                    recording.flushed_at,
                    bins,
                    cursor,
                    None if running else recording.ended_at,
                )
        return None

    def _recording_of(self, trial_id: int) -> TrialRecording | None:
        recording = self._recording
        return recording if recording is not None and recording.trial_id == trial_id else None

    def _check_idle(self, what: str) -> None:
        busy = self._recording.trial_id if self._recording else self._weighing
        if busy is not None:
            raise ConflictError(f"trial {busy} is using the device: stop it (POST /api/v1/trials/{busy}/stop) before you {what}")

    # --- device -------------------------------------------------------------------------------

    def connect(self, url: str, *, protocol: str = "binary", calibration: str | None = None) -> DeviceSnapshot:
        """Connect another device (refused while a trial uses the current one)."""
        with self._lock:
            self._check_idle("change the device")
        return self.device.connect(url, protocol=protocol, calibration=calibration)

    def disconnect(self) -> DeviceSnapshot:
        with self._lock:
            self._check_idle("disconnect the device")
        return self.device.disconnect()

    def set_simulator_profile(self, name: str) -> DeviceSnapshot:
        with self._lock:
            self._check_idle("change the simulated subject")
        return self.device.set_simulator_profile(name)

    # --- trials -------------------------------------------------------------------------------

    def _created_trial(self, trial_id: int, action: str) -> Trial:
        with self.database.session() as session:
            trial = session.get(Trial, trial_id)
            if trial is None:
                raise NotFoundError("trial", trial_id)
            if trial.state != "created":
                raise ConflictError(
                    f"trial {trial_id} is {trial.state}: only a created trial can {action} (create a new trial to record again)"
                )
            session.expunge(trial)
            return trial

    def start(self, trial_id: int) -> None:
        """Configure the device with the trial's set and record it (in a thread).

        Raises
        ------
        NotFoundError, ConflictError
            Unknown trial; not ``created``; another trial uses the device.
        DeviceNotConnectedError
            No device is connected.
        DaqError
            The device refuses the set or does not answer.
        """
        with self._lock:
            self._check_idle(f"start trial {trial_id}")
            trial = self._created_trial(trial_id, "start")
            driver = self.device.driver_for(trial.joint, trial.side)
            drives = driver.info is not None and driver.info.drives_machine
            driver.configure(trial_plan(trial, drive=drives))
            recording = TrialRecording(
                self.database,
                driver,
                trial_id,
                station_id=self.station_id,
                device_url=self.device.snapshot().url or "",
                flush_interval_s=self.flush_interval_s,
                on_end=self._ended,
                lsl=self.lsl,
            )
            recording.begin()
            self._recording = self._last_recording = recording

    def _ended(self, recording: TrialRecording) -> None:
        with self._lock:
            if self._recording is recording:
                self._recording = None

    def stop(self, trial_id: int) -> None:
        """Stop the recording of ``trial_id`` and wait until its last samples are stored.

        Raises
        ------
        ConflictError
            The trial is not recording, or did not stop in time.
        """
        recording = self._recording_of(trial_id)
        if recording is None:
            with self.database.session() as session:
                trial = session.get(Trial, trial_id)
                if trial is None:
                    raise NotFoundError("trial", trial_id)
                if trial.state == "recording" and trial.station_id != self.station_id:
                    raise ConflictError(f"trial {trial_id} is recording on station {trial.station_id}: stop it there")
                if trial.state != "recording":
                    raise ConflictError(f"trial {trial_id} is not recording (it is {trial.state})")
            # This station's trial, stored as recording, but nothing records it: its final state never
            # reached the database (an outage at its end). Close it now, as a restart would.
            recover_station(
                self.database, self.station_id,
                reason=f"its recording ended but its final state could not be stored (station {self.station_id})",
                trial_ids=(trial_id,),
            )  # fmt: skip
            return
        recording.request_stop(STOPPED)
        if not recording.join(STOP_TIMEOUT_S):
            raise ConflictError(f"trial {trial_id} did not stop within {STOP_TIMEOUT_S:g} s; it is still stopping")

    def weigh(
        self,
        trial_id: int,
        *,
        duration_s: float,
        horizontal_angle_deg: float,
        angle_deg: float | None,
    ) -> Weighing:
        """Sample the relaxed limb for ``duration_s`` and store the fitted gravity torque on the trial.

        Raises
        ------
        WeighingError
            The torque does not follow the limb's weight (see :func:`weigh_limb`).
        NotFoundError, ConflictError, DeviceNotConnectedError, DaqError
            As for :meth:`start`.
        """
        with self._lock:
            self._check_idle(f"weigh for trial {trial_id}")
            trial = self._created_trial(trial_id, "be weighed by the device")
            driver = self.device.driver_for(trial.joint, trial.side)
            self._weighing = trial_id
        try:
            self._set_state(trial_id, "weighing", station_id=self.station_id)
            hold_deg = angle_deg
            if hold_deg is None and trial.rom_min_deg is not None and trial.rom_max_deg is not None:
                hold_deg = 0.5 * (trial.rom_min_deg + trial.rom_max_deg)
            torque, position = record_weighing(
                driver, duration_s=duration_s, sample_rate_hz=round(trial.sample_rate_hz or 1000), hold_angle_deg=hold_deg
            )
            weighing = weigh_limb(torque, position, horizontal_angle_deg=horizontal_angle_deg, angle_deg=angle_deg)
            self._set_state(
                trial_id,
                "weighing",
                gravity_torque_nm=weighing.gravity_torque_nm,
                horizontal_angle_deg=weighing.horizontal_angle_deg,
            )
            return weighing
        finally:
            self._set_state(trial_id, "created")
            with self._lock:
                self._weighing = None

    def _set_state(self, trial_id: int, state: str, **values: object) -> None:
        with self.database.session() as session:
            trial = session.get(Trial, trial_id)
            if trial is not None:
                trial.state = state
                for name, value in values.items():
                    setattr(trial, name, value)
                session.commit()


def profiles_of(settings: Settings) -> SimulatorProfiles:
    """The simulator profiles of a server: bundled ones and those uploaded to its data directory."""
    return SimulatorProfiles(settings.data_dir.expanduser() / "simulator-profiles")


class AcquisitionBackend(Protocol):
    """What :class:`AcquisitionService` asks of the acquisition, in this process or in its own."""

    def connect_startup_device(self) -> None: ...
    def restore_device(self, url: str, *, protocol: str, calibration: str | None, profile: str | None) -> None: ...
    def shutdown(self, end: End = SHUTDOWN) -> None: ...
    def busy_with(self) -> int | None: ...
    def device_snapshot(self) -> DeviceSnapshot: ...
    def device_state(self) -> DeviceState: ...
    def live_view(self, trial_id: int, since: int) -> tuple[LiveView | None, DeviceState]: ...
    def connect(self, url: str, *, protocol: str = "binary", calibration: str | None = None) -> DeviceSnapshot: ...
    def disconnect(self) -> DeviceSnapshot: ...
    def set_simulator_profile(self, name: str) -> DeviceSnapshot: ...
    def start(self, trial_id: int) -> None: ...
    def stop(self, trial_id: int) -> None: ...
    def weigh(self, trial_id: int, *, duration_s: float, horizontal_angle_deg: float, angle_deg: float | None) -> Weighing: ...


class AcquisitionService:
    """The acquisition as the routes see it: the station, recovery, the profiles, and the :class:`Acquisition`.

    Parameters
    ----------
    database
        The service's database.
    settings
        As for :class:`Acquisition`; ``acquisition_process`` runs it in a process of its own (an
        in-memory SQLite database, which another process cannot open, keeps it in this one).
    """

    def __init__(self, database: Database, settings: Settings) -> None:
        self.database = database
        self.settings = settings
        self.station_id = settings.station_id
        self.station = StationLock(database, settings.station_id)
        self.profiles = profiles_of(settings)
        self.in_process = not settings.acquisition_process or database.in_memory
        self._backend: AcquisitionBackend | None = None
        self._backend_lock = threading.Lock()
        # What the operator last asked of the device, for an acquisition started after one died.
        self._device_wanted: tuple[str, str, str | None] | None = (
            None if settings.device_url == "none" else (settings.device_url, "binary", None)
        )
        self._profile_wanted: str | None = None
        self._restore_device = False  # the next acquisition replaces one that died: it reconnects the device
        self._watching = threading.Event()
        self._seen: tuple[float, DeviceSnapshot] | None = None  # the last snapshot that passed here (monotonic time)
        self._generation = 0  # counts what may change the device's state: an older call's snapshot is not kept

    # --- lifecycle ----------------------------------------------------------------------------

    def hold_station(self, *, address: str = "") -> None:
        """Take this server's station id (no-op when held already; ``isokin serve`` does it before binding its port).

        Raises
        ------
        api.stations.StationBusyError
            Another server holds the id on this database.
        """
        self.station.acquire(address=address)

    def startup(self) -> list[int]:
        """Hold the station, recover its unfinished trials, start the acquisition and connect the device."""
        self.hold_station()
        recovered = self.recover_interrupted()
        with self._backend_lock:
            if self._backend is None:
                self._backend = self._new_backend()
                self._forget()
            backend = self._backend
        backend.connect_startup_device()
        if self.database.backend == "postgresql" and not self._watching.is_set():
            self._watching.set()
            threading.Thread(target=self._watch_station, name="isokin-station-watch", daemon=True).start()
        return recovered

    def _watch_station(self) -> None:
        """Check every few seconds that this server still holds its station (its lock lives on a connection)."""
        while self._watching.is_set():
            time.sleep(STATION_CHECK_S)
            if not self._watching.is_set():
                continue
            try:
                held = self.station.verify()
            except Exception as err:  # the database unreachable (restarting, say): checked again at the next turn
                log.warning("station %s: its lock could not be checked or taken again (%s); retrying", self.station_id, err)
                continue
            if held or not self._watching.is_set():
                continue  # (a shutdown that gave the station back while it was checked is not a loss)
            log.error(
                "station %s: its lock was lost with its database connection and another server holds it now: "
                "this server stops recording", self.station_id,
            )  # fmt: skip
            with self._backend_lock:
                backend, self._backend = self._backend, None
                self._forget()
            if backend is not None:
                backend.shutdown(End(INTERRUPTED, f"this server lost station {self.station_id} to another server"))
            return

    def shutdown(self) -> None:
        """End a running trial as ``interrupted``, close the device (and the acquisition process), give the station back."""
        self._watching.clear()
        with self._backend_lock:
            backend, self._backend = self._backend, None
            self._forget()
        if backend is not None:
            backend.shutdown()
        self.station.release()

    @property
    def backend(self) -> AcquisitionBackend:
        """The acquisition; one started after another died reconnects the device that one had."""
        with self._backend_lock:
            if self._backend is None:
                self._backend = self._new_backend()
                self._forget()
                if self._restore_device and self._device_wanted is not None:
                    url, protocol, calibration = self._device_wanted
                    self._backend.restore_device(url, protocol=protocol, calibration=calibration, profile=self._profile_wanted)
                self._restore_device = False
            return self._backend

    def _new_backend(self) -> AcquisitionBackend:
        if self.in_process:
            return Acquisition(self.database, self.settings)
        from api.acquisition.process import AcquisitionProcess

        return AcquisitionProcess(self.settings, on_exit=self._acquisition_died)

    def _acquisition_died(self, why: str) -> None:
        """The acquisition process ended by itself: close what it left recording; the next call starts another."""
        with self._backend_lock:
            self._backend = None
            self._forget()
            self._restore_device = True
        log.error("the acquisition process stopped: %s; a new one starts on the next request", why)
        if self.station.held:
            recover_station(self.database, self.station_id, reason=f"the acquisition process of station {self.station_id} stopped ({why})")

    def recover_interrupted(self) -> list[int]:
        """Mark the trials this station left ``recording`` as ``interrupted`` (``weighing`` ones back to ``created``).

        Only while this server holds its station: trials another server records are never touched.
        """
        if not self.station.held:
            raise ConflictError(f"station {self.station_id!r} is not held by this server: its trials are not its to close")
        with self._backend_lock:
            backend = self._backend
        if backend is not None and backend.busy_with() is not None:
            return []  # this server is using its trials: nothing of its own is left over
        recovered = recover_station(
            self.database, self.station_id, reason=f"station {self.station_id} stopped while the trial was recording"
        )
        if recovered:
            log.warning("trials %s were left recording by this station: marked interrupted", recovered)
        return recovered

    # --- forwarded to the acquisition -----------------------------------------------------------

    def busy_with(self) -> int | None:
        """The trial recording or weighing now, if any."""
        return self.backend.busy_with()

    def _forget(self) -> int:
        """Drop the last snapshot seen (the device's state may change); the generation of what comes next."""
        self._generation += 1
        self._seen = None
        return self._generation

    def _saw(self, snapshot: DeviceSnapshot, generation: int) -> DeviceSnapshot:
        if generation == self._generation:
            self._seen = (time.monotonic(), snapshot)
        return snapshot

    def recent_device_snapshot(self, max_age_s: float) -> DeviceSnapshot | None:
        """The last snapshot this service saw (any call's) if it is at most ``max_age_s`` old, else ``None``.

        Every change asked through this service (connect, disconnect, a profile, start, stop, a new
        acquisition) is seen at once; only what the device does by itself (a background connect
        ending, a link lost) may be up to ``max_age_s`` late.
        """
        seen = self._seen
        return seen[1] if seen is not None and time.monotonic() - seen[0] <= max_age_s else None

    def device_snapshot(self) -> DeviceSnapshot:
        generation = self._generation
        return self._saw(self.backend.device_snapshot(), generation)

    def device_state(self) -> DeviceState:
        return self.backend.device_state()

    def live_view(self, trial_id: int, since: int) -> tuple[LiveView | None, DeviceState]:
        return self.backend.live_view(trial_id, since)

    def connect(self, url: str, *, protocol: str = "binary", calibration: str | None = None) -> DeviceSnapshot:
        generation = self._forget()
        snapshot = self.backend.connect(url, protocol=protocol, calibration=calibration)
        self._device_wanted = (url, protocol, calibration)
        return self._saw(snapshot, generation)

    def disconnect(self) -> DeviceSnapshot:
        generation = self._forget()
        snapshot = self.backend.disconnect()
        self._device_wanted = None
        return self._saw(snapshot, generation)

    def set_simulator_profile(self, name: str) -> DeviceSnapshot:
        generation = self._forget()
        snapshot = self.backend.set_simulator_profile(name)
        self._profile_wanted = name
        return self._saw(snapshot, generation)

    def _check_station(self) -> None:
        if not self.station.held:
            raise ConflictError(
                f"this server does not hold station {self.station_id!r} (its lock was lost to another server): "
                "it records nothing; restart it with its own station id"
            )

    def start(self, trial_id: int) -> None:
        self._check_station()
        self._forget()
        self.backend.start(trial_id)

    def stop(self, trial_id: int) -> None:
        self._forget()
        self.backend.stop(trial_id)

    def weigh(self, trial_id: int, *, duration_s: float, horizontal_angle_deg: float, angle_deg: float | None) -> Weighing:
        self._check_station()
        self._forget()
        return self.backend.weigh(trial_id, duration_s=duration_s, horizontal_angle_deg=horizontal_angle_deg, angle_deg=angle_deg)
