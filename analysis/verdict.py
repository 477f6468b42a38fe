"""The verdict a clinician reads first: one line per finding, and the criteria that could not be evaluated.

Findings, most important first:

- **imbalance**: a bilateral deficit at or over a Sapega 1990 band, with the side's
  agonist/antagonist ratio at the same velocity (e.g. "Imbalance: left hamstrings 25 % weaker
  than right at 60 deg/s concentric (probable, Sapega 1990); H:Q left 0.46 / right 0.60");
- **Ardern 2015** imbalance (two of its three criteria), each stretch of angles where the LSI
  stays under 90 % or over 110 % (:mod:`analysis.angle_lsi`), and each low ratio (conventional
  H:Q, the Hecc30/Qcon240 mixed ratio);
- **test-retest** changes between one subject's sessions (those beyond the smallest real
  difference when one is given, else the largest);
- **checks**: data-quality warnings, one line per kind (gaps, a velocity sign corrected,
  passive movements and partial repetitions left out, inconsistent effort, too few
  repetitions).

Not evaluated: each criterion the data could not support, and why (one side only, a ratio's
sets missing, Ardern's mixed ratio without its 30 deg/s eccentric and 240 deg/s concentric
sets, no body mass, no gravity correction, no smallest real difference).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from analysis.compare import Comparison
from analysis.flags import Flag, Thresholds, bilateral_subject
from analysis.joints import ratio_label
from analysis.pipeline import RecordingAnalysis
from analysis.retest import Change
from analysis.sets import IsometricSetMetrics

__all__ = ["Finding", "NotEvaluated", "verdict"]

#: Muscle groups by their usual names, where the joint has them.
_GROUP_NAMES = {("knee", "flexion"): "hamstrings", ("knee", "extension"): "quadriceps"}


@dataclass(frozen=True)
class Finding:
    """One line of the verdict: ``kind`` (imbalance, ratio, ardern, angle, change, check, none), ``severity``
    (``flag`` clinical, ``warning`` data quality, ``info``), the ``text`` and the ``rules`` behind it."""

    kind: str
    severity: str
    text: str
    rules: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "severity": self.severity, "text": self.text, "rules": list(self.rules)}


@dataclass(frozen=True)
class NotEvaluated:
    """A criterion the recordings could not support, and why."""

    criterion: str
    reason: str

    def to_dict(self) -> dict[str, str]:
        return {"criterion": self.criterion, "reason": self.reason}


def _group(joint: str, direction: str) -> str:
    return _GROUP_NAMES.get((joint, direction), f"{joint} {direction} muscles")


def _imbalances(comparison: Comparison, flags: Sequence[Flag]) -> list[Finding]:
    out: list[Finding] = []
    bands = {f.subject: f for f in flags if f.rule in ("deficit_probable", "deficit_possible")}
    for b in comparison.bilateral:
        at = f"at {b.angle_deg:.0f} deg" if b.angle_deg is not None else f"at {b.velocity_dps:.0f} deg/s"
        band = bands.get(bilateral_subject(b))
        if band is None:
            continue
        weak = "left" if b.reference_side == "right" else "right"
        text = (f"Imbalance: {weak} {_group(b.joint, b.direction)} {b.deficit_percent:.0f} % weaker than {b.reference_side} "
                f"{at} {b.contraction} ({'probable' if band.rule == 'deficit_probable' else 'possible'}, Sapega 1990)")
        same = [r for r in comparison.ratios if r.joint == b.joint and r.pattern == b.pattern
                and r.numerator.contraction == r.denominator.contraction == b.contraction
                and abs(r.numerator.velocity_dps - b.velocity_dps) <= 0.1 * max(b.velocity_dps, 1.0)
                and abs(r.denominator.velocity_dps - b.velocity_dps) <= 0.1 * max(b.velocity_dps, 1.0)]
        by_side = {r.numerator.side: r.value for r in same}
        if by_side:
            parts = " / ".join(f"{side} {by_side[side]:.2f}" for side in ("left", "right") if side in by_side)
            text += f"; {ratio_label(b.joint, b.pattern)} {parts}"
        out.append(Finding("imbalance", "flag", text, (band.rule,)))
    return out


def _ratio_findings(flags: Sequence[Flag]) -> list[Finding]:
    out: list[Finding] = []
    for f in flags:
        if f.rule == "ardern_imbalance":
            out.append(Finding("ardern", "flag", f"Ardern 2015 imbalance, {f.subject}: {f.message}", (f.rule,)))
        elif f.rule in ("angle_lsi_low", "angle_lsi_high"):
            out.append(Finding("angle", "flag", f"Angle by angle, {f.subject}: {f.message}", (f.rule,)))
        elif f.rule in ("hq_conventional_low", "mixed_ratio_low"):
            label = "Low H:Q" if f.rule == "hq_conventional_low" else "Low mixed ratio"
            out.append(Finding("ratio", "flag", f"{label}: {f.subject}: {f.message} ({f.source.split(':')[0]})", (f.rule,)))
    return out


def _changes(comparison: Comparison) -> list[Finding]:
    out: list[Finding] = []
    for retest in comparison.retests:
        if not retest.changes:
            continue
        beyond = [c for c in retest.changes if c.beyond_srd]
        judged = any(c.srd is not None for c in retest.changes)

        def amount(c: Change) -> float:
            return abs(c.change_points if c.change_points is not None else (c.change_percent or 0.0))

        shown = beyond if judged else sorted(retest.changes, key=amount, reverse=True)[:3]
        parts = [f"{c.label} {c.change_points:+.1f} points" if c.change_points is not None
                 else f"{c.label} {c.change_percent:+.1f} %" for c in shown]  # fmt: skip
        head = f"Test-retest {retest.subject}, {retest.before_session} -> {retest.after_session}: "
        if judged:
            text = head + (f"beyond the smallest real difference: {'; '.join(parts)}" if parts
                           else f"no change beyond the smallest real difference ({len(retest.changes)} figures)")
        else:
            text = head + f"largest changes {'; '.join(parts)} (not judged: no smallest real difference given)"
        out.append(Finding("change", "info", text, ("test_retest",)))
    return out


_CHECKS = {
    "recording_gap": "samples lost or a discontinuity; the movements cut are left out",
    "velocity_sign_contradicts_position": "velocity sign contradicted the position; direction taken from the position",
    "velocity_disagrees_with_position": "velocity barely follows the position",
    "cv_high": "CV of peak torque above its limit: inconsistent effort?",
    "too_few_repetitions": "fewer repetitions than the minimum",
    "velocity_not_reached": "repetitions never reached the set velocity",
    "load_range_not_measurable": ("windowed peaks not measurable: the servo settled too late, or the lever's inertial "
                                  "torque could move them (unwindowed figures kept)"),
    "range_too_short": "range of motion short",
    "torque_unsigned": "unsigned torque: muscle group unknown",
}


def _checks(analyses: Sequence[RecordingAnalysis], flags: Sequence[Flag]) -> list[Finding]:
    out: list[Finding] = []
    for rule, text in _CHECKS.items():
        fired = [f for f in flags if f.rule == rule]
        if fired:
            where = sorted({f.subject.split(":")[0] for f in fired})
            out.append(Finding("check", "warning", f"Check: {text} ({len(fired)}: {', '.join(where)})", (rule,)))
    passive = [(a.source, len(a.passive)) for a in analyses if a.passive]
    if passive:
        out.append(Finding("check", "info", "Passive movements left out of the sets: "
                           + ", ".join(f"{n} in {source}" for source, n in passive), ("passive",)))
    partial = sum(r.partial for a in analyses for s in a.sets for r in s.metrics.reps)
    if partial:
        out.append(Finding("check", "info", f"Partial repetitions left out of fatigue and CV: {partial}", ("partial",)))
    return out


def _not_evaluated(analyses: Sequence[RecordingAnalysis], comparison: Comparison, thresholds: Thresholds,
                   srd_given: bool) -> list[NotEvaluated]:
    out: list[NotEvaluated] = []
    sides = {a.side for a in analyses}
    if not comparison.bilateral:
        if sides <= {"left"} or sides <= {"right"} or None in sides and len(sides) == 1:
            reason = "only one side was tested" if sides - {None} else "the recordings do not say their side"
        elif comparison.pairing is not None and len(comparison.pairing.groups) > 1:
            reason = "the left and right recordings are not of one subject's session (see pairing)"
        else:
            reason = "no muscle group, contraction and velocity (or angle) was tested on both sides"
        out.append(NotEvaluated("bilateral deficits (Sapega 1990)", reason))
    knees = [a for a in analyses if a.joint == "knee"]
    if knees:
        conventional = [r for r in comparison.ratios if r.joint == "knee" and r.kind == "conventional"]
        if not conventional:
            out.append(NotEvaluated("H:Q conventional ratio (Hcon/Qcon; Ardern 2015 criterion)",
                                    "needs concentric flexion and extension sets at one velocity, same side and session"))
        low, high = thresholds.mixed_ecc_velocity_dps, thresholds.mixed_con_velocity_dps
        mixed = [r for r in comparison.ratios if r.kind == "mixed" and abs(r.numerator.velocity_dps - low) <= 0.1 * low
                 and abs(r.denominator.velocity_dps - high) <= 0.1 * high]
        if not mixed:
            have = sorted({f"{s.metrics.direction} {s.metrics.contraction} {s.metrics.velocity_dps:.0f} deg/s"
                           for a in knees for s in a.sets if not isinstance(s.metrics, IsometricSetMetrics)})
            out.append(NotEvaluated(
                f"Ardern 2015 mixed ratio (Hecc {low:g} deg/s / Qcon {high:g} deg/s)",
                f"needs an eccentric flexion set at {low:g} deg/s and a concentric extension set at {high:g} deg/s "
                f"(same side and session); recorded: {', '.join(have) if have else 'no isokinetic set'}"))
        if not any(f.rule == "ardern_imbalance" for f in comparison.flags):
            evaluated = (bool([b for b in comparison.bilateral if b.direction == "flexion" and b.contraction == "concentric"])
                         + bool(conventional) + bool(mixed))  # fmt: skip
            if evaluated < thresholds.ardern_criteria_min:
                out.append(NotEvaluated("Ardern 2015 imbalance (two of three criteria)",
                                        f"only {evaluated} of its 3 criteria could be evaluated"))
    if any(a.body_mass_kg is None for a in analyses):
        out.append(NotEvaluated("figures per kg of body mass", "no body mass given (--body-mass-kg, or the file's metadata)"))
    uncorrected = [a.source for a in analyses if a.gravity_torque_nm is None and a.segmentation != "isometric"]
    if uncorrected:
        out.append(NotEvaluated("gravity-corrected torques",
                                "no limb weighing for " + ", ".join(uncorrected) + ": the limb's weight is in the torques, "
                                "so a knee's H:Q reads high (Aagaard 1995); give --gravity-torque-nm"))
    if comparison.retests and not srd_given:
        out.append(NotEvaluated("test-retest changes against the smallest real difference",
                                "no smallest real difference given with its source, and none is bundled"))
    unknown = [a.source for a in analyses for s in a.sets if s.metrics.direction == "unknown"]
    if unknown:
        out.append(NotEvaluated("isometric ratios and deficits of " + ", ".join(sorted(set(unknown))),
                                "the export's torque is unsigned: which muscle group contracted is unknown"))
    return out


def verdict(
    analyses: Sequence[RecordingAnalysis], comparison: Comparison, *, thresholds: Thresholds, srd_given: bool = False
) -> tuple[list[Finding], list[NotEvaluated]]:
    """The findings (clinical first, then changes, then checks) and the criteria not evaluated, with reasons."""
    flags = comparison.flags
    clinical = _imbalances(comparison, flags) + _ratio_findings(flags)
    lines = clinical + _changes(comparison)
    if not clinical and (comparison.ratios or comparison.bilateral):
        lines.insert(0, Finding("none", "info", "No clinical flag: every ratio and bilateral deficit evaluated is "
                                "within its threshold"))
    lines += _checks(analyses, flags)
    return lines, _not_evaluated(analyses, comparison, thresholds, srd_given)
