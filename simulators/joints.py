"""Canonical joints, movement patterns and directions, and the simulator's per-pattern defaults.

Names are the project's canonical strings (DOMAIN.md section 2), defined in
:mod:`firmware_protocols.vocabulary` and re-exported here. For a pattern
``"A/B"``, ``position_deg`` increases toward direction ``A`` and a torque > 0 acts
toward ``A``; the default pattern of a joint is the first listed.

Per-pattern defaults used when a protocol leaves them open (the ranges are
:data:`firmware_protocols.vocabulary.DEFAULT_ROM_DEG`, shared with the driver side):

============  ==========================  ==============  ===================
joint         pattern                     range (deg)     first movement
============  ==========================  ==============  ===================
knee          flexion/extension           0 .. 90         extension (seated, starts flexed)
shoulder      external/internal rotation  -45 .. 90       external rotation
shoulder      flexion/extension           0 .. 150        flexion
shoulder      abduction/adduction         0 .. 120        abduction
elbow         flexion/extension           0 .. 130        flexion
wrist         flexion/extension           -60 .. 60       flexion
hip           flexion/extension           0 .. 90         flexion
hip           abduction/adduction         -10 .. 40       abduction
ankle         plantarflexion/dorsiflexion -20 .. 40       plantarflexion
ankle         inversion/eversion          -20 .. 30       inversion
============  ==========================  ==============  ===================

Position 0 is the anatomical reference of DOMAIN.md's table (full extension for
the knee and elbow, arm at the side for the shoulder, neutral for the wrist and
hip, foot at 90 deg to the shank for the ankle). A set starts at the end of the
range opposite its first movement.
"""

from __future__ import annotations

from collections.abc import Mapping

from firmware_protocols.vocabulary import CONTRACTIONS, DEFAULT_ROM_DEG, JOINT_PATTERNS, MODES, PATTERN_DIRECTIONS, SIDES

__all__ = [
    "CONTRACTIONS",
    "DEFAULT_FIRST_MOVEMENT",
    "DEFAULT_ISOMETRIC_ANGLE_DEG",
    "DEFAULT_ROM_DEG",
    "JOINT_PATTERNS",
    "MODES",
    "PASSIVE_MODES",
    "PATTERN_DIRECTIONS",
    "SIDES",
    "SIMULATED_MODES",
    "check_pattern",
    "direction_sign",
    "opposite_direction",
]

#: (joint, pattern) -> direction of the first movement of con/con and ecc/ecc sets.
DEFAULT_FIRST_MOVEMENT: Mapping[tuple[str, str], str] = {
    key: ("extension" if key == ("knee", "flexion/extension") else PATTERN_DIRECTIONS[key[1]][0])
    for key in DEFAULT_ROM_DEG
}


#: (joint, pattern) -> the angle (deg) of an isometric test when a protocol gives none: knee at 60 deg of
#: flexion, shoulder rotation at neutral (0), elbow at 90, the others near the middle of their range.
DEFAULT_ISOMETRIC_ANGLE_DEG: Mapping[tuple[str, str], float] = {
    ("knee", "flexion/extension"): 60.0,
    ("shoulder", "external/internal rotation"): 0.0,
    ("shoulder", "flexion/extension"): 60.0,
    ("shoulder", "abduction/adduction"): 45.0,
    ("elbow", "flexion/extension"): 90.0,
    ("wrist", "flexion/extension"): 0.0,
    ("hip", "flexion/extension"): 45.0,
    ("hip", "abduction/adduction"): 0.0,
    ("ankle", "plantarflexion/dorsiflexion"): 0.0,
    ("ankle", "inversion/eversion"): 0.0,
}

#: Modes in which the machine moves the relaxed limb in one or both directions: ``passive`` (continuous
#: passive motion both ways), ``con/passive`` and ``ecc/passive`` (the protocol's group works one way,
#: concentrically or eccentrically, and the machine brings the relaxed limb back).
PASSIVE_MODES: tuple[str, ...] = ("passive", "con/passive", "ecc/passive")

#: Every mode the simulator runs: the isokinetic modes, ``isometric`` (the lever held still at one
#: angle) and the passive ones.
SIMULATED_MODES: tuple[str, ...] = tuple(dict.fromkeys((*MODES, "isometric", *PASSIVE_MODES)))


def check_pattern(joint: str, pattern: str) -> None:
    """Raise ``ValueError`` unless ``pattern`` is a canonical pattern of ``joint``."""
    if joint not in JOINT_PATTERNS:
        raise ValueError(f"unknown joint {joint!r}; expected one of {', '.join(JOINT_PATTERNS)}")
    if pattern not in JOINT_PATTERNS[joint]:
        raise ValueError(f"unknown pattern {pattern!r} for the {joint}; expected one of {', '.join(JOINT_PATTERNS[joint])}")


def direction_sign(pattern: str, direction: str) -> int:
    """+1 for the pattern's first-named direction, -1 for the second.

    Raises
    ------
    ValueError
        When ``direction`` is not one of the pattern's two directions.
    """
    plus, minus = PATTERN_DIRECTIONS[pattern]
    if direction == plus:
        return 1
    if direction == minus:
        return -1
    raise ValueError(f"direction {direction!r} is not part of {pattern!r}; expected {plus!r} or {minus!r}")


def opposite_direction(pattern: str, direction: str) -> str:
    """The other direction of ``pattern``."""
    plus, minus = PATTERN_DIRECTIONS[pattern]
    return minus if direction_sign(pattern, direction) > 0 else plus
