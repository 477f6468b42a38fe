"""The canonical names every part of the system uses for joints, patterns, directions and modes.

They appear on the wire's edges (the recording CSV's ``joint:``/``pattern:`` metadata, the
simulator's options, the service's JSON), so they live here, in the one package both the
driver side (``daq``) and the simulator may import. ``analysis`` keeps its own copy
(``analysis/joints.py``) because it depends on numpy/scipy alone; a test holds the two equal.

For a pattern ``"A/B"``, ``position_deg`` increases toward direction ``A`` and a torque > 0
acts toward ``A`` (DOMAIN.md section 2); a joint's first pattern is its default.
"""

from __future__ import annotations

from collections.abc import Mapping

from firmware_protocols.messages import Mode

__all__ = ["CONTRACTIONS", "DEFAULT_ROM_DEG", "JOINT_PATTERNS", "MODES", "MODE_CODES", "PATTERN_DIRECTIONS", "SIDES"]

#: joint -> its patterns, default first.
JOINT_PATTERNS: Mapping[str, tuple[str, ...]] = {
    "knee": ("flexion/extension",),
    "shoulder": ("external/internal rotation", "flexion/extension", "abduction/adduction"),
    "elbow": ("flexion/extension",),
    "wrist": ("flexion/extension",),
    "hip": ("flexion/extension", "abduction/adduction"),
    "ankle": ("plantarflexion/dorsiflexion", "inversion/eversion"),
}

#: pattern -> (+ direction, - direction).
PATTERN_DIRECTIONS: Mapping[str, tuple[str, str]] = {
    "flexion/extension": ("flexion", "extension"),
    "external/internal rotation": ("external rotation", "internal rotation"),
    "abduction/adduction": ("abduction", "adduction"),
    "plantarflexion/dorsiflexion": ("plantarflexion", "dorsiflexion"),
    "inversion/eversion": ("inversion", "eversion"),
}

SIDES: tuple[str, str] = ("left", "right")
MODES: tuple[str, ...] = ("con/con", "ecc/ecc", "con/ecc", "ecc/con")
#: The one mode table: canonical mode name -> CONFIGURE's ``mode`` (``passive``: the machine moves or holds the relaxed limb).
MODE_CODES: Mapping[str, Mode] = {
    "con/con": Mode.CON_CON,
    "con/ecc": Mode.CON_ECC,
    "ecc/con": Mode.ECC_CON,
    "ecc/ecc": Mode.ECC_ECC,
    "isometric": Mode.ISOMETRIC,
    "passive": Mode.PASSIVE,
}

#: (joint, pattern) -> (min_deg, max_deg): the usual range of motion, used when a set gives none.
#: Position 0 is DOMAIN.md's anatomical reference (full extension for the knee and elbow, arm at
#: the side for the shoulder, neutral for the wrist and hip, foot at 90 deg to the shank).
DEFAULT_ROM_DEG: Mapping[tuple[str, str], tuple[float, float]] = {
    ("knee", "flexion/extension"): (0.0, 90.0),
    ("shoulder", "external/internal rotation"): (-45.0, 90.0),
    ("shoulder", "flexion/extension"): (0.0, 150.0),
    ("shoulder", "abduction/adduction"): (0.0, 120.0),
    ("elbow", "flexion/extension"): (0.0, 130.0),
    ("wrist", "flexion/extension"): (-60.0, 60.0),
    ("hip", "flexion/extension"): (0.0, 90.0),
    ("hip", "abduction/adduction"): (-10.0, 40.0),
    ("ankle", "plantarflexion/dorsiflexion"): (-20.0, 40.0),
    ("ankle", "inversion/eversion"): (-20.0, 30.0),
}
CONTRACTIONS: tuple[str, str] = ("concentric", "eccentric")
