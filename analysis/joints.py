"""Joints, movement patterns, direction names and the conventional ratio of each pattern.

The strings are the project's canonical names (DOMAIN.md section 2). ``position_deg``
increases toward a pattern's first-named direction and positive torque acts toward it.
"""

from __future__ import annotations

from collections.abc import Mapping

from analysis.errors import UnknownJointError

__all__ = [
    "CONVENTIONAL_RATIO",
    "JOINT_PATTERNS",
    "MODES",
    "PATTERN_ALIASES",
    "PATTERN_DIRECTIONS",
    "RATIO_LABELS",
    "SMALL_MUSCLE_JOINTS",
    "direction_of",
    "ratio_label",
    "resolve_pattern",
]

#: joint -> its patterns; the first one is the joint's default pattern.
JOINT_PATTERNS: Mapping[str, tuple[str, ...]] = {
    "knee": ("flexion/extension",),
    "shoulder": ("external/internal rotation", "flexion/extension", "abduction/adduction"),
    "elbow": ("flexion/extension",),
    "wrist": ("flexion/extension",),
    "hip": ("flexion/extension", "abduction/adduction"),
    "ankle": ("plantarflexion/dorsiflexion", "inversion/eversion"),
}

#: The isokinetic test modes (DOMAIN.md section 2); the analysis also knows ``isometric`` and the
#: passive modes of :mod:`analysis.passive`.
MODES: tuple[str, ...] = ("con/con", "ecc/ecc", "con/ecc", "ecc/con")

#: pattern -> (+ direction, - direction).
PATTERN_DIRECTIONS: Mapping[str, tuple[str, str]] = {
    "flexion/extension": ("flexion", "extension"),
    "external/internal rotation": ("external rotation", "internal rotation"),
    "abduction/adduction": ("abduction", "adduction"),
    "plantarflexion/dorsiflexion": ("plantarflexion", "dorsiflexion"),
    "inversion/eversion": ("inversion", "eversion"),
}

#: pattern -> (numerator direction, denominator direction) of the conventional ratio.
CONVENTIONAL_RATIO: Mapping[str, tuple[str, str]] = {
    "flexion/extension": ("flexion", "extension"),
    "external/internal rotation": ("external rotation", "internal rotation"),
    "abduction/adduction": ("abduction", "adduction"),
    "plantarflexion/dorsiflexion": ("dorsiflexion", "plantarflexion"),
    "inversion/eversion": ("eversion", "inversion"),
}

#: Other spellings accepted for a pattern (vendor importers may write the rotation pattern in full).
PATTERN_ALIASES: Mapping[str, str] = {"external rotation/internal rotation": "external/internal rotation"}

#: (joint, pattern) -> the ratio's usual label; patterns absent here use RATIO_LABELS[pattern].
_JOINT_RATIO_LABELS: Mapping[tuple[str, str], str] = {("knee", "flexion/extension"): "H:Q"}
RATIO_LABELS: Mapping[str, str] = {
    "flexion/extension": "flex:ext",
    "external/internal rotation": "ER:IR",
    "abduction/adduction": "abd:add",
    "plantarflexion/dorsiflexion": "DF:PF",
    "inversion/eversion": "EV:INV",
}

#: Joints moved by small muscle groups (CV limit 20 % instead of 15 %, TUR Isoforce manual).
SMALL_MUSCLE_JOINTS = frozenset({"elbow", "wrist", "ankle"})


def resolve_pattern(joint: str, pattern: str | None = None) -> tuple[str, str]:
    """Validate a joint and pattern, defaulting the pattern to the joint's first one.

    Spellings in :data:`PATTERN_ALIASES` are turned into the canonical pattern.

    Raises
    ------
    UnknownJointError
        When the joint is not in :data:`JOINT_PATTERNS` or the pattern is not one of its patterns.
    """
    key = joint.strip().lower()
    if key not in JOINT_PATTERNS:
        raise UnknownJointError(f"unknown joint {joint!r} (known: {', '.join(JOINT_PATTERNS)})")
    patterns = JOINT_PATTERNS[key]
    if pattern is None or not pattern.strip():
        return key, patterns[0]
    pat = pattern.strip().lower()
    pat = PATTERN_ALIASES.get(pat, pat)
    if pat not in patterns:
        raise UnknownJointError(f"unknown pattern {pattern!r} for the {key} (known: {', '.join(patterns)})")
    return key, pat


def direction_of(pattern: str, sign: int) -> str:
    """The direction a positive (``sign > 0``) or negative torque or movement acts toward."""
    plus, minus = PATTERN_DIRECTIONS[pattern]
    return plus if sign > 0 else minus


def ratio_label(joint: str, pattern: str) -> str:
    """The usual name of a pattern's conventional ratio (e.g. ``"H:Q"`` for the knee)."""
    return _JOINT_RATIO_LABELS.get((joint, pattern), RATIO_LABELS[pattern])
