"""The simulated subject: muscle-group strength and shape per side, limb gravity and inertia.

A :class:`SubjectProfile` holds, for each joint and pattern, a :class:`PatternProfile`
(the limb's gravitational torque and inertia, shared by both sides) with one
:class:`MuscleGroup` per side and per direction (the group acting toward that
direction). Subject-wide traits (activation and relaxation time constants,
rep-to-rep variability, fatigue rate) apply to every group. The physiology behind
each field is in :mod:`simulators.physiology`.

JSON layout (``simulators/profiles/default.json`` is a complete example)::

    {"description": "...", "body_mass_kg": 75, "reference_velocity_dps": 60,
     "activation_time_s": 0.04, "relaxation_time_s": 0.03, "release_lead_s": 0.02,
     "variability_cv": 0.03, "fatigue_per_rep": 0.02,
     "joints": {"knee": {"flexion/extension": {
         "gravity_torque_nm": 24, "horizontal_angle_deg": 0, "limb_inertia_kgm2": 0.65,
         "groups": {"flexion": {"peak_torque_nm": {"left": 105.8, "right": 141}, "optimal_angle_deg": 30, ...},
                    "extension": {...}}}}}}

A group field is either one number (both sides) or ``{"left": x, "right": y}``;
``angle_width_below_deg`` and ``angle_width_above_deg`` are optional (an asymmetric bell,
e.g. ``profiles/end_range_deficit.json``).
Unknown or missing fields, wrong types and out-of-range values raise ``ValueError``
naming the field's path (e.g. ``joints.knee.flexion/extension.groups.flexion.curvature``).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from simulators.joints import JOINT_PATTERNS, PATTERN_DIRECTIONS, SIDES, check_pattern
from simulators.physiology import torque_angle_factor, torque_velocity_factor

__all__ = ["MuscleGroup", "PatternProfile", "SubjectProfile", "default_profile"]


@dataclass(frozen=True)
class MuscleGroup:
    """One muscle group of one side (e.g. the left knee flexors).

    Attributes
    ----------
    peak_torque_nm
        Concentric peak torque (N.m) at the profile's reference velocity, at the
        optimal angle, fresh and fully activated.
    optimal_angle_deg
        Angle of peak torque (deg, pattern convention).
    angle_width_deg
        Width (standard deviation, deg) of the torque-angle bell.
    max_velocity_dps
        Hill's maximal shortening velocity (deg/s).
    curvature
        Hill's curvature a/F0 (dimensionless; smaller = torque falls faster with speed).
    eccentric_ratio
        Eccentric plateau relative to isometric torque (about 1.2-1.4 in vivo).
    angle_width_below_deg, angle_width_above_deg
        Optional: the bell's width (deg) below and above the optimal angle when it differs
        from ``angle_width_deg`` (a group weak toward one end of the range, its peak intact).
    """

    peak_torque_nm: float
    optimal_angle_deg: float
    angle_width_deg: float
    max_velocity_dps: float
    curvature: float
    eccentric_ratio: float
    angle_width_below_deg: float | None = None
    angle_width_above_deg: float | None = None

    def velocity_factor(self, shortening_dps: np.ndarray | float) -> np.ndarray:
        """Torque relative to isometric at a shortening velocity (deg/s, < 0 eccentric)."""
        return torque_velocity_factor(
            shortening_dps,
            max_velocity_dps=self.max_velocity_dps,
            curvature=self.curvature,
            eccentric_ratio=self.eccentric_ratio,
        )

    def isometric_torque_nm(self, reference_velocity_dps: float) -> float:
        """Isometric peak (N.m) implied by ``peak_torque_nm`` at ``reference_velocity_dps``."""
        return self.peak_torque_nm / float(self.velocity_factor(reference_velocity_dps))

    def capacity_nm(
        self, angle_deg: np.ndarray, shortening_dps: np.ndarray, *, reference_velocity_dps: float
    ) -> np.ndarray:
        """Torque magnitude (N.m) at full activation for each angle (deg) and shortening velocity (deg/s)."""
        capacity_nm: np.ndarray = (
            self.isometric_torque_nm(reference_velocity_dps)
            * torque_angle_factor(angle_deg, optimal_angle_deg=self.optimal_angle_deg, width_deg=self.angle_width_deg,
                                  width_below_deg=self.angle_width_below_deg, width_above_deg=self.angle_width_above_deg)
            * self.velocity_factor(shortening_dps)
        )
        return capacity_nm


@dataclass(frozen=True)
class PatternProfile:
    """A joint's pattern for this subject: limb gravity and inertia, and the muscle groups.

    Attributes
    ----------
    gravity_torque_nm
        W: torque (N.m) of limb + lever weight with the segment horizontal; > 0 when
        gravity pulls toward the pattern's + direction (seated knee: toward flexion).
        The gravity torque at a position is ``W cos(position - horizontal_angle_deg)``.
    horizontal_angle_deg
        Position (deg) at which the segment is horizontal.
    limb_inertia_kgm2
        Moment of inertia (kg.m^2) of limb + lever about the joint axis; sets the size
        of the impact artifact when the lever brakes the overshoot.
    groups
        ``side -> direction -> MuscleGroup``.
    """

    gravity_torque_nm: float
    horizontal_angle_deg: float
    limb_inertia_kgm2: float
    groups: Mapping[str, Mapping[str, MuscleGroup]]


_SUBJECT_FIELDS = (
    "body_mass_kg",
    "reference_velocity_dps",
    "activation_time_s",
    "relaxation_time_s",
    "release_lead_s",
    "variability_cv",
    "fatigue_per_rep",
)
_PATTERN_FIELDS = ("gravity_torque_nm", "horizontal_angle_deg", "limb_inertia_kgm2")
#: Group fields a profile may leave out (``None``: the bell is symmetric).
_OPTIONAL_GROUP_FIELDS = ("angle_width_below_deg", "angle_width_above_deg")
_GROUP_FIELDS = tuple(f.name for f in fields(MuscleGroup) if f.name not in _OPTIONAL_GROUP_FIELDS)
#: field -> (lowest allowed, highest allowed, lowest excluded?)
_LIMITS: Mapping[str, tuple[float, float, bool]] = {
    "body_mass_kg": (0.0, 500.0, True),
    "reference_velocity_dps": (0.0, 1000.0, True),
    "activation_time_s": (0.0, 1.0, True),
    "relaxation_time_s": (0.0, 1.0, True),
    "release_lead_s": (0.0, 1.0, False),
    "variability_cv": (0.0, 0.3, False),
    "fatigue_per_rep": (0.0, 0.5, False),
    "gravity_torque_nm": (-500.0, 500.0, False),
    "horizontal_angle_deg": (-360.0, 360.0, False),
    "limb_inertia_kgm2": (0.0, 20.0, False),
    "peak_torque_nm": (0.0, 2000.0, True),
    "optimal_angle_deg": (-360.0, 360.0, False),
    "angle_width_deg": (0.0, 360.0, True),
    "angle_width_below_deg": (0.0, 360.0, True),
    "angle_width_above_deg": (0.0, 360.0, True),
    "max_velocity_dps": (0.0, 10000.0, True),
    "curvature": (0.0, 100.0, True),
    "eccentric_ratio": (0.0, 5.0, True),
}


@dataclass(frozen=True)
class SubjectProfile:
    """A simulated subject (see the module docstring for the JSON layout).

    Attributes
    ----------
    description
        Free text: who this is and what is special about them.
    body_mass_kg
        Body mass, kg.
    reference_velocity_dps
        Velocity (deg/s) at which the groups' ``peak_torque_nm`` are stated.
    activation_time_s
        Time constant (s) of torque rise at movement onset (activation delay).
    relaxation_time_s
        Time constant (s) of torque decay when a group stops acting.
    release_lead_s
        How long (s) before the lever starts decelerating into the range limit the
        subject stops pushing (anticipation of the end of the range).
    variability_cv
        Rep-to-rep coefficient of variation of effort (e.g. 0.03 = 3 %).
    fatigue_per_rep
        Exponential decline of a group's capacity per movement it performs:
        capacity of its n-th movement (0-based) = ``exp(-fatigue_per_rep * n)``.
    joints
        ``joint -> pattern -> PatternProfile``.
    """

    description: str
    body_mass_kg: float
    reference_velocity_dps: float
    activation_time_s: float
    relaxation_time_s: float
    release_lead_s: float
    variability_cv: float
    fatigue_per_rep: float
    joints: Mapping[str, Mapping[str, PatternProfile]]

    def pattern(self, joint: str, pattern: str) -> PatternProfile:
        """The profile of ``joint``/``pattern``; ``ValueError`` if this subject lacks it."""
        check_pattern(joint, pattern)
        try:
            return self.joints[joint][pattern]
        except KeyError:
            raise ValueError(f"the subject profile has no {joint} {pattern}") from None

    def group(self, joint: str, pattern: str, side: str, direction: str) -> MuscleGroup:
        """The group of ``side`` acting toward ``direction``."""
        if side not in SIDES:
            raise ValueError(f"side must be 'left' or 'right', not {side!r}")
        groups = self.pattern(joint, pattern).groups[side]
        if direction not in groups:
            raise ValueError(f"{direction!r} is not a direction of {pattern!r}")
        return groups[direction]

    # ------------------------------------------------------------------ JSON
    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; a group field equal on both sides is written once."""
        out: dict[str, Any] = {"description": self.description}
        out.update({name: getattr(self, name) for name in _SUBJECT_FIELDS})
        joints: dict[str, Any] = {}
        for joint, patterns in self.joints.items():
            joints[joint] = {}
            for pattern, prof in patterns.items():
                groups: dict[str, Any] = {}
                for direction in PATTERN_DIRECTIONS[pattern]:
                    entry: dict[str, Any] = {}
                    for name in _GROUP_FIELDS + _OPTIONAL_GROUP_FIELDS:
                        left = getattr(prof.groups["left"][direction], name)
                        right = getattr(prof.groups["right"][direction], name)
                        if left is None and right is None:
                            continue
                        left = prof.groups["left"][direction].angle_width_deg if left is None else left
                        right = prof.groups["right"][direction].angle_width_deg if right is None else right
                        entry[name] = left if left == right else {"left": left, "right": right}
                    groups[direction] = entry
                joints[joint][pattern] = {name: getattr(prof, name) for name in _PATTERN_FIELDS} | {"groups": groups}
        out["joints"] = joints
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SubjectProfile:
        """Build and validate a profile; ``ValueError`` names the offending field."""
        _check_keys(data, "profile", ("description",) + _SUBJECT_FIELDS + ("joints",))
        if not isinstance(data["description"], str):
            raise ValueError("description: must be text")
        values = {name: _number(data[name], name, name) for name in _SUBJECT_FIELDS}
        joints_in = data["joints"]
        if not isinstance(joints_in, Mapping) or not joints_in:
            raise ValueError("joints: must be a non-empty object of joint -> pattern -> settings")
        joints: dict[str, dict[str, PatternProfile]] = {}
        for joint, patterns in joints_in.items():
            if joint not in JOINT_PATTERNS:
                raise ValueError(f"joints.{joint}: unknown joint; expected one of {', '.join(JOINT_PATTERNS)}")
            if not isinstance(patterns, Mapping):
                raise ValueError(f"joints.{joint}: must be an object of pattern -> settings")
            joints[joint] = {}
            for pattern, prof in patterns.items():
                where = f"joints.{joint}.{pattern}"
                try:
                    check_pattern(joint, pattern)
                except ValueError as err:
                    raise ValueError(f"{where}: {err}") from None
                joints[joint][pattern] = _pattern_from_dict(prof, where, pattern, values["reference_velocity_dps"])
        return cls(description=data["description"], joints=joints, **values)

    def to_json(self, path: str | os.PathLike[str]) -> None:
        """Write the profile as indented JSON to ``path``."""
        Path(path).write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")

    @classmethod
    def from_json(cls, path: str | os.PathLike[str]) -> SubjectProfile:
        """Read a profile from a JSON file; ``ValueError`` names the file and the field."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except json.JSONDecodeError as err:
            raise ValueError(f"{path}: not valid JSON: {err}") from err
        except (OSError, UnicodeDecodeError) as err:
            raise ValueError(f"{path}: cannot read it: {getattr(err, 'strerror', None) or err}") from None
        try:
            return cls.from_dict(data)
        except ValueError as err:
            raise ValueError(f"{path}: {err}") from err


def bundled_profile_names() -> list[str]:
    """The names of the profiles shipped in ``simulators/profiles`` (``default``, ...)."""
    folder = resources.files("simulators").joinpath("profiles")
    return sorted(f.name.removesuffix(".json") for f in folder.iterdir() if f.name.endswith(".json"))


def load_profile(name_or_path: str) -> SubjectProfile:
    """A bundled profile by its name (``end_range_deficit``), or a profile JSON file by its path.

    Raises
    ------
    ValueError
        When the file cannot be read or is not a valid profile, or a bare name is no bundled profile's.
    """
    if "/" not in name_or_path and "\\" not in name_or_path and not name_or_path.endswith(".json"):
        if name_or_path not in bundled_profile_names():
            raise ValueError(f"no bundled profile {name_or_path!r} (bundled: {', '.join(bundled_profile_names())}; "
                             "or give a JSON file's path)")
        text = resources.files("simulators").joinpath("profiles", f"{name_or_path}.json").read_text(encoding="utf-8")
        return SubjectProfile.from_dict(json.loads(text))
    return SubjectProfile.from_json(name_or_path)


def default_profile() -> SubjectProfile:
    """The bundled default subject (``simulators/profiles/default.json``).

    A 75 kg adult, near-symmetric except for weak LEFT hamstrings: left knee flexors
    are 25 % weaker than the right (105.8 vs 141 N.m at 60 deg/s), so the conventional
    H:Q at 60 deg/s is about 0.46 on the left against 0.60 on the right, with a 25 %
    bilateral flexion deficit. Every other group differs between sides by 1-3 %.
    Torques and ratios follow DOMAIN.md section 5: knee H:Q rising with velocity
    (Daneshjoo 2012), ankle DF:PF 0.36 and EV:INV 0.89, shoulder ER:IR 0.7.
    """
    return load_profile("default")


def _check_keys(data: Any, where: str, required: tuple[str, ...], optional: tuple[str, ...] = ()) -> None:
    if not isinstance(data, Mapping):
        raise ValueError(f"{where}: must be an object")
    missing = [k for k in required if k not in data]
    if missing:
        raise ValueError(f"{where}: missing field {missing[0]!r}")
    unknown = [k for k in data if k not in required and k not in optional]
    if unknown:
        raise ValueError(f"{where}: unknown field {unknown[0]!r}")


def _number(value: Any, where: str, kind: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{where}: must be a finite number, got {value!r}")
    low, high, open_low = _LIMITS[kind]
    if value > high or value < low or (open_low and value == low):
        bound = f"> {low:g}" if open_low else f">= {low:g}"
        raise ValueError(f"{where}: must be {bound} and <= {high:g}, got {value!r}")
    return float(value)


def _pattern_from_dict(data: Any, where: str, pattern: str, reference_velocity_dps: float) -> PatternProfile:
    _check_keys(data, where, _PATTERN_FIELDS + ("groups",))
    values = {name: _number(data[name], f"{where}.{name}", name) for name in _PATTERN_FIELDS}
    directions = PATTERN_DIRECTIONS[pattern]
    _check_keys(data["groups"], f"{where}.groups", directions)
    groups: dict[str, dict[str, MuscleGroup]] = {side: {} for side in SIDES}
    for direction in directions:
        gwhere = f"{where}.groups.{direction}"
        entry = data["groups"][direction]
        _check_keys(entry, gwhere, _GROUP_FIELDS, _OPTIONAL_GROUP_FIELDS)
        per_side: dict[str, dict[str, float]] = {side: {} for side in SIDES}
        for name in _GROUP_FIELDS + tuple(k for k in _OPTIONAL_GROUP_FIELDS if k in entry):
            value = entry[name]
            if isinstance(value, Mapping):
                _check_keys(value, f"{gwhere}.{name}", SIDES)
                for side in SIDES:
                    per_side[side][name] = _number(value[side], f"{gwhere}.{name}.{side}", name)
            else:
                for side in SIDES:
                    per_side[side][name] = _number(value, f"{gwhere}.{name}", name)
        for side in SIDES:
            if per_side[side]["max_velocity_dps"] <= reference_velocity_dps:
                raise ValueError(f"{gwhere}.max_velocity_dps: must exceed reference_velocity_dps ({reference_velocity_dps:g})")
            groups[side][direction] = MuscleGroup(**per_side[side])
    return PatternProfile(groups=groups, **values)
