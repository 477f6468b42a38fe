"""Clinical flags and data-quality warnings, each rule with a configurable threshold and its source.

Every :class:`Flag` names the rule that fired, the numbers it looked at, the threshold and
where the threshold comes from (DOMAIN.md sections 4 and 5), so a reader can disagree with it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from analysis.bilateral import Bilateral
from analysis.joints import SMALL_MUSCLE_JOINTS
from analysis.pipeline import RecordingWarning
from analysis.ratios import Ratio
from analysis.repetition import NEVER_REACHED, _clean
from analysis.segmentation import GAP_FACTOR, Gap
from analysis.sets import IsometricSetMetrics, SetMetrics

__all__ = [
    "THRESHOLD_SOURCES",
    "Flag",
    "Thresholds",
    "angle_lsi_flags",
    "ardern_flags",
    "bilateral_flags",
    "bilateral_subject",
    "gap_flags",
    "quality_flags",
    "ratio_flags",
    "warning_flags",
]

#: Where each default threshold comes from.
THRESHOLD_SOURCES: Mapping[str, str] = {
    "deficit_possible_percent": "Sapega 1990: a bilateral deficit of 10-20 % is possibly abnormal",
    "deficit_probable_percent": "Sapega 1990: a bilateral deficit of 20 % or more is probably abnormal",
    "lsi_min_percent": "return-to-sport criterion: limb symmetry index >= 90 % (Grindem et al. 2016, Br J Sports Med 50:804: "
    "quadriceps strength symmetry under 90 % at return to sport raised the knee reinjury rate)",
    "hq_conventional_min": "Ardern 2015 (criteria of Croisier 2008): Hcon/Qcon < 0.47",
    "mixed_ratio_min": "Ardern 2015 (criteria of Croisier 2008): mixed ratio Hecc30/Qcon240 < 0.80",
    "mixed_ecc_velocity_dps": "Croisier 2008: the mixed ratio's eccentric hamstring velocity, 30 deg/s",
    "mixed_con_velocity_dps": "Croisier 2008: the mixed ratio's concentric quadriceps velocity, 240 deg/s",
    "bilateral_hamstring_min": "Ardern 2015 (criteria of Croisier 2008): bilateral hamstring ratio < 0.86",
    "ardern_criteria_min": "Ardern 2015: imbalance when any two of its three criteria are met",
    "min_repetitions": "project default: fewer repetitions make the mean and CV meaningless",
    "cv_max_percent": "TUR Isoforce manual: CV over 15 % (large muscle groups) suggests inconsistent effort",
    "cv_max_small_percent": "TUR Isoforce manual: CV over 20 % (small muscle groups) suggests inconsistent effort",
    "min_rom_deg": "project default: a shorter range of motion suggests a mis-set range or partial repetitions",
    "angle_lsi_min_percent": "return-to-sport criterion LSI >= 90 % (Grindem et al. 2016), applied angle by angle",
    "angle_lsi_max_percent": "project default, the mirror of the 90 % criterion: the side under test over 10 % stronger "
    "(the reference side weak) at those angles",
    "angle_lsi_min_span_deg": "project default: the shortest stretch of angles (deg) reported; shorter ones are within "
    "the mean curves' noise",
}


@dataclass(frozen=True)
class Thresholds:
    """Flag thresholds; defaults and their sources in :data:`THRESHOLD_SOURCES`."""

    deficit_possible_percent: float = 10.0
    deficit_probable_percent: float = 20.0
    lsi_min_percent: float = 90.0
    hq_conventional_min: float = 0.47
    mixed_ratio_min: float = 0.80
    mixed_ecc_velocity_dps: float = 30.0
    mixed_con_velocity_dps: float = 240.0
    bilateral_hamstring_min: float = 0.86
    ardern_criteria_min: int = 2
    min_repetitions: int = 3
    cv_max_percent: float = 15.0
    cv_max_small_percent: float = 20.0
    min_rom_deg: float = 20.0
    angle_lsi_min_percent: float = 90.0
    angle_lsi_max_percent: float = 110.0
    angle_lsi_min_span_deg: float = 5.0

    def __post_init__(self) -> None:
        if not 0 < self.angle_lsi_min_percent < 100 < self.angle_lsi_max_percent:
            raise ValueError(f"angle_lsi_min_percent ({self.angle_lsi_min_percent:g}) must be in (0, 100) and "
                             f"angle_lsi_max_percent ({self.angle_lsi_max_percent:g}) above 100")
        if not self.angle_lsi_min_span_deg >= 1:
            raise ValueError(f"angle_lsi_min_span_deg must be at least 1 deg (the grid's step), got {self.angle_lsi_min_span_deg:g}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Flag:
    """A rule that fired: ``severity`` is ``"flag"`` (clinical finding) or ``"warning"`` (data quality)."""

    rule: str
    severity: str
    subject: str
    message: str
    values: dict[str, float | None] = field(default_factory=dict)
    threshold: float = 0.0
    threshold_name: str = ""
    source: str = ""

    def to_dict(self) -> dict[str, Any]:
        out = {k: _clean(v) for k, v in self.__dict__.items() if k != "values"}
        out["values"] = {k: _clean(v) for k, v in self.values.items()}
        return out


def _flag(rule: str, severity: str, subject: str, message: str, values: Mapping[str, float | None], th: Thresholds, name: str) -> Flag:
    return Flag(rule, severity, subject, message, dict(values), float(getattr(th, name)), name, THRESHOLD_SOURCES[name])


def _set_subject(source: str, joint: str, side: str | None, s: SetMetrics | IsometricSetMetrics) -> str:
    where = f"{side} " if side else ""
    at = f"at {s.angle_deg:.0f} deg" if isinstance(s, IsometricSetMetrics) else f"{s.velocity_dps:.0f} deg/s"
    return f"{source}: {where}{joint} {s.direction} {s.contraction} {at}"


def quality_flags(source: str, joint: str, side: str | None, s: SetMetrics | IsometricSetMetrics, th: Thresholds) -> list[Flag]:
    """Data-quality warnings of one set: too few repetitions, CV too high, velocity never reached, range too short.

    Partial repetitions are left out of the CV; an isometric set has no velocity or range to check.
    """
    subject = _set_subject(source, joint, side, s)
    out: list[Flag] = []
    if s.repetitions < th.min_repetitions:
        out.append(_flag("too_few_repetitions", "warning", subject, f"{s.repetitions} repetition(s) < {th.min_repetitions}",
                         {"repetitions": s.repetitions}, th, "min_repetitions"))
    cv_name = "cv_max_small_percent" if joint in SMALL_MUSCLE_JOINTS else "cv_max_percent"
    cv_max = getattr(th, cv_name)
    if s.cv_percent is not None and s.cv_percent > cv_max:
        out.append(_flag("cv_high", "warning", subject, f"CV {s.cv_percent:.1f} % > {cv_max:g} %",
                         {"cv_percent": s.cv_percent}, th, cv_name))
    if isinstance(s, IsometricSetMetrics):
        return out
    unsettled = [r for r in s.reps if r.peak_torque_nm is None and r.load_range_start_s is None and r.no_load_range_reason
                 and not r.no_load_range_reason.startswith(NEVER_REACHED)]
    if unsettled:
        out.append(Flag("load_range_not_measurable", "warning", subject,
                        f"{len(unsettled)} of {s.repetitions} repetition(s) without a trustworthy isokinetic window, windowed "
                        f"figures left null (unwindowed ones kept): repetition {unsettled[0].index}: {unsettled[0].no_load_range_reason}",
                        {"repetitions_not_measurable": len(unsettled), "repetitions": s.repetitions}, 0.0, "",
                        "analysis/README.md, load range: the servo's settling and the lever's inertial torque "
                        "(analysis.settling, analysis.measurability, analysis.inertia)"))
    missed = sum(1 for r in s.reps if r.peak_torque_nm is None) - len(unsettled)
    if missed:
        out.append(Flag("velocity_not_reached", "warning", subject,
                        f"{missed} of {s.repetitions} repetition(s) never came within tolerance of {s.velocity_dps:.0f} deg/s",
                        {"repetitions_without_load_range": missed, "repetitions": s.repetitions}, 0.0, "",
                        "Schwartz et al. 2010, J Sports Sci Med 9:140: figures come from the isokinetic load range"))
    rom = float(np.median([r.rom_deg for r in s.reps if not r.partial] or [r.rom_deg for r in s.reps]))
    if rom < th.min_rom_deg:
        out.append(_flag("range_too_short", "warning", subject, f"median range of motion {rom:.1f} deg < {th.min_rom_deg:g} deg",
                         {"rom_deg": rom}, th, "min_rom_deg"))
    return out


def gap_flags(source: str, joint: str, side: str | None, gaps: Sequence[Gap]) -> list[Flag]:
    """One ``recording_gap`` warning per gap in the recording: where, why, how many samples were lost.

    The movements the gap cut are left out of the analysis (not joined across it), so the
    sets show fewer repetitions than were performed.
    """
    where = f"{side} " if side else ""
    out: list[Flag] = []
    for g in gaps:
        what = f"{g.samples_lost} sample(s) lost" if g.samples_lost else "discontinuity (0 samples lost)"
        by_time = g.reason.endswith("(no sample index)")
        out.append(Flag(
            "recording_gap", "warning", f"{source}: {where}{joint}",
            f"{what} after {g.after_s:.3f} s ({g.reason}); the movements it cut are left out",
            {"after_s": g.after_s, "duration_s": g.duration_s, "samples_lost": g.samples_lost},
            GAP_FACTOR if by_time else 1.0, "",
            "project rule: a time step over 1.5 sample periods is a gap (recording without a sample index)" if by_time
            else "project rule: the device's sample index steps by 1; any other step is a gap",
        ))
    return out


#: Where the rules behind a recording's warnings come from (other rules: the file's reader).
_WARNING_SOURCES: Mapping[str, str] = {
    "velocity_sign_contradicts_position": "definition: velocity = d(position)/dt; the position is believed",
    "velocity_disagrees_with_position": "definition: velocity = d(position)/dt",
}


def warning_flags(source: str, joint: str, side: str | None, warnings: Sequence[RecordingWarning]) -> list[Flag]:
    """One warning flag per data-quality finding about a whole recording (its rule, its message)."""
    where = f"{side} " if side else ""
    return [Flag(w.rule, "warning", f"{source}: {where}{joint}", w.message, {}, 0.0, "",
                 _WARNING_SOURCES.get(w.rule, "found while reading the file")) for w in warnings]


def bilateral_subject(b: Bilateral) -> str:
    """What a bilateral comparison's flags concern, e.g. ``"knee flexion concentric 60 deg/s"``."""
    at = f"at {b.angle_deg:.0f} deg" if b.angle_deg is not None else f"{b.velocity_dps:.0f} deg/s"
    return f"{b.joint} {b.direction} {b.contraction} {at}"


def bilateral_flags(b: Bilateral, th: Thresholds) -> list[Flag]:
    """Deficit (Sapega 1990 bands) and limb symmetry index flags of one bilateral comparison."""
    subject = bilateral_subject(b)
    values = {"left_nm": b.left_nm, "right_nm": b.right_nm, "deficit_percent": b.deficit_percent, "lsi_percent": b.lsi_percent}
    weak = "left" if b.reference_side == "right" else "right"
    out: list[Flag] = []
    if b.deficit_percent >= th.deficit_probable_percent:
        out.append(_flag("deficit_probable", "flag", subject, f"{weak} deficit {b.deficit_percent:.1f} % >= {th.deficit_probable_percent:g} %",
                         values, th, "deficit_probable_percent"))
    elif b.deficit_percent >= th.deficit_possible_percent:
        out.append(_flag("deficit_possible", "flag", subject, f"{weak} deficit {b.deficit_percent:.1f} % >= {th.deficit_possible_percent:g} %",
                         values, th, "deficit_possible_percent"))
    if b.lsi_percent < th.lsi_min_percent:
        out.append(_flag("lsi_low", "flag", subject, f"{weak} LSI {b.lsi_percent:.1f} % < {th.lsi_min_percent:g} %",
                         values, th, "lsi_min_percent"))
    return out


def angle_lsi_flags(b: Bilateral, th: Thresholds) -> list[Flag]:
    """One flag per stretch of angles where the LSI stays under or over its threshold (:mod:`analysis.angle_lsi`)."""
    resolved = b.angle_resolved
    if resolved is None:
        return []
    weak = "left" if resolved.reference_side == "right" else "right"
    out: list[Flag] = []
    for s in resolved.stretches:
        name = "angle_lsi_min_percent" if s.kind == "low" else "angle_lsi_max_percent"
        word = "under" if s.kind == "low" else "over"
        extreme = "lowest" if s.kind == "low" else "highest"
        message = (f"{weak} LSI {word} {s.threshold_percent:g} % from {s.start_deg:.0f} to {s.end_deg:.0f} deg "
                   f"({s.span_deg:.0f} deg; {extreme} {s.extreme_lsi_percent:.0f} % at {s.extreme_angle_deg:.0f} deg); "
                   f"peak torque LSI {b.lsi_percent:.0f} %")
        values = {"start_deg": s.start_deg, "end_deg": s.end_deg, "span_deg": s.span_deg,
                  "extreme_lsi_percent": s.extreme_lsi_percent, "extreme_angle_deg": s.extreme_angle_deg,
                  "peak_lsi_percent": b.lsi_percent}  # fmt: skip
        out.append(_flag(f"angle_lsi_{s.kind}", "flag", bilateral_subject(b), message, values, th, name))
    return out


def _is_croisier_mixed(r: Ratio, th: Thresholds) -> bool:
    """Whether a mixed ratio is at the velocities its threshold is defined for (within 10 %)."""
    def near(v: float, ref: float) -> bool:
        return abs(v - ref) <= 0.1 * ref
    return r.kind == "mixed" and near(r.numerator.velocity_dps, th.mixed_ecc_velocity_dps) and near(
        r.denominator.velocity_dps, th.mixed_con_velocity_dps
    )


def ratio_flags(r: Ratio, th: Thresholds) -> list[Flag]:
    """Knee ratio flags: conventional H:Q and the Hecc30/Qcon240 mixed ratio under their thresholds (Ardern 2015)."""
    if r.joint != "knee" or r.pattern != "flexion/extension":
        return []
    side = f"{r.numerator.side} " if r.numerator.side else ""
    subject = f"{side}knee {r.label} {r.numerator.velocity_dps:.0f}/{r.denominator.velocity_dps:.0f} deg/s"
    values = {"value": r.value, "numerator_nm": r.numerator.peak_torque_nm, "denominator_nm": r.denominator.peak_torque_nm}
    if r.kind == "conventional" and r.value < th.hq_conventional_min:
        return [_flag("hq_conventional_low", "flag", subject, f"{r.label} {r.value:.2f} < {th.hq_conventional_min:g}",
                      values, th, "hq_conventional_min")]
    if _is_croisier_mixed(r, th) and r.value < th.mixed_ratio_min:
        return [_flag("mixed_ratio_low", "flag", subject, f"{r.label} {r.value:.2f} < {th.mixed_ratio_min:g}",
                      values, th, "mixed_ratio_min")]
    return []


def ardern_flags(ratios: list[Ratio], bilaterals: list[Bilateral], th: Thresholds) -> list[Flag]:
    """Ardern 2015 knee imbalance: any two of bilateral hamstring ratio, Hcon/Qcon and mixed ratio under threshold, per side."""
    met: dict[str, dict[str, float]] = {}
    for b in bilaterals:
        if b.joint == "knee" and b.direction == "flexion" and b.contraction == "concentric":
            weak = "left" if b.reference_side == "right" else "right"
            if b.lsi_percent / 100 < th.bilateral_hamstring_min:
                met.setdefault(weak, {})["bilateral_hamstring_ratio"] = b.lsi_percent / 100
    for r in ratios:
        if r.joint != "knee" or r.pattern != "flexion/extension" or r.numerator.side is None:
            continue
        if r.kind == "conventional" and r.value < th.hq_conventional_min:
            met.setdefault(r.numerator.side, {})["hcon_qcon"] = r.value
        if _is_croisier_mixed(r, th) and r.value < th.mixed_ratio_min:
            met.setdefault(r.numerator.side, {})["mixed_ratio"] = r.value
    return [
        _flag("ardern_imbalance", "flag", f"{side} knee", f"{len(values)} of 3 Ardern 2015 criteria met: {', '.join(values)}",
              dict(values), th, "ardern_criteria_min")
        for side, values in sorted(met.items())
        if len(values) >= th.ardern_criteria_min
    ]
