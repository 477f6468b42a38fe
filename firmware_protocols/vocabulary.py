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

__all__ = ["CONTRACTIONS", "JOINT_PATTERNS", "MODES", "PATTERN_DIRECTIONS", "SIDES"]

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
CONTRACTIONS: tuple[str, str] = ("concentric", "eccentric")
