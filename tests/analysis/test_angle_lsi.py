"""Angle-resolved limb symmetry (analysis.angle_lsi) against the simulator's truth and on analytic curves."""

from __future__ import annotations

from importlib import resources

import numpy as np
import pytest

from analysis import AnalysisOptions, Thresholds, analyze_recording, build_report, compare
from analysis.angle_lsi import angle_lsi, stretches
from analysis.movement_sets import AngleCurve
from simulators.model import simulate_set
from simulators.profile import SubjectProfile
from simulators.protocol import SetProtocol

VELOCITY_DPS = 60.0


def _profile() -> SubjectProfile:
    path = resources.files("simulators").joinpath("profiles", "end_range_deficit.json")
    return SubjectProfile.from_json(str(path))


def _analyses(profile: SubjectProfile, *, subjects=("S-01", "S-01"), sessions=("2026-03-01", "2026-03-01")):
    out = []
    for side, seed, subject, session in zip(("left", "right"), (11, 12), subjects, sessions):
        s = simulate_set(profile, SetProtocol(joint="knee", side=side, velocity_dps=VELOCITY_DPS, repetitions=5), seed=seed)
        out.append(analyze_recording(s.time_s, s.torque_nm, s.position_deg, s.velocity_dps, joint="knee", side=side,
                                     body_mass_kg=75.0, gravity_torque_nm=s.truth.gravity_torque_nm,
                                     horizontal_angle_deg=s.truth.horizontal_angle_deg, subject=subject, session=session,
                                     source=f"{side}.csv"))  # fmt: skip
    return out


def _truth_lsi_percent(profile: SubjectProfile, angle_deg: np.ndarray) -> np.ndarray:
    """The simulated subject's left / right extensor capacity at each angle and the set velocity, %."""
    speed = np.full(len(angle_deg), VELOCITY_DPS)
    left, right = (profile.group("knee", "flexion/extension", side, "extension") for side in ("left", "right"))
    ref = profile.reference_velocity_dps
    return 100.0 * left.capacity_nm(angle_deg, speed, reference_velocity_dps=ref) / right.capacity_nm(
        angle_deg, speed, reference_velocity_dps=ref
    )


@pytest.fixture(scope="module")
def end_range():
    profile = _profile()
    analyses = _analyses(profile)
    return profile, analyses, compare(analyses)


def test_a_deficit_at_the_end_of_range_that_peak_torque_hides(end_range):
    profile, _, comparison = end_range
    extension = next(b for b in comparison.bilateral if b.direction == "extension")
    # peak torque shows none: 232 vs 235 N.m, under every Sapega band
    assert extension.deficit_percent < 3.0
    assert not [f for f in comparison.flags if f.rule.startswith("deficit_") or f.rule == "lsi_low"]
    resolved = extension.angle_resolved
    assert resolved is not None and resolved.reference_side == "right"
    # the LSI at every judged angle against the truth (left / right capacity at that angle and velocity)
    judged = resolved.judged
    truth = _truth_lsi_percent(profile, resolved.angle_deg[judged])
    error = resolved.lsi_percent[judged] - truth
    assert np.max(np.abs(error)) < 3.0, f"worst LSI error {np.max(np.abs(error)):.2f} points"
    # one stretch under 90 %: from the end of range (near full extension) to where the truth crosses 90 %
    assert [s.kind for s in resolved.stretches] == ["low"]
    stretch = resolved.stretches[0]
    grid = np.arange(0.0, 90.0, 0.01)
    crossing = float(grid[np.argmax(_truth_lsi_percent(profile, grid) >= 90.0)])
    assert crossing == pytest.approx(48.1, abs=0.2)
    assert stretch.end_deg == pytest.approx(crossing, abs=2.0)
    assert stretch.start_deg == pytest.approx(float(resolved.angle_deg[judged][0]), abs=1e-9)
    assert stretch.start_deg < 10.0
    assert stretch.extreme_lsi_percent == pytest.approx(float(_truth_lsi_percent(profile, np.array([stretch.extreme_angle_deg]))[0]),
                                                        abs=3.0)


def test_the_stretch_is_flagged_with_its_angles_and_source_and_leads_the_verdict(end_range):
    _, analyses, comparison = end_range
    flags = [f for f in comparison.flags if f.rule == "angle_lsi_low"]
    assert len(flags) == 1
    flag = flags[0]
    assert flag.subject == "knee extension concentric 60 deg/s"
    assert flag.threshold == 90.0 and flag.threshold_name == "angle_lsi_min_percent"
    assert "return-to-sport" in flag.source
    assert flag.values["end_deg"] == pytest.approx(48.1, abs=2.0)
    assert "left LSI under 90 % from" in flag.message
    report = build_report(analyses, comparison, options=AnalysisOptions(), thresholds=Thresholds())
    assert report["verdict"][0]["kind"] == "angle"
    assert report["verdict"][0]["text"].startswith("Angle by angle, knee extension concentric 60 deg/s: left LSI under 90 %")
    entry = next(b for b in report["bilateral"] if b["direction"] == "extension")["angle_resolved"]
    assert len(entry["angle_deg"]) == len(entry["lsi_percent"]) == len(entry["left_nm"]) == len(entry["right_nm"])
    assert np.all(np.diff(entry["angle_deg"]) == 1.0)  # the common 1-deg grid
    assert entry["stretches"][0]["kind"] == "low" and entry["min_span_deg"] == 5.0
    # flexion is symmetric: its curve is there, without a stretch
    flexion = next(b for b in report["bilateral"] if b["direction"] == "flexion")["angle_resolved"]
    assert flexion["stretches"] == []


def test_thresholds_are_configurable(end_range):
    _, analyses, _ = end_range
    longer = compare(analyses, thresholds=Thresholds(angle_lsi_min_span_deg=60.0))
    assert not [f for f in longer.flags if f.rule.startswith("angle_lsi")]
    lower = compare(analyses, thresholds=Thresholds(angle_lsi_min_percent=50.0))
    (stretch,) = next(b for b in lower.bilateral if b.direction == "extension").angle_resolved.stretches
    assert stretch.end_deg == pytest.approx(20.0, abs=2.5)  # the truth crosses 50 % near 21 deg
    with pytest.raises(ValueError):
        Thresholds(angle_lsi_min_percent=120.0)


def test_only_the_two_sides_of_one_subjects_session_are_compared():
    profile = _profile()
    other_subject = compare(_analyses(profile, subjects=("S-01", "S-02")))
    other_session = compare(_analyses(profile, sessions=("2026-03-01", "2026-04-01")))
    for comparison in (other_subject, other_session):
        assert comparison.bilateral == ()
        assert not [f for f in comparison.flags if f.rule.startswith("angle_lsi")]


def _curve(angles, torque):
    return AngleCurve(np.asarray(angles, dtype=float), np.asarray(torque, dtype=float))


def test_stretch_ends_are_interpolated_threshold_crossings():
    angles = np.arange(0.0, 21.0)
    lsi = np.full(21, 100.0)
    lsi[5:16] = 80.0  # under 90 % from 5 to 15 deg; the crossings lie half-way between grid points
    (s,) = stretches(angles, lsi, threshold_percent=90.0, kind="low", min_span_deg=5.0)
    assert (s.start_deg, s.end_deg) == (pytest.approx(4.5), pytest.approx(15.5))
    assert s.span_deg == pytest.approx(11.0)
    assert stretches(angles, lsi, threshold_percent=90.0, kind="low", min_span_deg=12.0) == []
    assert stretches(angles, lsi, threshold_percent=110.0, kind="high", min_span_deg=1.0) == []


def test_high_stretches_and_the_reference_side():
    angles = np.arange(0.0, 61.0)
    left = 100.0 + 30.0 * ((angles >= 20) & (angles <= 40))  # left 30 % stronger from 20 to 40 deg
    right = np.full(61, 100.0)
    result = angle_lsi(_curve(angles, left), _curve(angles, right), reference_side="right")
    assert [s.kind for s in result.stretches] == ["high"]
    assert result.stretches[0].extreme_lsi_percent == pytest.approx(130.0)
    flipped = angle_lsi(_curve(angles, left), _curve(angles, right), reference_side="left")
    assert [s.kind for s in flipped.stretches] == ["low"]  # 100 / 130 = 77 %
    with pytest.raises(ValueError):
        angle_lsi(_curve(angles, left), _curve(angles, right), reference_side="both")


def test_the_ramps_at_the_edges_are_shown_but_not_judged():
    angles = np.arange(0.0, 51.0)
    right = np.minimum(1.0, angles / 20.0) * 100.0 + 1.0  # activation ramp over the first 20 deg
    left = right.copy()
    left[:8] *= 0.5  # a halved ramp where the reference is under 20 % of its peak: noise, not a finding
    result = angle_lsi(_curve(angles, left), _curve(angles, right), reference_side="right")
    assert not result.judged[:3].any() and result.judged[-1]
    assert result.lsi_percent[0] == pytest.approx(50.0)
    assert [s for s in result.stretches if s.start_deg < 3.0] == []


def test_curves_without_common_angles():
    assert angle_lsi(_curve([0, 1], [1, 1]), _curve([5, 6], [1, 1]), reference_side="left") is None


def test_the_text_report_never_calls_a_curve_beyond_the_thresholds_within_them():
    from analysis.report import _angle_lines

    def pair(lsi: list[float]) -> dict[str, object]:
        angles = [10.0 + i for i in range(len(lsi))]
        resolved = {"angle_deg": angles, "lsi_percent": lsi, "judged": [True] * len(lsi), "reference_side": "right",
                    "stretches": [], "low_percent": 90.0, "high_percent": 110.0, "min_span_deg": 5.0}  # fmt: skip
        return {"angle_resolved": resolved, "direction": "flexion", "contraction": "concentric", "velocity_dps": 60.0}

    (inside,) = _angle_lines([pair([95.0, 100.0, 108.0])])
    assert inside.endswith("LSI 95-108 %, within 90-110 %")
    (brief,) = _angle_lines([pair([99.0, 119.0, 100.0])])  # over 110 % for less than the 5 deg a stretch needs
    assert "LSI 99-119 %, beyond 90-110 % only over stretches shorter than 5 deg" in brief and "within 90" not in brief
