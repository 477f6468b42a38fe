"""The service's acquisition side: the device, the one trial that records, limb weighing, and recovery at start.

One :class:`AcquisitionService` per app (``app.state.acquisition``). At start
(:meth:`~AcquisitionService.startup`) it marks as ``interrupted`` the trials this
station left ``recording`` (a crash or SIGKILL: their stored samples stay readable)
and connects the configured device in the background, so the server starts even when
the device is absent. Only one trial records or weighs at a time.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading

from sqlalchemy import select

from api.acquisition.device import DeviceManager, DeviceSnapshot
from api.acquisition.plan import TrialPlan
from api.acquisition.recording import SHUTDOWN, STOPPED, TrialRecording
from api.acquisition.simulator import SimulatorProfiles
from api.acquisition.weighing import Weighing, record_weighing, weigh_limb
from api.errors import ConflictError, NotFoundError
from api.settings import Settings
from api.storage.database import Database
from api.storage.models import Trial
from simulators.joints import DEFAULT_ROM_DEG

__all__ = ["AcquisitionService", "default_rom_deg"]

log = logging.getLogger(__name__)

#: Longest wait for a recording to stop (STOP, last samples, final commit), seconds.
STOP_TIMEOUT_S = 15.0


def default_rom_deg(joint: str, pattern: str) -> tuple[float, float]:
    """The usual range of motion of a joint's pattern, deg (``simulators.joints.DEFAULT_ROM_DEG``)."""
    return DEFAULT_ROM_DEG.get((joint, pattern), (0.0, 90.0))


class AcquisitionService:
    """Device control, recording and weighing for one server instance.

    Parameters
    ----------
    database
        The service's database.
    settings
        ``device_url`` (connected at start unless ``none``), ``station_id``,
        ``flush_interval_s`` and ``data_dir`` (uploaded simulator profiles).
    """

    def __init__(self, database: Database, settings: Settings) -> None:
        self.database = database
        self.station_id = settings.station_id
        self.flush_interval_s = settings.flush_interval_s
        self.startup_device = settings.device_url
        profiles = SimulatorProfiles(settings.data_dir.expanduser() / "simulator-profiles")
        self.device = DeviceManager(profiles)
        self._lock = threading.Lock()
        self._recording: TrialRecording | None = None
        self._last_recording: TrialRecording | None = None
        self._weighing: int | None = None

    # --- lifecycle ----------------------------------------------------------------------------

    def startup(self) -> list[int]:
        """Recover this station's unfinished trials and connect the device in the background."""
        recovered = self.recover_interrupted()
        if self.startup_device != "none" and self.device.state in ("not connected", "failed", "lost"):
            self.device.connect_in_background(self.startup_device)
        return recovered

    def shutdown(self) -> None:
        """End a running trial as ``interrupted`` and close the device."""
        recording = self._recording
        if recording is not None:
            recording.request_stop(SHUTDOWN)
            recording.join(STOP_TIMEOUT_S)
        self.device.close()

    def recover_interrupted(self) -> list[int]:
        """Mark the trials this station left ``recording`` as ``interrupted`` (``weighing`` ones back to ``created``)."""
        with self._lock:
            active = {self._weighing, self._recording.trial_id if self._recording else None}
        now = dt.datetime.now(dt.UTC)
        recovered = []
        with self.database.session() as session:
            query = select(Trial).where(Trial.station_id == self.station_id, Trial.state.in_(("recording", "weighing")))
            for trial in session.scalars(query):
                if trial.id in active:
                    continue
                if trial.state == "weighing":
                    trial.state = "created"
                    continue
                stored = f"{trial.sample_count} samples ({trial.duration_s or 0:.3f} s)"
                trial.state = "interrupted"
                trial.interrupted_reason = (
                    f"station {self.station_id} stopped while the trial was recording; "
                    f"{stored} were stored, the last at {trial.flushed_at or trial.started_at}"
                )
                trial.ended_at = trial.flushed_at or trial.started_at or now
                recovered.append(trial.id)
            session.commit()
        if recovered:
            log.warning("trials %s were left recording by this station: marked interrupted", recovered)
        return recovered

    # --- state --------------------------------------------------------------------------------

    def busy_with(self) -> int | None:
        """The trial recording or weighing now, if any."""
        with self._lock:
            return self._recording.trial_id if self._recording else self._weighing

    def recording(self, trial_id: int) -> TrialRecording | None:
        """The running recording of ``trial_id``, if it is the one recording."""
        recording = self._recording
        return recording if recording is not None and recording.trial_id == trial_id else None

    def live_recording(self, trial_id: int) -> TrialRecording | None:
        """The recording of ``trial_id`` if it runs or was the last to run here (its live bins stay readable)."""
        for recording in (self._recording, self._last_recording):
            if recording is not None and recording.trial_id == trial_id:
                return recording
        return None

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
            recording = TrialRecording(
                self.database,
                driver,
                TrialPlan.of(trial, rom_deg=default_rom_deg(trial.joint, trial.pattern)),
                station_id=self.station_id,
                device_url=self.device.snapshot().url or "",
                flush_interval_s=self.flush_interval_s,
                on_end=self._ended,
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
        recording = self.recording(trial_id)
        if recording is None:
            with self.database.session() as session:
                trial = session.get(Trial, trial_id)
                if trial is None:
                    raise NotFoundError("trial", trial_id)
                if trial.state == "recording" and trial.station_id != self.station_id:
                    raise ConflictError(f"trial {trial_id} is recording on station {trial.station_id}: stop it there")
                raise ConflictError(f"trial {trial_id} is not recording (it is {trial.state})")
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
        ValueError
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
