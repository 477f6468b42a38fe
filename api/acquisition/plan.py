"""What a trial asks of the device: the CONFIGURE of a driving device, or how to count a sampling board's set."""

from __future__ import annotations

from dataclasses import dataclass

from analysis.joints import PATTERN_DIRECTIONS
from api.storage.models import Trial
from daq.driver import DeviceInfo
from firmware_protocols import Configure, Mode

__all__ = ["MODES", "TrialPlan"]

#: Canonical mode name -> the protocol's test mode.
MODES: dict[str, Mode] = {"con/con": Mode.CON_CON, "con/ecc": Mode.CON_ECC, "ecc/con": Mode.ECC_CON, "ecc/ecc": Mode.ECC_ECC}


@dataclass(frozen=True)
class TrialPlan:
    """One set on one side, as the device needs it.

    Attributes
    ----------
    trial_id
        The trial recorded.
    joint, pattern, side, mode, group
        Canonical names (``group``: the acting direction of con/ecc and ecc/con, else ``None``).
    velocity_plus_dps, velocity_minus_dps
        Velocity toward the pattern's first- and second-named direction, deg/s.
    repetitions
        Movements per direction.
    rom_min_deg, rom_max_deg
        Range of motion, deg.
    sample_rate_hz
        Sample rate, Hz.
    """

    trial_id: int
    joint: str
    pattern: str
    side: str
    mode: str
    group: str | None
    velocity_plus_dps: float
    velocity_minus_dps: float
    repetitions: int
    rom_min_deg: float
    rom_max_deg: float
    sample_rate_hz: int

    @classmethod
    def of(cls, trial: Trial, *, rom_deg: tuple[float, float]) -> TrialPlan:
        """The plan of a stored trial; ``rom_deg`` (deg) stands in for a range it leaves open."""
        return cls(
            trial_id=trial.id,
            joint=trial.joint,
            pattern=trial.pattern,
            side=trial.side,
            mode=trial.mode,
            group=trial.group,
            velocity_plus_dps=trial.velocity_plus_dps,
            velocity_minus_dps=trial.velocity_minus_dps,
            repetitions=trial.repetitions,
            rom_min_deg=rom_deg[0] if trial.rom_min_deg is None else trial.rom_min_deg,
            rom_max_deg=rom_deg[1] if trial.rom_max_deg is None else trial.rom_max_deg,
            sample_rate_hz=round(trial.sample_rate_hz or 1000),
        )

    @property
    def movements(self) -> int:
        """Movements in the set: ``repetitions`` each way."""
        return 2 * self.repetitions

    def configure(self, info: DeviceInfo | None) -> Configure:
        """The CONFIGURE for a binary device: the whole set for a driving one, the rate alone otherwise."""
        if info is None or not info.drives_machine:
            return Configure(self.sample_rate_hz)
        acting = 0
        if self.group is not None:
            acting = 1 if self.group == PATTERN_DIRECTIONS[self.pattern][0] else -1
        return Configure(
            self.sample_rate_hz,
            0,
            MODES[self.mode],
            acting,
            self.velocity_plus_dps,
            self.velocity_minus_dps,
            self.rom_min_deg,
            self.rom_max_deg,
            self.repetitions,
        )
