"""Comparisons across sets and recordings: ratios, bilateral deficits, test-retest changes and flags.

Which sets may be paired is :mod:`analysis.pairing`'s rule: ratios within one recording or one
subject's session and side, deficits across the sides of one subject's session, changes
across one subject's sessions, nothing across subjects; sets differing in gravity
correction never pair. When a side holds several sets of one condition (a retake: the same
joint, muscle group, contraction and velocity or angle, in one recording or on one known side
of one session), only the strongest is compared; the others are listed as not paired. Every
flag rests on a pair the rule allows, and every ratio and deficit names its recordings.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from itertools import product
from typing import Any

from analysis.angle_lsi import angle_lsi
from analysis.bilateral import Bilateral, bilateral_comparison
from analysis.flags import (
    Flag,
    Thresholds,
    angle_lsi_flags,
    ardern_flags,
    bilateral_flags,
    gap_flags,
    quality_flags,
    ratio_flags,
    warning_flags,
)
from analysis.joints import CONVENTIONAL_RATIO
from analysis.pairing import PairingPlan, plan_pairing
from analysis.pipeline import RecordingAnalysis, SetAnalysis
from analysis.ratios import (
    CONTRACTION_ABBREVIATIONS,
    Ratio,
    RatioTerm,
    angle_ratio,
    direction_abbreviation,
    peak_ratio,
    ratio_kind,
)
from analysis.retest import Retest, SetFigure, retest_changes
from analysis.sets import IsometricSetMetrics

__all__ = ["Comparison", "compare", "velocities_match"]

#: Isometric sets within this many degrees of each other are at the same angle.
SAME_ANGLE_DEG = 5.0
#: Two sets of one side are a retake (the same test again) when their velocities are within this % of each
#: other (a servo holds its set velocity to about 1 %) or, isometric, their angles within this many degrees.
RETAKE_VELOCITY_PERCENT = 3.0
RETAKE_ANGLE_DEG = 1.0


@dataclass(frozen=True)
class Comparison:
    """Ratios, bilateral comparisons, test-retest changes and flags of a group of recordings, and how they were paired."""

    ratios: tuple[Ratio, ...]
    bilateral: tuple[Bilateral, ...]
    flags: tuple[Flag, ...]
    retests: tuple[Retest, ...] = ()
    pairing: PairingPlan | None = None
    not_paired_sets: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self, analyses: Sequence[RecordingAnalysis] = ()) -> dict[str, Any]:
        """JSON-ready: ``ratios``, ``bilateral``, ``retests``, ``flags`` and, with the analyses, ``pairing``."""
        out: dict[str, Any] = {
            "ratios": [r.to_dict() for r in self.ratios],
            "bilateral": [b.to_dict() for b in self.bilateral],
            "retests": [r.to_dict() for r in self.retests],
            "flags": [f.to_dict() for f in self.flags],
        }
        if self.pairing is not None and analyses:
            out["pairing"] = self.pairing.to_dict(analyses) | {"not_paired_sets": list(self.not_paired_sets)}
        return out


def velocities_match(a_dps: float, b_dps: float, *, tolerance_percent: float = 10.0) -> bool:
    """Whether two set velocities (deg/s) are the same test velocity, within a % of the larger."""
    return abs(a_dps - b_dps) <= tolerance_percent / 100 * max(abs(a_dps), abs(b_dps))


def _angle(s: SetAnalysis) -> float | None:
    return s.metrics.angle_deg if isinstance(s.metrics, IsometricSetMetrics) else None


def _same_test(a: SetAnalysis, b: SetAnalysis, tolerance_percent: float, angle_deg: float = SAME_ANGLE_DEG) -> bool:
    """Same velocity (isokinetic, within ``tolerance_percent``) or same angle (isometric, within ``angle_deg``)."""
    angle_a, angle_b = _angle(a), _angle(b)
    if angle_a is not None and angle_b is not None:
        return abs(angle_a - angle_b) <= angle_deg
    return velocities_match(a.metrics.velocity_dps, b.metrics.velocity_dps, tolerance_percent=tolerance_percent)


def _term(a: RecordingAnalysis, s: SetAnalysis) -> RatioTerm:
    m = s.metrics
    return RatioTerm(m.direction, m.contraction, m.velocity_dps, a.side, float(m.peak_torque_nm or 0.0), a.source,
                     _angle(s), a.gravity_torque_nm is not None)  # fmt: skip


def _label(joint: str, num: str, den: str, num_contraction: str, den_contraction: str) -> str:
    return (f"{direction_abbreviation(joint, num)}{CONTRACTION_ABBREVIATIONS[num_contraction]}"
            f"/{direction_abbreviation(joint, den)}{CONTRACTION_ABBREVIATIONS[den_contraction]}")


def _corrected(a: RecordingAnalysis) -> bool:
    return a.gravity_torque_nm is not None


def _same_condition(x: tuple[RecordingAnalysis, SetAnalysis], y: tuple[RecordingAnalysis, SetAnalysis]) -> bool:
    """Whether two sets are one condition on one side (one recording, or the same known side): a retake.

    Tighter than pairing's velocity match: a retake is the same test velocity or angle again
    (:data:`RETAKE_VELOCITY_PERCENT`, :data:`RETAKE_ANGLE_DEG`), never a neighbour of a velocity spectrum
    (270 and 300 deg/s are within pairing's 10 %) or of an angle series in 5-deg steps.
    """
    (a, s), (b, t) = x, y
    m, n = s.metrics, t.metrics
    return (_same_test(s, t, RETAKE_VELOCITY_PERCENT, RETAKE_ANGLE_DEG) and (b is a or (a.side is not None and a.side == b.side))
            and (a.joint, a.pattern, m.direction, m.contraction, _corrected(a))
            == (b.joint, b.pattern, n.direction, n.contraction, _corrected(b)))  # fmt: skip


def _strongest(entries: list[tuple[RecordingAnalysis, SetAnalysis]], skipped: list[str]) -> list[tuple[RecordingAnalysis, SetAnalysis]]:
    """The entries without retakes: of the sets of one condition on one side, the strongest (ties: the first).

    A set with no peak torque or no known direction is kept (it pairs with nothing). Each set left out
    is named in ``skipped``.
    """
    order = sorted(range(len(entries)), key=lambda k: -(entries[k][1].metrics.peak_torque_nm or 0.0))
    kept: list[int] = []
    dropped: set[int] = set()
    for k in order:
        a, s = entries[k]
        m = s.metrics
        best = None
        if m.peak_torque_nm is not None and m.direction != "unknown":
            best = next((j for j in kept if _same_condition(entries[k], entries[j])), None)
        if best is None:
            kept.append(k)
            continue
        b, t = entries[best]
        at = f"at {_angle(s):.0f} deg" if _angle(s) is not None else f"{m.velocity_dps:.0f} deg/s"
        skipped.append(f"{a.source} {a.side or 'side unknown'} {a.joint} {m.direction} {m.contraction} {at} "
                       f"(peak {m.peak_torque_nm:.1f} N.m): a retake; the side's strongest set of it is compared "
                       f"({b.source}, {t.metrics.peak_torque_nm:.1f} N.m)")  # fmt: skip
        dropped.add(k)
    return [e for k, e in enumerate(entries) if k not in dropped]


def _ratios(entries: list[tuple[RecordingAnalysis, SetAnalysis]], tolerance_percent: float, skipped: list[str]) -> list[Ratio]:
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
            same = _same_test(s_num, s_den, tolerance_percent)
            kind = ratio_kind(n.contraction, d.contraction, same)
            if kind is None:
                continue
            if _corrected(a_num) != _corrected(a_den):
                skipped.append(f"{a_num.source} {n.direction} {n.contraction} / {a_den.source} {d.direction} {d.contraction}: "
                               "one gravity-corrected, the other not")
                continue
            curve = None
            if same and s_num.angle_curve is not None and s_den.angle_curve is not None:
                curve = angle_ratio(s_num.angle_curve.angle_deg, s_num.angle_curve.torque_nm,
                                    s_den.angle_curve.angle_deg, s_den.angle_curve.torque_nm)
            out.append(Ratio(kind, _label(joint, num_dir, den_dir, n.contraction, d.contraction), joint, pattern,
                             _term(a_num, s_num), _term(a_den, s_den), peak_ratio(numerator_nm, denominator_nm), curve))
    return out


def _bilateral(
    entries: list[tuple[RecordingAnalysis, SetAnalysis]],
    involved_side: str | None,
    tolerance_percent: float,
    skipped: list[str],
    thresholds: Thresholds,
) -> list[Bilateral]:
    out: list[Bilateral] = []
    lefts = [(a, s) for a, s in entries if a.side == "left" and s.metrics.peak_torque_nm is not None]
    rights = [(a, s) for a, s in entries if a.side == "right" and s.metrics.peak_torque_nm is not None]
    for (al, sl), (ar, sr) in product(lefts, rights):
        ml, mr = sl.metrics, sr.metrics
        if (al.joint, al.pattern, ml.direction, ml.contraction) != (ar.joint, ar.pattern, mr.direction, mr.contraction):
            continue
        if ml.direction == "unknown" or not _same_test(sl, sr, tolerance_percent):
            continue
        if _corrected(al) != _corrected(ar):
            skipped.append(f"{al.source} / {ar.source} {ml.direction} {ml.contraction}: one gravity-corrected, the other not")
            continue
        angle_l, angle_r = _angle(sl), _angle(sr)
        b = bilateral_comparison(
            float(ml.peak_torque_nm or 0.0), float(mr.peak_torque_nm or 0.0),
            joint=al.joint, pattern=al.pattern, direction=ml.direction, contraction=ml.contraction,
            velocity_dps=0.5 * (ml.velocity_dps + mr.velocity_dps), involved_side=involved_side,
            left_source=al.source, right_source=ar.source,
            angle_deg=None if angle_l is None or angle_r is None else 0.5 * (angle_l + angle_r),
            gravity_corrected=_corrected(al),
        )  # fmt: skip
        if sl.angle_curve is not None and sr.angle_curve is not None:
            b = replace(b, angle_resolved=angle_lsi(
                sl.angle_curve, sr.angle_curve, reference_side=b.reference_side,
                low_percent=thresholds.angle_lsi_min_percent, high_percent=thresholds.angle_lsi_max_percent,
                min_span_deg=thresholds.angle_lsi_min_span_deg,
            ))  # fmt: skip
        out.append(b)
    return out


def _set_figures(entries: Sequence[tuple[RecordingAnalysis, SetAnalysis]]) -> list[SetFigure]:
    return [SetFigure(a.side, a.joint, a.pattern, s.metrics.direction, s.metrics.contraction, s.metrics.velocity_dps,
                      _angle(s), float(s.metrics.peak_torque_nm), a.source)
            for a, s in entries if s.metrics.peak_torque_nm is not None]  # fmt: skip


def compare(
    analyses: Sequence[RecordingAnalysis],
    *,
    involved_side: str | None = None,
    thresholds: Thresholds = Thresholds(),
    velocity_match_percent: float = 10.0,
    same_session: bool = False,
    srd: Mapping[str, tuple[float, str]] | None = None,
) -> Comparison:
    """Ratios and bilateral comparisons within each subject's session, test-retest changes across sessions, every flag.

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
    same_session
        The recordings are one subject's one session whatever their metadata says (or does not):
        pair them all (:func:`analysis.pairing.plan_pairing`).
    srd
        Smallest real differences for test-retest changes, by measure (:data:`analysis.retest.MEASURES`):
        ``(value, source)``.

    Raises
    ------
    ValueError
        A bad ``involved_side``; ``same_session`` for recordings naming different subjects or sessions.
    """
    if involved_side not in (None, "left", "right"):
        raise ValueError(f"involved_side must be 'left', 'right' or None, got {involved_side!r}")
    plan = plan_pairing(analyses, same_session=same_session)
    ratios: list[Ratio] = []
    bilaterals: list[Bilateral] = []
    skipped: list[str] = []
    flags: list[Flag] = []
    for a in analyses:
        flags.extend(warning_flags(a.source, a.joint, a.side, a.warnings))
        flags.extend(gap_flags(a.source, a.joint, a.side, a.gaps))
        for s in a.sets:
            flags.extend(quality_flags(a.source, a.joint, a.side, s.metrics, thresholds))
    per_group: list[tuple[list[SetFigure], list[Ratio], list[Bilateral]]] = []
    for group in plan.groups:
        entries = _strongest([(analyses[i], s) for i in group.recordings for s in analyses[i].sets], skipped)
        group_ratios = _ratios(entries, velocity_match_percent, skipped)
        group_bilateral = _bilateral(entries, involved_side, velocity_match_percent, skipped, thresholds)
        per_group.append((_set_figures(entries), group_ratios, group_bilateral))
        ratios += group_ratios
        bilaterals += group_bilateral
        for r in group_ratios:
            flags.extend(ratio_flags(r, thresholds))
        for b in group_bilateral:
            flags.extend(bilateral_flags(b, thresholds))
            flags.extend(angle_lsi_flags(b, thresholds))
        flags.extend(ardern_flags(group_ratios, group_bilateral, thresholds))
    retests = []
    for x, y in plan.retests:
        gx, gy = plan.groups[x], plan.groups[y]
        assert gx.subject and gx.session and gy.session
        retests.append(retest_changes(
            gx.subject, (gx.session, gy.session), (per_group[x][0], per_group[y][0]),
            (per_group[x][1], per_group[y][1]), (per_group[x][2], per_group[y][2]),
            velocity_match_percent=velocity_match_percent, srd=srd,
        ))  # fmt: skip
    return Comparison(tuple(ratios), tuple(bilaterals), tuple(flags), tuple(retests), plan, tuple(skipped))
