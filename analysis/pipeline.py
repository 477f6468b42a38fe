"""The top-level entry: :func:`analyze_recording` turns samples into sets of repetitions.

Steps, each a separately usable function of this package:

1. gravity correction (:func:`analysis.conditioning.gravity_correct`) when a limb torque is given;
2. zero-lag low-pass filter (:func:`analysis.conditioning.lowpass`) of the velocity, and of the
   torque movement by movement, and load range by load range for the windowed figures (so
   the torque outside, e.g. the eccentric torque before a turnaround or the impact artifact,
   does not leak into them), at a cut-off chosen per set from its velocity, peak torque
   and noise (:mod:`analysis.cutoff`);
3. movements from the device's markers when present (:func:`analysis.segmentation.movements_from_markers`),
   else from velocity direction changes (:func:`analysis.segmentation.find_movements`);
4. the plateau velocity of each movement, grouped per direction into nominal set velocities;
5. the muscle group from the torque's sign over the load range, the contraction from
   the sign of torque x velocity; passive movements (the machine moving a relaxed limb,
   :mod:`analysis.passive`) are left out and listed apart;
6. per-repetition figures over the isokinetic load range (:mod:`analysis.repetition`)
   and per-set figures (:mod:`analysis.sets`), repetitions covering less than the set's
   usual range marked partial (:mod:`analysis.movement_sets`).

A recording whose lever stays still (or whose test says isometric) is an isometric test: its
contractions are found and measured instead (:mod:`analysis.isometric`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from analysis.conditioning import gravity_correct, lowpass, lowpass_segments, sample_period_of, velocity_agreement
from analysis.errors import NoRepetitionsError
from analysis.inertia import default_inertia_kgm2
from analysis.isometric import is_isometric
from analysis.isometric_sets import isometric_sets
from analysis.joints import PATTERN_DIRECTIONS, resolve_pattern
from analysis.movement_sets import AngleCurve, SetAnalysis, measure_sets
from analysis.options import AnalysisOptions
from analysis.passive import PassiveMovement
from analysis.segmentation import Gap, find_gaps, find_movements, movements_from_markers, segments_between

__all__ = ["AnalysisOptions", "AngleCurve", "RecordingAnalysis", "RecordingWarning", "SetAnalysis", "analyze_recording"]


@dataclass(frozen=True)
class RecordingWarning:
    """A data-quality finding about a whole recording: ``rule`` (a flag name) and ``message``."""

    rule: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"rule": self.rule, "message": self.message}


@dataclass(frozen=True, eq=False)
class RecordingAnalysis:
    """The sets found in one recording, with what was assumed to find them.

    ``segmentation`` is ``"markers"``, ``"velocity"`` or ``"isometric"``; ``gravity_corrected``
    tells whether a limb torque was subtracted; ``sets`` are in the order their first
    repetition occurs; ``passive`` lists the movements of the relaxed limb left out of them;
    ``subject`` and ``session`` say who and when, for pairing (``None`` when unknown).
    """

    source: str
    joint: str
    pattern: str
    side: str | None
    body_mass_kg: float | None
    gravity_torque_nm: float | None
    horizontal_angle_deg: float | None
    sample_rate_hz: float
    segmentation: str
    sets: tuple[SetAnalysis, ...] = field(default_factory=tuple)
    gaps: tuple[Gap, ...] = field(default_factory=tuple)
    subject: str | None = None
    session: str | None = None
    warnings: tuple[RecordingWarning, ...] = field(default_factory=tuple)
    passive: tuple[PassiveMovement, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready mapping (see analysis/README.md)."""
        return {
            "source": self.source,
            "joint": self.joint,
            "pattern": self.pattern,
            "side": self.side,
            "body_mass_kg": self.body_mass_kg,
            "gravity_corrected": self.gravity_torque_nm is not None,
            "gravity_torque_nm": self.gravity_torque_nm,
            "horizontal_angle_deg": self.horizontal_angle_deg,
            "sample_rate_hz": round(self.sample_rate_hz, 6),
            "segmentation": self.segmentation,
            "subject": self.subject,
            "session": self.session,
            "gaps": [
                {"after_s": round(g.after_s, 6), "duration_s": round(g.duration_s, 6), "samples_lost": g.samples_lost,
                 "reason": g.reason}
                for g in self.gaps
            ],
            "warnings": [w.to_dict() for w in self.warnings],
            "passive_movements": [p.to_dict() for p in self.passive],
            "sets": [s.metrics.to_dict() for s in self.sets],
        }


def _check_arrays(*arrays: np.ndarray) -> None:
    n = len(arrays[0])
    if any(len(a) != n for a in arrays):
        raise ValueError("time_s, torque_nm, position_deg and velocity_dps must have the same length")
    if not all(np.isfinite(a).all() for a in arrays):
        raise ValueError("samples must be finite (no NaN or inf)")


def analyze_recording(
    time_s: np.ndarray,
    torque_nm: np.ndarray,
    position_deg: np.ndarray,
    velocity_dps: np.ndarray,
    *,
    joint: str,
    pattern: str | None = None,
    side: str | None = None,
    body_mass_kg: float | None = None,
    gravity_torque_nm: float | None = None,
    horizontal_angle_deg: float | None = None,
    markers: Sequence[int] | None = None,
    mode: str | None = None,
    group: str | None = None,
    set_velocity_dps: tuple[float, float] | None = None,
    sample_index: np.ndarray | None = None,
    warnings: Mapping[str, str] | None = None,
    torque_unsigned: bool = False,
    subject: str | None = None,
    session: str | None = None,
    source: str = "",
    options: AnalysisOptions = AnalysisOptions(),
) -> RecordingAnalysis:
    """Find the sets and repetitions of one recording and measure them.

    Parameters
    ----------
    time_s, torque_nm, position_deg, velocity_dps
        Samples in s, N.m, deg, deg/s with the project's signs (DOMAIN.md section 2).
    joint, pattern
        Canonical names; the pattern defaults to the joint's first.
    side
        ``"left"`` or ``"right"`` (needed for bilateral comparisons), or ``None``.
    body_mass_kg
        Subject mass (kg) for the per-kg figures.
    gravity_torque_nm, horizontal_angle_deg
        Limb + lever gravitational torque (N.m) with the segment horizontal, at that position
        (deg, default 0). ``None`` skips the correction.
    markers
        Device sample indices of direction reversals (vendor exports), or ``None``.
    mode, group, set_velocity_dps
        What the test asked for, when known: its mode (``con/con``, ``ecc/ecc``, ``con/ecc``,
        ``ecc/con``), the acting group's direction of a con/ecc or ecc/con set, and its
        velocity toward the pattern's first and second direction (deg/s). Movements against
        them are passive (:mod:`analysis.passive`): left out of the sets, listed in
        :attr:`RecordingAnalysis.passive`.
    sample_index
        The device's index of each sample (int64: a recording's ``sequence`` column, a stored
        trial's ``sequence``, a vendor file's counter or device clock), or ``None``. When
        given, gaps are exactly where it does not step by 1 and the host-time steps are not
        looked at; only without it a time step over 1.5 sample periods is a gap
        (:func:`analysis.segmentation.find_gaps`). No movement, load range or repetition
        crosses a gap: those cut by one are dropped, and :attr:`RecordingAnalysis.gaps`
        lists the gaps (the ``recording_gap`` warning).
    warnings
        Data-quality findings of whoever read the recording (``rule -> message``, e.g. an
        importer that corrected the velocity's sign), reported with the analysis's own in
        :attr:`RecordingAnalysis.warnings`.
    torque_unsigned
        The recording's torque is unsigned (a HUMAC isometric export): an isometric set's
        muscle group is then ``"unknown"``.
    subject, session
        Who was tested and in which session (a date, or the vendor's test id), when known:
        :func:`analysis.compare.compare` pairs recordings by them (:mod:`analysis.pairing`).
    source
        Name shown in reports (file name).
    options
        Processing choices (:class:`AnalysisOptions`).

    Raises
    ------
    UnknownJointError
        Unknown joint or pattern.
    NoRepetitionsError
        When no movement qualifies as a repetition.
    ValueError
        Mismatched or non-finite arrays, bad options.
    """
    joint, pattern = resolve_pattern(joint, pattern)
    if side is not None and side not in ("left", "right"):
        raise ValueError(f"side must be 'left' or 'right', got {side!r}")
    if body_mass_kg is not None and not body_mass_kg > 0:
        raise ValueError(f"body mass must be positive, got {body_mass_kg:g} kg")
    t = np.asarray(time_s, dtype=np.float64)
    tq = np.asarray(torque_nm, dtype=np.float64)
    pos = np.asarray(position_deg, dtype=np.float64)
    vel = np.asarray(velocity_dps, dtype=np.float64)
    _check_arrays(t, tq, pos, vel)
    period_s = sample_period_of(t)
    fs = 1.0 / period_s  # as sample_rate_of(t)
    if gravity_torque_nm is not None:
        horizontal_angle_deg = 0.0 if horizontal_angle_deg is None else horizontal_angle_deg
        tq = gravity_correct(tq, pos, gravity_torque_nm=gravity_torque_nm, horizontal_angle_deg=horizontal_angle_deg)
    found = [RecordingWarning(rule, message) for rule, message in (warnings or {}).items()]
    agreement = velocity_agreement(t, pos, vel, sample_rate_hz=fs)
    if agreement is not None and agreement < 0:
        vel = -vel
        found.append(RecordingWarning("velocity_sign_contradicts_position", (
            f"the velocity's sign contradicts the change of position (correlation {agreement:.2f}): the direction "
            "of movement, and so concentric or eccentric, is taken from the position")))
    elif agreement is not None and agreement < 0.5:
        found.append(RecordingWarning("velocity_disagrees_with_position", (
            f"the velocity barely follows the change of position (correlation {agreement:.2f}); check the recording")))
    vel_raw = vel
    gaps = find_gaps(t, sample_index=sample_index, period_s=period_s)
    if options.cutoff_hz is not None:
        if gaps:  # each gap-free stretch on its own: the filter must not smear across lost samples
            pieces = lowpass_segments(vel, segments_between(len(vel), gaps), fs, cutoff_hz=options.cutoff_hz,
                                      order=options.filter_order)
            vel = np.concatenate(pieces)
        else:
            vel = lowpass(vel, fs, cutoff_hz=options.cutoff_hz, order=options.filter_order)

    base = RecordingAnalysis(source=source, joint=joint, pattern=pattern, side=side, body_mass_kg=body_mass_kg,
                             gravity_torque_nm=gravity_torque_nm, horizontal_angle_deg=horizontal_angle_deg,
                             sample_rate_hz=fs, segmentation="", gaps=tuple(gaps), subject=subject, session=session)
    if mode == "isometric" or is_isometric(pos, vel, min_speed_dps=options.min_speed_dps):
        if torque_unsigned:
            found.append(RecordingWarning("torque_unsigned", (
                "the export's torque is unsigned: which muscle group contracted is unknown, so no ratio or "
                "bilateral comparison is made from it")))
        sets = isometric_sets(t, tq, pos, fs, pattern=pattern, body_mass_kg=body_mass_kg, options=options,
                               unsigned=torque_unsigned, gaps=gaps)
        if not sets:
            raise NoRepetitionsError(f"{source or 'recording'}: no repetitions found: the lever did not move and the "
                                     "torque never left its rest level (an isometric test without a contraction)")
        return replace(base, segmentation="isometric", sets=tuple(sets), warnings=tuple(found))
    if markers is not None and options.use_markers and len(markers) >= 2:
        movements = movements_from_markers(markers, vel, rest_speed_dps=options.rest_speed_dps, gaps=gaps)
        segmentation = "markers"
    else:
        movements = find_movements(
            t, pos, vel,
            rest_speed_dps=options.rest_speed_dps,
            min_speed_dps=options.min_speed_dps,
            min_rom_deg=options.min_rom_deg,
            min_duration_s=options.min_duration_s,
            gaps=gaps,
        )
        segmentation = "velocity"
    if not movements:
        raise NoRepetitionsError(f"{source or 'recording'}: no repetitions found")
    group_sign = None if group is None else (1 if group == PATTERN_DIRECTIONS[pattern][0] else -1)
    inertia = options.inertia_kgm2 if options.inertia_kgm2 is not None else default_inertia_kgm2(joint, pattern, body_mass_kg)
    sets, passive = measure_sets(t, tq, pos, vel, vel_raw, movements, fs=fs, pattern=pattern, body_mass_kg=body_mass_kg,
                                 options=options, inertia_kgm2=inertia, mode=mode, group_sign=group_sign,
                                 set_velocity_dps=set_velocity_dps)
    if not sets:
        raise NoRepetitionsError(f"{source or 'recording'}: no repetitions found (only passive movements: "
                                 f"{len(passive)}, e.g. {passive[0].reason})")
    return replace(base, segmentation=segmentation, sets=tuple(sets), warnings=tuple(found), passive=tuple(passive))
