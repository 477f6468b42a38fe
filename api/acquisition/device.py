"""The device the service records from: connected (in the background at start), watched, reopened for a trial.

One :class:`DeviceManager` per service owns at most one open :class:`~daq.driver.Driver`.
A watcher thread follows the driver's stream (disconnected, reconnected, lost) so the
state is right even when no trial runs. For the simulator, the driver is reopened with
the trial's joint and side (:meth:`DeviceManager.driver_for`) and with the chosen
simulated subject (:meth:`DeviceManager.set_simulator_profile`).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import parse_qsl, urlsplit

from api.acquisition.simulator import DEFAULT_PROFILE, SimulatorProfiles, is_simulator, sim_url, split_profile
from api.device_urls import DEFAULT_SOCKET_HOSTS, DeviceUrlRefused, check_device_url
from api.errors import ConflictError, DeviceNotConnectedError, InvalidInputError
from daq.calibration import CalibrationProfile, load_profile, profile_for_model, shipped_profiles
from daq.devices import DRIVERS, open_driver
from daq.driver import DeviceInfo, Driver
from daq.stats import AcquisitionStats
from daq.stream import Disconnected, Reconnected, StreamEnded, Subscription

__all__ = ["DeviceManager", "DeviceSnapshot", "DeviceState"]

log = logging.getLogger(__name__)

DeviceState = Literal["not connected", "connecting", "connected", "reconnecting", "lost", "failed"]

#: Longest wait of a connect for another one in progress, seconds.
CONNECT_WAIT_S = 15.0


@dataclass(frozen=True)
class DeviceSnapshot:
    """The device as ``GET /device`` shows it.

    Attributes
    ----------
    state
        ``not connected``, ``connecting``, ``connected``, ``reconnecting`` (the link dropped,
        the driver is reopening it), ``lost`` (it gave up) or ``failed`` (the last connect failed).
    requested_url
        What was asked for: a device URL, or ``simulator``.
    url
        The URL opened (for the simulator, the ``sim://`` URL with its options).
    protocol
        ``binary`` or ``ascii``.
    simulator
        Whether the device is the bundled simulator.
    simulator_profile
        Name of the simulated subject's profile (simulator only).
    info, calibration, stats
        The device's identity, the calibration profile in use and the driver's counters.
    error
        Why the device is ``failed`` or ``lost``.
    connected_at
        When the device was opened (UTC).
    """

    state: DeviceState
    requested_url: str | None
    url: str | None
    protocol: str
    simulator: bool
    simulator_profile: str | None
    info: DeviceInfo | None
    calibration: CalibrationProfile | None
    stats: AcquisitionStats | None
    error: str | None
    connected_at: dt.datetime | None


class DeviceManager:
    """Connects, watches and reopens the service's device (thread-safe).

    Parameters
    ----------
    profiles
        The simulator profiles to choose from.
    reconnect_timeout_s
        How long the driver keeps reopening a lost device, seconds.
    """

    def __init__(
        self,
        profiles: SimulatorProfiles,
        *,
        reconnect_timeout_s: float = 10.0,
        socket_hosts: tuple[str, ...] = DEFAULT_SOCKET_HOSTS,
    ) -> None:
        self.profiles = profiles
        self.socket_hosts = socket_hosts  # hosts a socket:// device may be on (api.device_urls)
        self.reconnect_timeout_s = reconnect_timeout_s
        self._lock = threading.Lock()  # guards the fields below (held briefly)
        self._connecting = threading.Lock()  # one connect / disconnect / reopen at a time
        self._driver: Driver | None = None
        self._watcher: threading.Thread | None = None
        self._state: DeviceState = "not connected"
        self._requested: str | None = None
        self._url: str | None = None
        self._protocol = "binary"
        self._calibration_name: str | None = None
        self._profile: str | None = DEFAULT_PROFILE
        self._sim_joint: str | None = None
        self._sim_side: str | None = None
        self._error: str | None = None
        self._connected_at: dt.datetime | None = None

    # --- reading -------------------------------------------------------------------------

    def snapshot(self) -> DeviceSnapshot:
        """The device's state, identity, calibration and counters, now."""
        with self._lock:
            driver, state = self._driver, self._state
            simulator = self._requested is not None and is_simulator(self._requested)
            profile = self._profile if simulator else None
            if simulator and profile is None and self._url:
                given = dict(parse_qsl(urlsplit(self._url).query)).get("profile")
                profile = Path(given).stem if given else DEFAULT_PROFILE
            return DeviceSnapshot(
                state=state,
                requested_url=self._requested,
                url=self._url,
                protocol=self._protocol,
                simulator=simulator,
                simulator_profile=profile,
                info=driver.info if driver else None,
                calibration=driver.calibration if driver else None,
                stats=driver.stats() if driver else None,
                error=self._error,
                connected_at=self._connected_at,
            )

    @property
    def state(self) -> DeviceState:
        return self._state

    # --- connecting ------------------------------------------------------------------------

    def connect(self, url: str, *, protocol: str = "binary", calibration: str | None = None) -> DeviceSnapshot:
        """Open ``url`` (``simulator`` or a device URL) in place of the current device, and identify it.

        ``calibration`` names a shipped calibration profile; ``None`` picks the one made for
        the device's model.

        Raises
        ------
        DeviceUrlRefused
            The URL is not one the service opens (``api.device_urls``).
        InvalidInputError
            Unknown protocol or calibration, or no calibration for the model.
        DeviceUrlRefused
            Also a ``sim://`` option value the simulator refuses (``speed=0``, ``seed=x``).
        DaqError
            The device cannot be opened or does not answer.
        """
        if protocol not in DRIVERS:
            raise InvalidInputError("protocol", f"unknown protocol {protocol!r}; expected one of {', '.join(DRIVERS)}")
        if calibration is not None and calibration not in shipped_profiles():
            raise InvalidInputError("calibration", f"unknown profile {calibration!r}; shipped: {', '.join(shipped_profiles())}")
        try:
            check_device_url(url, socket_hosts=self.socket_hosts, profile_names=[p.name for p in self.profiles.list()])
        except DeviceUrlRefused as err:
            with self._lock:
                if self._state == "connecting" and self._requested == url:  # the background connect at start
                    self._state, self._error = "failed", str(err)
            raise
        url, profile = split_profile(url)
        if is_simulator(url) and url != "simulator":
            try:
                sim_url(url)  # check the option values before dropping the current device
            except ValueError as err:
                raise DeviceUrlRefused("sim options", str(err)) from err
        with self._exclusive():
            self._close_current()
            with self._lock:
                self._requested, self._protocol, self._calibration_name = url, protocol, calibration
                self._sim_joint = self._sim_side = None
                if is_simulator(url):
                    self._profile = profile or self._profile or DEFAULT_PROFILE
            self._open()
        return self.snapshot()

    def connect_in_background(
        self, url: str, *, protocol: str = "binary", calibration: str | None = None, profile: str | None = None
    ) -> threading.Thread:
        """Start :meth:`connect` in a thread (a simulator with the subject ``profile`` when given); a failure
        leaves the state ``failed`` with the reason."""
        if profile is not None:
            with self._lock:
                self._profile = profile

        def run() -> None:
            try:
                self.connect(url, protocol=protocol, calibration=calibration)
            except Exception as err:  # the state already says why; the server runs without a device
                log.warning("device %s: %s", url, err)

        thread = threading.Thread(target=run, name="isokin-connect", daemon=True)
        with self._lock:
            self._state, self._requested, self._error = "connecting", url, None
        thread.start()
        return thread

    def disconnect(self) -> DeviceSnapshot:
        """Close the device (nothing happens when none is open)."""
        with self._exclusive():
            self._close_current()
            with self._lock:
                self._state, self._error, self._url, self._connected_at = "not connected", None, None, None
        return self.snapshot()

    def close(self) -> None:
        """Close the device for good (service shutdown)."""
        self.disconnect()

    def set_simulator_profile(self, name: str) -> DeviceSnapshot:
        """Simulate the subject of profile ``name``; a connected simulator is reopened with it.

        Raises
        ------
        NotFoundError
            No profile has that name.
        ConflictError
            The device in use is not the simulator.
        """
        self.profiles.get(name)
        with self._exclusive():
            if self._requested is not None and not is_simulator(self._requested) and self._state != "not connected":
                raise ConflictError(
                    f"the device in use ({self._requested}) is not the simulator: connect to 'simulator' first"
                )
            with self._lock:
                self._profile = name
            if self._driver is not None:
                self._close_current()
                self._open()
        return self.snapshot()

    def driver_for(self, joint: str, side: str) -> Driver:
        """The connected driver, ready for a trial on ``joint`` and ``side``.

        The simulator is reopened when it simulates another joint or side (the
        ``sim://`` URL's ``joint`` and ``side`` options), or when it has streamed
        already (it keeps every sample it sent, for tests: a fresh one per trial
        bounds that memory to one trial).

        Raises
        ------
        DeviceNotConnectedError
            No device is connected (or it is connecting, reconnecting or lost).
        """
        with self._exclusive():
            if self._driver is None or self._state != "connected":
                raise DeviceNotConnectedError(self._not_connected_reason())
            requested = self._requested
            assert requested is not None
            used = self._driver.stats().samples > 0
            if is_simulator(requested) and (used or (self._sim_joint, self._sim_side) != (joint, side)):
                self._close_current()
                with self._lock:
                    self._sim_joint, self._sim_side = joint, side
                self._open()
            return self._driver

    # --- internals -----------------------------------------------------------------------

    def _exclusive(self) -> _Held:
        if not self._connecting.acquire(timeout=CONNECT_WAIT_S):
            raise ConflictError("the device is busy connecting; try again in a moment")
        return _Held(self._connecting)

    def _not_connected_reason(self) -> str:
        state, url = self._state, self._requested
        if state == "connecting":
            return f"the device {url} is still connecting; try again in a moment"
        if state == "reconnecting":
            return f"the device {url} dropped its link and is reconnecting; try again in a moment"
        if state in ("failed", "lost"):
            return f"the device {url} is {state} ({self._error}): POST /api/v1/device/connect"
        return "no device is connected: POST /api/v1/device/connect (url 'simulator' for the simulator)"

    def _open_url(self) -> str:
        requested = self._requested
        assert requested is not None
        if not is_simulator(requested):
            return requested
        profile = None if self._profile in (None, DEFAULT_PROFILE) else str(self.profiles.get(self._profile).path)
        options: dict[str, str | None] = {"joint": self._sim_joint, "side": self._sim_side}
        if self._profile is not None:
            options["profile"] = profile
        return sim_url(requested, **options)

    def _open(self) -> None:
        """Open the requested device (caller holds ``_connecting``)."""
        with self._lock:
            self._state, self._error = "connecting", None
        try:
            url = self._open_url()
            if is_simulator(url):
                from simulators import register_url_handler

                register_url_handler()
            calibration = load_profile(self._calibration_name) if self._calibration_name else None
            driver = open_driver(
                url, protocol=self._protocol, calibration=calibration, reconnect_timeout_s=self.reconnect_timeout_s
            )
        except Exception as err:
            with self._lock:
                self._state, self._error, self._url = "failed", str(err) or type(err).__name__, None
            raise
        if driver.calibration is None:
            model = driver.info.model if driver.info else ""
            driver.calibration = profile_for_model(model)
            if driver.calibration is None:
                driver.close()
                message = (
                    f"calibration: no shipped calibration for device model {model or 'unknown'!r}; "
                    f"give one of {', '.join(shipped_profiles())}"
                )
                with self._lock:
                    self._state, self._error, self._url = "failed", message, None
                raise InvalidInputError("calibration", message.removeprefix("calibration: "))
        subscription = driver.subscribe(max_items=100_000)
        watcher = threading.Thread(
            target=self._watch, args=(driver, subscription), name=f"isokin-device-watch {url}", daemon=True
        )
        with self._lock:
            self._driver, self._watcher, self._url = driver, watcher, url
            self._state, self._connected_at = "connected", dt.datetime.now(dt.UTC)
        watcher.start()
        info = driver.info
        log.info("device %s connected: %s %s", url, info.model if info else "?", info.serial_number if info else "?")

    def _close_current(self) -> None:
        with self._lock:
            driver, watcher = self._driver, self._watcher
            self._driver = self._watcher = None
        if driver is not None:
            driver.close()
        if watcher is not None:
            watcher.join(timeout=5.0)

    def _watch(self, driver: Driver, subscription: Subscription) -> None:
        """Follow the link of ``driver`` until its stream ends (watcher thread)."""
        while True:
            item = subscription.get(timeout=1.0)
            if isinstance(item, (Disconnected, Reconnected, StreamEnded)):
                with self._lock:
                    if self._driver is not driver:
                        return
                    if isinstance(item, Disconnected):
                        self._state, self._error = "reconnecting", item.reason
                    elif isinstance(item, Reconnected):
                        self._state, self._error = "connected", None
                    else:
                        self._state, self._error = "lost", item.reason
                        self._driver = None
                if isinstance(item, StreamEnded):
                    driver.unsubscribe(subscription)
                    driver.close()
                    return


class _Held:
    """Releases a lock acquired with a timeout, as a context manager."""

    def __init__(self, lock: threading.Lock) -> None:
        self._lock = lock

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        self._lock.release()
