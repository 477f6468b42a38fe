"""The verdict a clinician reads first, and what could not be evaluated (issue 10)."""

import json

import pytest

from analysis import AnalysisOptions, Thresholds, analyze_recording, build_report, compare, render_text

model = pytest.importorskip("simulators.model")


def _knees(velocity=60.0):
    out = []
    for side in ("left", "right"):
        proto = model.SetProtocol(joint="knee", side=side, velocity_dps=velocity, repetitions=3)
        sim = model.simulate_set(model.default_profile(), proto, sample_rate_hz=500.0, seed=3)
        tr = sim.truth
        out.append(analyze_recording(sim.time_s, sim.torque_nm, sim.position_deg, sim.velocity_dps, joint="knee",
                                     side=side, gravity_torque_nm=tr.gravity_torque_nm, horizontal_angle_deg=0.0,
                                     body_mass_kg=75.0, source=f"{side}.csv", subject="S-01", session="2026-03-01"))
    return out


def test_the_verdict_opens_the_report_with_the_imbalance_and_the_ratios_behind_it():
    analyses = _knees()
    report = build_report(analyses, compare(analyses), options=AnalysisOptions(), thresholds=Thresholds())
    assert list(report)[:3] == ["schema", "verdict", "not_evaluated"]
    lines = [f["text"] for f in report["verdict"]]
    # the default subject: left hamstrings 25 % weaker (105.8 vs 141 N.m at 60 deg/s)
    assert lines[0].startswith("Imbalance: left hamstrings 2") and "% weaker than right at 60 deg/s concentric" in lines[0]
    hq = {r.numerator.side: r.value for r in compare(analyses).ratios}
    assert f"(probable, Sapega 1990); H:Q left {hq['left']:.2f} / right {hq['right']:.2f}" in lines[0]
    assert any(line.startswith("Ardern 2015 imbalance, left knee: 2 of 3") for line in lines)
    missing = {n["criterion"]: n["reason"] for n in report["not_evaluated"]}
    mixed = missing["Ardern 2015 mixed ratio (Hecc 30 deg/s / Qcon 240 deg/s)"]
    assert "eccentric flexion set at 30 deg/s" in mixed and "recorded: extension concentric 60 deg/s" in mixed
    text = render_text(json.loads(json.dumps(report)))
    assert text.startswith("== Verdict\n  Imbalance: left hamstrings")
    assert "Not evaluated: Ardern 2015 mixed ratio" in text.split("== left.csv")[0]
    assert "cross deg" not in text and "PT/BM" not in text and "curves cross at deg" in text


def test_one_side_only_says_why_no_deficit_and_no_body_mass_says_so():
    (left, _) = _knees()
    report = build_report([left], compare([left]), options=AnalysisOptions(), thresholds=Thresholds())
    missing = {n["criterion"]: n["reason"] for n in report["not_evaluated"]}
    assert missing["bilateral deficits (Sapega 1990)"] == "only one side was tested"
    assert report["verdict"][0]["kind"] == "ratio" and report["verdict"][0]["text"].startswith("Low H:Q: left knee")
