"""What the operator sets for one set, and the movements it implies.

A :class:`SetProtocol` names the joint, pattern, side and mode, the velocity (one, or
one per direction), repetitions per direction, the range of motion, pauses and rests.
:meth:`SetProtocol.movements` lists the movements in time order with the acting group
and contraction of each:

- ``con/con``: each movement by the group of its own direction, concentric;
- ``ecc/ecc``: each movement resisted by the opposite group, eccentric;
- ``con/ecc``: the protocol's ``group`` concentric toward its direction, then eccentric back;
- ``ecc/con``: the same group, eccentric first.

- ``con/passive``: the protocol's ``group`` concentric toward its direction, then the machine
  brings the relaxed limb back (contraction ``"passive"``, no group);
- ``ecc/passive``: the machine moves the limb away from ``group``'s direction while the group
  resists (eccentric), then brings it back relaxed (an eccentric-only program);
- ``passive``: continuous passive motion, every movement passive (no group);
- ``isometric``: the lever held still at ``angle_deg``; each "movement" is a contraction of
  ``contraction_s`` by ``group`` (an endurance set), or by each group in turn when ``group`` is
  ``None``, with ``pause_s`` of rest between contractions (3 s when 0).

con/con, ecc/ecc, passive and isometric start with ``first_movement`` (default: extension for
the knee, seated and starting flexed; the pattern's first-named direction elsewhere,
:data:`simulators.joints.DEFAULT_FIRST_MOVEMENT`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from simulators.joints import (
    DEFAULT_FIRST_MOVEMENT,
    DEFAULT_ISOMETRIC_ANGLE_DEG,
    DEFAULT_ROM_DEG,
    JOINT_PATTERNS,
    PATTERN_DIRECTIONS,
    SIDES,
    SIMULATED_MODES,
    check_pattern,
    direction_sign,
    opposite_direction,
)

__all__ = ["DEFAULT_ISOMETRIC_REST_S", "PlannedMovement", "SetProtocol", "is_positive_number"]

#: Rest (s) between the contractions of an isometric set whose ``pause_s`` is 0.
DEFAULT_ISOMETRIC_REST_S = 3.0


@dataclass(frozen=True)
class PlannedMovement:
    """One movement of a protocol: where the limb goes, who acts and how.

    A passive movement has ``group`` ``""`` (nobody acts); an isometric contraction has
    ``movement`` ``""`` (the lever does not move) and velocity 0.
    """

    movement: str
    group: str
    contraction: Literal["concentric", "eccentric", "isometric", "passive"]
    velocity_dps: float


@dataclass(frozen=True, kw_only=True)
class SetProtocol:
    """What the operator sets on the machine for one set.

    Attributes
    ----------
    joint, pattern, side, mode
        Canonical names; ``pattern=None`` takes the joint's default pattern.
    velocity_dps
        Set velocity, deg/s, positive: one value, or ``(plus_dps, minus_dps)`` for
        movements toward the pattern's + and - directions.
    repetitions
        Repetitions per direction (con/con x 5 = 10 movements).
    rom_deg
        ``(min_deg, max_deg)``; ``None`` takes the pattern's default
        (:data:`simulators.joints.DEFAULT_ROM_DEG`, knee (0, 90)). Resolved on creation.
    group
        con/ecc and ecc/con only: direction name of the acting group.
    first_movement
        con/con and ecc/ecc only: direction of the first movement (``None`` = default).
    pause_s
        Pause at each end of the range between movements, s (isometric: rest between
        contractions, :data:`DEFAULT_ISOMETRIC_REST_S` when 0).
    rest_before_s, rest_after_s
        Rest before the first and after the last movement, s; the lever starts at the
        end of the range opposite the first movement.
    angle_deg
        isometric only: the angle (deg) the lever holds; ``None`` takes the pattern's default
        (:data:`simulators.joints.DEFAULT_ISOMETRIC_ANGLE_DEG`, knee 60). Resolved on creation.
    contraction_s
        isometric only: how long each contraction's effort lasts, s.
    """

    joint: str
    pattern: str | None = None
    side: str
    mode: str = "con/con"
    velocity_dps: float | tuple[float, float] = 60.0
    repetitions: int = 5
    rom_deg: tuple[float, float] | None = None
    group: str | None = None
    first_movement: str | None = None
    pause_s: float = 0.0
    rest_before_s: float = 1.0
    rest_after_s: float = 0.5
    angle_deg: float | None = None
    contraction_s: float = 3.0

    def __post_init__(self) -> None:
        if self.joint not in JOINT_PATTERNS:
            raise ValueError(f"unknown joint {self.joint!r}; expected one of {', '.join(JOINT_PATTERNS)}")
        pattern = self.pattern if self.pattern is not None else JOINT_PATTERNS[self.joint][0]
        check_pattern(self.joint, pattern)
        object.__setattr__(self, "pattern", pattern)
        if self.side not in SIDES:
            raise ValueError(f"side must be 'left' or 'right', not {self.side!r}")
        if self.mode not in SIMULATED_MODES:
            raise ValueError(f"mode must be one of {', '.join(SIMULATED_MODES)}, not {self.mode!r}")
        speeds = self.velocity_dps if isinstance(self.velocity_dps, tuple) else (self.velocity_dps,)
        if len(speeds) not in (1, 2) or not all(is_positive_number(v) for v in speeds):
            raise ValueError(f"velocity_dps must be a positive number or two of them, got {self.velocity_dps!r}")
        if isinstance(self.repetitions, bool) or not isinstance(self.repetitions, int) or self.repetitions < 1:
            raise ValueError(f"repetitions must be a whole number >= 1, got {self.repetitions!r}")
        rom = self.rom_deg if self.rom_deg is not None else DEFAULT_ROM_DEG[(self.joint, pattern)]
        if len(rom) != 2 or not all(math.isfinite(r) for r in rom) or not rom[0] < rom[1]:
            raise ValueError(f"rom_deg must be (min_deg, max_deg) with min < max, got {self.rom_deg!r}")
        object.__setattr__(self, "rom_deg", (float(rom[0]), float(rom[1])))
        one_group = self.mode in ("con/ecc", "ecc/con", "con/passive", "ecc/passive")
        if one_group and self.group is None:
            raise ValueError(f"mode {self.mode} needs group, the acting group's direction (one of {' or '.join(PATTERN_DIRECTIONS[pattern])})")
        if not one_group and self.mode != "isometric" and self.group is not None:
            raise ValueError(f"group is only used by con/ecc, ecc/con, the one-way passive modes and isometric, not {self.mode}")
        if self.group is not None and self.first_movement is not None:
            raise ValueError(f"first_movement is set by group in {self.mode}; leave it None")
        for name in ("group", "first_movement"):
            if getattr(self, name) is not None:
                direction_sign(pattern, getattr(self, name))
        for name in ("pause_s", "rest_before_s", "rest_after_s"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be a number >= 0, got {value!r}")
        if not is_positive_number(self.contraction_s):
            raise ValueError(f"contraction_s must be a number > 0, got {self.contraction_s!r}")
        if self.mode == "isometric":
            angle = self.angle_deg if self.angle_deg is not None else DEFAULT_ISOMETRIC_ANGLE_DEG[(self.joint, pattern)]
            if not (math.isfinite(angle) and rom[0] <= angle <= rom[1]):
                raise ValueError(f"angle_deg must lie within the range ({rom[0]:g}, {rom[1]:g}), got {angle!r}")
            object.__setattr__(self, "angle_deg", float(angle))
        elif self.angle_deg is not None:
            raise ValueError(f"angle_deg is only used by isometric sets, not {self.mode}")

    def velocity_toward(self, direction: str) -> float:
        """Set velocity (deg/s) of movements toward ``direction``."""
        if isinstance(self.velocity_dps, tuple):
            plus, minus = self.velocity_dps
            return float(plus if direction_sign(str(self.pattern), direction) > 0 else minus)
        return float(self.velocity_dps)

    def movements(self) -> tuple[PlannedMovement, ...]:
        """The set's movements (an isometric set's contractions) in time order."""
        pattern = str(self.pattern)
        if self.mode == "isometric":
            return self._contractions()
        if self.group is not None:
            first = self.group if self.mode in ("con/ecc", "con/passive") else opposite_direction(pattern, self.group)
        else:
            first = self.first_movement or DEFAULT_FIRST_MOVEMENT[(self.joint, pattern)]
        planned = []
        for k in range(2 * self.repetitions):
            move = first if k % 2 == 0 else opposite_direction(pattern, first)
            if self.mode == "con/con":
                group = move
            elif self.mode == "ecc/ecc":
                group = opposite_direction(pattern, move)
            elif self.mode == "passive" or (self.mode in ("con/passive", "ecc/passive") and k % 2 == 1):
                planned.append(PlannedMovement(move, "", "passive", self.velocity_toward(move)))
                continue
            else:
                group = str(self.group)
            contraction: Literal["concentric", "eccentric"] = "concentric" if group == move else "eccentric"
            planned.append(PlannedMovement(move, group, contraction, self.velocity_toward(move)))
        return tuple(planned)

    def _contractions(self) -> tuple[PlannedMovement, ...]:
        """An isometric set: ``repetitions`` contractions of ``group``, or of each group in turn."""
        pattern = str(self.pattern)
        if self.group is not None:
            return tuple(PlannedMovement("", str(self.group), "isometric", 0.0) for _ in range(self.repetitions))
        first = self.first_movement or DEFAULT_FIRST_MOVEMENT[(self.joint, pattern)]
        order = (first, opposite_direction(pattern, first))
        return tuple(PlannedMovement("", order[k % 2], "isometric", 0.0) for k in range(2 * self.repetitions))


def is_positive_number(value: object) -> bool:
    """True for a finite int or float > 0 (not a bool)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value > 0
