"""What one recording asks of the device: a set (or just sampling), as one frozen value every driver accepts.

A :class:`SetPlan` says how fast to sample and, when ``drive`` is set, the set the device
must run on the machine: mode, the acting group of con/ecc and ecc/con, the velocity
toward each direction, the range of motion and the repetitions. Every driver takes it
through :meth:`daq.driver.Driver.configure`: the binary driver turns it into CONFIGURE
(through the one mode table, :data:`firmware_protocols.vocabulary.MODE_CODES`); a board
that only samples (an ASCII board, a binary board without the ``drives machine``
capability) sets its rate and refuses a plan that asks it to drive.

A plan that does not drive still describes the set (joint, pattern, mode, velocities,
repetitions): the set is then run from the dynamometer's own console, and the recording
loop ends it by counting movements (:class:`daq.movements.MovementCounter`).

Example
-------
>>> plan = SetPlan.for_set("knee", "con/con", velocity_dps=60, repetitions=5, drive=True)
>>> plan.pattern, plan.rom_min_deg, plan.rom_max_deg, plan.movements
('flexion/extension', 0.0, 90.0, 10)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from firmware_protocols import Configure
from firmware_protocols.vocabulary import DEFAULT_ROM_DEG, JOINT_PATTERNS, MODE_CODES, PATTERN_DIRECTIONS

__all__ = ["SetPlan"]

#: Modes in which both directions are moved actively (the ones with an acting group: con/ecc, ecc/con).
_ONE_GROUP_MODES = ("con/ecc", "ecc/con")


@dataclass(frozen=True)
class SetPlan:
    """One set on one joint, or plain sampling.

    Attributes
    ----------
    sample_rate_hz
        Sample rate, Hz.
    samples_per_frame
        DATA batch size (binary protocol; 0 lets the device choose).
    drive
        Whether the device itself moves the machine through the set (``False``: it only samples).
    joint, pattern
        Canonical names (``None`` for plain sampling of an unnamed joint).
    mode
        ``con/con``, ``con/ecc``, ``ecc/con``, ``ecc/ecc``, ``isometric``, ``passive`` (the machine
        moves or holds the relaxed limb), or ``None`` for plain sampling.
    group
        For con/ecc and ecc/con, the direction whose group acts (e.g. ``extension``), else ``None``.
    velocity_plus_dps, velocity_minus_dps
        Velocity toward the pattern's first- and second-named direction, deg/s (0 when not driving).
    rom_min_deg, rom_max_deg
        Range of motion, deg (both equal: hold the lever there).
    repetitions
        Movements per direction (0: until stopped).
    """

    sample_rate_hz: int = 1000
    samples_per_frame: int = 0
    drive: bool = False
    joint: str | None = None
    pattern: str | None = None
    mode: str | None = None
    group: str | None = None
    velocity_plus_dps: float = 0.0
    velocity_minus_dps: float = 0.0
    rom_min_deg: float = 0.0
    rom_max_deg: float = 0.0
    repetitions: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.sample_rate_hz, int) or self.sample_rate_hz <= 0:
            raise ValueError(f"sample_rate_hz must be a positive integer, got {self.sample_rate_hz!r}")
        if self.mode is not None and self.mode not in MODE_CODES:
            raise ValueError(f"mode must be one of {', '.join(MODE_CODES)}, not {self.mode!r}")
        if self.drive and self.mode is None:
            raise ValueError("a plan that drives the machine needs a mode")
        if self.pattern is not None and self.pattern not in PATTERN_DIRECTIONS:
            raise ValueError(f"unknown pattern {self.pattern!r}")
        if self.mode in _ONE_GROUP_MODES:
            if self.pattern is None or self.group not in PATTERN_DIRECTIONS[self.pattern]:
                directions = ", ".join(PATTERN_DIRECTIONS[self.pattern]) if self.pattern else "a pattern's direction"
                raise ValueError(f"mode {self.mode} needs the acting group: one of {directions}")
        for name in ("velocity_plus_dps", "velocity_minus_dps", "rom_min_deg", "rom_max_deg"):
            if not math.isfinite(getattr(self, name)):
                raise ValueError(f"{name} must be finite, got {getattr(self, name)!r}")
        if self.rom_min_deg > self.rom_max_deg:
            raise ValueError(f"range of motion {self.rom_min_deg:g}..{self.rom_max_deg:g} deg: the minimum exceeds the maximum")
        if self.repetitions < 0:
            raise ValueError(f"repetitions must not be negative, got {self.repetitions}")

    @classmethod
    def for_set(
        cls,
        joint: str,
        mode: str,
        *,
        pattern: str | None = None,
        group: str | None = None,
        velocity_dps: float = 60.0,
        velocity_minus_dps: float | None = None,
        rom_deg: tuple[float, float] | None = None,
        repetitions: int = 5,
        sample_rate_hz: int = 1000,
        samples_per_frame: int = 0,
        drive: bool = True,
    ) -> SetPlan:
        """A set on ``joint``: the joint's first pattern and usual range of motion unless given.

        ``velocity_dps`` is the velocity toward the pattern's first-named direction (deg/s),
        ``velocity_minus_dps`` toward the other (default: the same).
        """
        if joint not in JOINT_PATTERNS:
            raise ValueError(f"unknown joint {joint!r}; expected one of {', '.join(JOINT_PATTERNS)}")
        pattern = pattern or JOINT_PATTERNS[joint][0]
        if pattern not in JOINT_PATTERNS[joint]:
            raise ValueError(f"pattern {pattern!r} is not one of the {joint}'s: {', '.join(JOINT_PATTERNS[joint])}")
        lo, hi = rom_deg if rom_deg is not None else DEFAULT_ROM_DEG[(joint, pattern)]
        return cls(
            sample_rate_hz=sample_rate_hz,
            samples_per_frame=samples_per_frame,
            drive=drive,
            joint=joint,
            pattern=pattern,
            mode=mode,
            group=group if mode in _ONE_GROUP_MODES else None,
            velocity_plus_dps=float(velocity_dps),
            velocity_minus_dps=float(velocity_dps if velocity_minus_dps is None else velocity_minus_dps),
            rom_min_deg=float(lo),
            rom_max_deg=float(hi),
            repetitions=repetitions,
        )

    @classmethod
    def hold(cls, angle_deg: float, *, sample_rate_hz: int = 1000) -> SetPlan:
        """Move the relaxed limb to ``angle_deg`` (deg) and hold it there (PASSIVE mode), sampling: limb weighing."""
        return cls(sample_rate_hz=sample_rate_hz, drive=True, mode="passive", rom_min_deg=angle_deg, rom_max_deg=angle_deg)

    def sampling_only(self) -> SetPlan:
        """The same plan for a device that only samples (the set is run from the machine's console)."""
        return replace(self, drive=False)

    @property
    def movements(self) -> int:
        """Movements in the set: ``repetitions`` each way (0 when open-ended)."""
        return 2 * self.repetitions

    @property
    def slower_velocity_dps(self) -> float:
        """The slower of the two directions' velocities, deg/s (for counting movements)."""
        return min(self.velocity_plus_dps, self.velocity_minus_dps)

    def configure_message(self) -> Configure:
        """CONFIGURE for the binary protocol: the whole set when driving, the rate alone otherwise."""
        if not self.drive or self.mode is None:
            return Configure(self.sample_rate_hz, self.samples_per_frame)
        acting = 0
        if self.pattern is not None and (self.mode in _ONE_GROUP_MODES or (self.mode == "isometric" and self.group)):
            acting = 1 if self.group == PATTERN_DIRECTIONS[self.pattern][0] else -1  # isometric: one group's endurance set
        return Configure(
            self.sample_rate_hz,
            self.samples_per_frame,
            MODE_CODES[self.mode],
            acting,
            self.velocity_plus_dps if self.mode not in ("passive", "isometric") else 0.0,
            self.velocity_minus_dps if self.mode not in ("passive", "isometric") else 0.0,
            self.rom_min_deg,
            self.rom_max_deg,
            self.repetitions,
        )

    def describe_drive(self) -> str:
        """What driving this plan means, for error messages (``"a con/con set"``, ``"a passive hold"``)."""
        if self.mode == "passive":
            return "a passive hold (limb weighing)"
        return f"a {self.mode} set" if self.mode else "a set"


