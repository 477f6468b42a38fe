"""Comparisons across sets and recordings: ratios, bilateral deficits and flags."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import product
from typing import Any

from analysis.bilateral import Bilateral, bilateral_comparison
from analysis.flags import (
    Flag,
    Thresholds,
    ardern_flags,
    bilateral_flags,
    gap_flags,
    quality_flags,
    ratio_flags,
    warning_flags,
)
from analysis.joints import CONVENTIONAL_RATIO
from analysis.pipeline import RecordingAnalysis, SetAnalysis
from analysis.ratios import Ratio, RatioTerm, angle_ratio, direction_abbreviation, peak_ratio, ratio_kind

__all__ = ["Comparison", "compare", "velocities_match"]


@dataclass(frozen=True)
class Comparison:
    """Ratios, bilateral comparisons and flags (clinical flags and quality warnings) of a group of recordings."""

    ratios: tuple[Ratio, ...]
    bilateral: tuple[Bilateral, ...]
    flags: tuple[Flag, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "ratios": [r.to_dict() for r in self.ratios],
            "bilateral": [b.to_dict() for b in self.bilateral],
            "flags": [f.to_dict() for f in self.flags],
        }


def velocities_match(a_dps: float, b_dps: float, *, tolerance_percent: float = 10.0) -> bool:
    """Whether two set velocities (deg/s) are the same test velocity, within a % of the larger."""
    return abs(a_dps - b_dps) <= tolerance_percent / 100 * max(abs(a_dps), abs(b_dps))


def _term(a: RecordingAnalysis, s: SetAnalysis) -> RatioTerm:
    m = s.metrics
    return RatioTerm(m.direction, m.contraction, m.velocity_dps, a.side, float(m.peak_torque_nm or 0.0), a.source)


def _ratios(entries: list[tuple[RecordingAnalysis, SetAnalysis]], tolerance_percent: float) -> list[Ratio]:
    out: list[Ratio] = []
    for a_num, s_num in entries:
        joint, pattern = a_num.joint, a_num.pattern
        num_dir, den_dir = CONVENTIONAL_RATIO[pattern]
        if s_num.metrics.direction != num_dir or s_num.metrics.peak_torque_nm is None:
            continue
        numerator_nm = s_num.metrics.peak_torque_nm
        for a_den, s_den in entries:
            n, d = s_num.metrics, s_den.metrics
            if (a_den.joint, a_den.pattern, a_den.side) != (joint, pattern, a_num.side) or d.direction != den_dir:
                continue
            denominator_nm = d.peak_torque_nm
            if denominator_nm is None or denominator_nm <= 0:
                continue
            same = velocities_match(n.velocity_dps, d.velocity_dps, tolerance_percent=tolerance_percent)
            kind = ratio_kind(n.contraction, d.contraction, same)
            if kind is None:
                continue
            label = (f"{direction_abbreviation(joint, num_dir)}{n.contraction[:3]}"
                     f"/{direction_abbreviation(joint, den_dir)}{d.contraction[:3]}")
            curve = None
            if same and s_num.angle_curve is not None and s_den.angle_curve is not None:
                curve = angle_ratio(s_num.angle_curve.angle_deg, s_num.angle_curve.torque_nm,
                                    s_den.angle_curve.angle_deg, s_den.angle_curve.torque_nm)
            out.append(Ratio(kind, label, joint, pattern, _term(a_num, s_num), _term(a_den, s_den),
                             peak_ratio(numerator_nm, denominator_nm), curve))
    return out


def _bilateral(entries: list[tuple[RecordingAnalysis, SetAnalysis]], involved_side: str | None, tolerance_percent: float) -> list[Bilateral]:
    out: list[Bilateral] = []
    lefts = [(a, s) for a, s in entries if a.side == "left" and s.metrics.peak_torque_nm is not None]
    rights = [(a, s) for a, s in entries if a.side == "right" and s.metrics.peak_torque_nm is not None]
    for (al, sl), (ar, sr) in product(lefts, rights):
        ml, mr = sl.metrics, sr.metrics
        if (al.joint, al.pattern, ml.direction, ml.contraction) != (ar.joint, ar.pattern, mr.direction, mr.contraction):
            continue
        if not velocities_match(ml.velocity_dps, mr.velocity_dps, tolerance_percent=tolerance_percent):
            continue
        out.append(bilateral_comparison(
            float(ml.peak_torque_nm or 0.0), float(mr.peak_torque_nm or 0.0),
            joint=al.joint, pattern=al.pattern, direction=ml.direction, contraction=ml.contraction,
            velocity_dps=0.5 * (ml.velocity_dps + mr.velocity_dps), involved_side=involved_side,
        ))
    return out


def compare(
    analyses: Sequence[RecordingAnalysis],
    *,
    involved_side: str | None = None,
    thresholds: Thresholds = Thresholds(),
    velocity_match_percent: float = 10.0,
) -> Comparison:
    """Ratios within each side, bilateral comparisons across sides, and every flag.

    Parameters
    ----------
    analyses
        Results of :func:`analysis.pipeline.analyze_recording` (one or several files).
    involved_side
        ``"left"`` or ``"right"``: the side under test for deficits; ``None`` uses the stronger side as reference.
    thresholds
        Flag thresholds (:class:`analysis.flags.Thresholds`).
    velocity_match_percent
        Two sets are at the same velocity when within this % of each other (default 10 %).
    """
    if involved_side not in (None, "left", "right"):
        raise ValueError(f"involved_side must be 'left', 'right' or None, got {involved_side!r}")
    entries = [(a, s) for a in analyses for s in a.sets]
    ratios = _ratios(entries, velocity_match_percent)
    bilaterals = _bilateral(entries, involved_side, velocity_match_percent)
    flags: list[Flag] = []
    for a in analyses:
        flags.extend(warning_flags(a.source, a.joint, a.side, a.warnings))
        flags.extend(gap_flags(a.source, a.joint, a.side, a.gaps))
    for a, s in entries:
        flags.extend(quality_flags(a.source, a.joint, a.side, s.metrics, thresholds))
    for r in ratios:
        flags.extend(ratio_flags(r, thresholds))
    for b in bilaterals:
        flags.extend(bilateral_flags(b, thresholds))
    flags.extend(ardern_flags(ratios, bilaterals, thresholds))
    return Comparison(tuple(ratios), tuple(bilaterals), tuple(flags))
