"""A simulated device running on an endpoint: settings, the pacing thread, and the ground-truth exports.

Both ``isokin sim`` and the in-process ``sim://`` URL build a :class:`SimSession` from
:class:`SimSettings` (whose fields mirror the command-line flags and URL options).
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

from simulators.device import DEFAULT_SAMPLE_RATE_HZ, SimulatedDevice
from simulators.emitted import EmittedLog, build_emitted_log, save_emitted
from simulators.faults import FaultConfig
from simulators.pacing import DeviceRunner
from simulators.profile import load_profile
from simulators.transports import Endpoint
from simulators.truth import SetTruth

__all__ = ["SimSession", "SimSettings"]


@dataclass(frozen=True)
class SimSettings:
    """How to run the simulated device.

    Attributes
    ----------
    protocol
        ``"binary"`` or ``"ascii"``.
    sample_rate_hz
        Rate until the host configures another, Hz.
    profile_path
        Subject profile JSON (``None``: the default profile).
    speed
        Time-scale factor (10 = ten times faster than real time).
    seed
        Seed of the subject's variability and noise (and the board's serial ``SIM-<seed>``).
    joint, side
        Simulated joint (its default pattern) and side.
    ascii_counter
        ASCII lines carry the sample counter.
    faults
        Faults to inject.
    keep_emitted
        Keep every emitted sample for the emitted-stream log.
    """

    protocol: str = "binary"
    sample_rate_hz: int = DEFAULT_SAMPLE_RATE_HZ
    profile_path: str | None = None
    speed: float = 1.0
    seed: int = 0
    joint: str = "knee"
    side: str = "left"
    ascii_counter: bool = True
    faults: FaultConfig = field(default_factory=FaultConfig)
    keep_emitted: bool = True

    def __post_init__(self) -> None:
        if not self.speed > 0:
            raise ValueError(f"speed must be > 0, got {self.speed!r}")


class SimSession:
    """A device, its pacing loop on ``endpoint``, and what it emitted.

    Raises
    ------
    ValueError
        On bad settings (rate, joint, side, protocol) or a bad profile file.
    OSError
        When the profile file cannot be read.
    """

    def __init__(self, settings: SimSettings, endpoint: Endpoint) -> None:
        profile = None
        if settings.profile_path is not None:
            try:
                profile = load_profile(settings.profile_path)
            except ValueError as err:
                raise ValueError(f"profile: {err}") from err
        self.settings = settings
        self.endpoint = endpoint
        self.device = SimulatedDevice(
            profile,
            protocol=settings.protocol,
            joint=settings.joint,
            side=settings.side,
            sample_rate_hz=settings.sample_rate_hz,
            seed=settings.seed,
            ascii_counter=settings.ascii_counter,
            keep_emitted=settings.keep_emitted,
        )
        self.runner = DeviceRunner(self.device, endpoint, speed=settings.speed, faults=settings.faults)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return self.endpoint.url

    def start(self) -> None:
        """Run the pacing loop in a daemon thread."""
        self._thread = threading.Thread(target=self.runner.run, name=f"isokin-sim {self.url}", daemon=True)
        self._thread.start()

    def run(self, *, duration_s: float | None = None) -> None:
        """Run the pacing loop in this thread until stopped (or for ``duration_s`` real seconds)."""
        self.runner.run(duration_s=duration_s)

    def stop(self, *, timeout_s: float = 5.0) -> None:
        """Stop the loop and wait for its thread (if any)."""
        self.runner.stop()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout_s)

    @property
    def running(self) -> bool:
        return not self.runner.stopped

    def emitted_log(self) -> EmittedLog:
        """Every sample emitted so far with its delivery flag, and the lost frames."""
        with self.runner.lock:
            return build_emitted_log(self.device.emitted(), self.runner.fault_log)

    def truth(self) -> SetTruth:
        """Repetition ground truth of the latest run (times from its sample 0)."""
        with self.runner.lock:
            return self.device.truth()

    def write_outputs(
        self,
        *,
        emitted_path: str | os.PathLike[str] | None = None,
        truth_path: str | os.PathLike[str] | None = None,
    ) -> None:
        """Write the emitted-stream log and/or the truth JSON (skipped when nothing streamed)."""
        if emitted_path is not None:
            save_emitted(emitted_path, self.emitted_log())
        if truth_path is not None and self.device.runs:
            Path(truth_path).write_text(self.truth().to_json(), encoding="utf-8")
