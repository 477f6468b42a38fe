"""Passive movements: the machine moving a relaxed limb, left out of the sets and listed apart.

A dynamometer also moves the limb without the subject's effort: to its start position, in a
continuous passive motion (CPM) program, and back after each repetition of an eccentric-only
or extension-only program. Those movements are not repetitions: reported as a set they read
as a weak set with a high CV ("extension concentric 30 deg/s x 2, CV 28 %") and raise flags
about effort that was never asked for. A movement is passive when any of these holds:

1. **weak**: its torque level (the group's median torque over the middle half of the
   movement, gravity-corrected when the limb was weighed; not its peak, which may be the
   previous contraction's relaxation or the lever's impact) is under
   ``passive_torque_percent`` (10 %) of the recording's strongest movement's, or under 5 SDs
   of the torque's noise: a relaxed limb weighs little against a maximal effort, and once
   corrected, its gravity is gone (the second bound recognises a weighed recording in which
   every movement is passive);
2. **not at the test's velocity**: the recording says which velocity the test set for each
   direction (its metadata, the trial) and the lever moved more than
   ``set_velocity_tolerance_percent`` (25 %) off it: the machine positioning the limb or
   returning it at its own speed (HUMAC's extension-only test returns at 180 deg/s);
3. **the test's mode says so**: ``passive`` (continuous passive motion) makes every movement
   passive; ``con/passive`` and ``ecc/passive`` (a one-way program: the named group works
   toward its direction, or resists the movement away from it, and the machine brings the
   relaxed limb back) the return;
4. **against the test's mode**: the test's mode says which contraction each direction is
   (con/con: concentric both ways; ecc/ecc: eccentric both ways; con/ecc and ecc/con: the
   named group both ways) and the movement shows the other one, under
   ``passive_mode_percent`` (35 %) of the strongest: a relaxed limb's weight on the lever
   reads as a contraction of whatever group gravity mimics.

The rules that need the test's velocity or mode are skipped when the caller does not know
them, and rule 2 is not applied when it would leave nothing (the metadata's velocity is then
wrong, not every movement passive).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from analysis.repetition import _clean

__all__ = ["PASSIVE_MODES", "PassiveMovement", "passive_reasons"]


@dataclass(frozen=True)
class PassiveMovement:
    """A movement of the relaxed limb: when, which way, how fast, the torque it read and why it is passive.

    ``peak_torque_nm`` is the largest torque magnitude over the movement and ``mean_torque_nm``
    the mean torque (signed as DOMAIN.md section 2: + toward the pattern's first direction),
    gravity-corrected when the recording was.
    """

    movement: str
    start_s: float
    end_s: float
    velocity_dps: float
    peak_torque_nm: float
    mean_torque_nm: float
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {k: _clean(v) for k, v in self.__dict__.items()}


#: Modes in which the machine moves the relaxed limb (rule 3).
PASSIVE_MODES = ("passive", "con/passive", "ecc/passive")


def _expected(mode: str, group: int | None, movement_sign: int) -> int | None:
    """The group sign the test's mode expects for a movement toward ``movement_sign``; ``None`` if unknown, 0 if passive."""
    if mode == "con/con":
        return movement_sign
    if mode == "ecc/ecc":
        return -movement_sign
    if mode in ("con/ecc", "ecc/con"):
        return group
    if mode == "passive":
        return 0
    if mode in ("con/passive", "ecc/passive") and group is not None:
        working = group if mode == "con/passive" else -group  # the direction the group works in
        return group if movement_sign == working else 0
    return None


def passive_reasons(
    peaks_nm: Sequence[float],
    group_signs: Sequence[int],
    movement_signs: Sequence[int],
    plateaus_dps: Sequence[float],
    *,
    passive_torque_percent: float,
    noise_nm: float = 0.0,
    mode: str | None = None,
    group_sign: int | None = None,
    set_velocity_dps: tuple[float, float] | None = None,
    set_velocity_tolerance_percent: float = 25.0,
    passive_mode_percent: float = 35.0,
) -> list[str | None]:
    """Why each movement is passive (the module's rules), or ``None`` for an active one.

    Parameters
    ----------
    peaks_nm
        Each movement's group torque level (N.m, positive; gravity-corrected when known).
    group_signs, movement_signs
        +1 / -1: the sign of each movement's torque (its muscle group) and of its motion.
    plateaus_dps
        Each movement's plateau speed (deg/s).
    passive_torque_percent, noise_nm
        Rule 1's limits: % of the strongest movement, and the SD of the torque's noise (N.m).
    mode, group_sign
        The test's mode (``con/con``...) and, for con/ecc and ecc/con, the acting group's sign;
        ``None`` when unknown.
    set_velocity_dps
        The test's velocity toward + and toward - (deg/s), or ``None`` when unknown.
    set_velocity_tolerance_percent, passive_mode_percent
        Rule 2's and rule 3's limits (%).
    """
    strongest = max(peaks_nm, default=0.0)
    reasons: list[str | None] = []
    for peak, g, sign in zip(peaks_nm, group_signs, movement_signs, strict=True):
        if not peak > 0 or peak < passive_torque_percent / 100 * strongest:
            reasons.append(f"torque {peak:.1f} N.m over its middle half, under {passive_torque_percent:g} % of the "
                           f"strongest movement's {strongest:.1f} N.m")
            continue
        if peak < 5.0 * noise_nm:
            reasons.append(f"torque {peak:.2f} N.m over its middle half, within 5 SDs of the noise ({noise_nm:.2f} N.m)")
            continue
        expected = _expected(mode, group_sign, sign) if mode else None
        if expected == 0:
            reasons.append(f"the machine moves the relaxed limb this way in a {mode} test (torque {peak:.1f} N.m)")
            continue
        if expected is not None and g != expected and peak < passive_mode_percent / 100 * strongest:
            reasons.append(f"{'concentric' if g == sign else 'eccentric'} in a {mode} test, torque {peak:.1f} N.m "
                           f"under {passive_mode_percent:g} % of the strongest: the limb was moved, not working")
            continue
        reasons.append(None)
    if set_velocity_dps is not None:
        by_velocity = []
        for reason, sign, plateau in zip(reasons, movement_signs, plateaus_dps, strict=True):
            target = set_velocity_dps[0] if sign > 0 else set_velocity_dps[1]
            off = target > 0 and abs(plateau - target) > set_velocity_tolerance_percent / 100 * target
            by_velocity.append(reason or (f"moved at {plateau:.0f} deg/s, not the test's {target:g} deg/s: "
                                          "the machine positioning or returning the limb" if off else None))
        if any(r is None for r in by_velocity):
            reasons = by_velocity
    return reasons
