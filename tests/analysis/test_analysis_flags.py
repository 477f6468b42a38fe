import json

import pytest

from analysis import AnalysisOptions, Thresholds, analyze_recording, build_report, compare, render_text
from analysis.flags import THRESHOLD_SOURCES


def _pair(synth, left_flexors_nm, right_flexors_nm, **kw):
    out = []
    for side, flex in (("left", left_flexors_nm), ("right", right_flexors_nm)):
        s = synth(peak_plus_nm=flex, peak_minus_nm=250.0, noise_nm=1.0, **kw)
        out.append(analyze_recording(s.time_s, s.torque_nm, s.position_deg, s.velocity_dps, joint="knee", side=side,
                                     body_mass_kg=80.0, source=f"{side}.csv", subject="S-1", session="2025-01-20"))
    return out


def _rules(comparison):
    return {f.rule for f in comparison.flags}


def test_deficit_bands_lsi_and_their_sources(synth):
    c = compare(_pair(synth, 150.0, 120.0))  # right flexors 20 % weaker
    flex = next(b for b in c.bilateral if b.direction == "flexion")
    assert flex.deficit_percent == pytest.approx(20.0, abs=2.0)
    fired = {f.rule: f for f in c.flags}
    assert "lsi_low" in fired and fired["lsi_low"].source == THRESHOLD_SOURCES["lsi_min_percent"]
    band = fired.get("deficit_probable") or fired["deficit_possible"]
    assert "Sapega 1990" in band.source and band.values["deficit_percent"] == pytest.approx(flex.deficit_percent)
    relaxed = compare(_pair(synth, 150.0, 120.0), thresholds=Thresholds(deficit_possible_percent=30.0,
                                                                         deficit_probable_percent=40.0, lsi_min_percent=70.0))
    assert not {"deficit_possible", "deficit_probable", "lsi_low"} & _rules(relaxed)


def test_conventional_hq_flag_and_ardern_imbalance(synth):
    c = compare(_pair(synth, 150.0, 100.0), involved_side="right")  # right H:Q 0.40, hamstring LSI 0.67
    hq = [r for r in c.ratios if r.kind == "conventional"]
    assert {r.numerator.side: round(r.value, 2) for r in hq} == {"left": 0.6, "right": 0.4}
    rules = _rules(c)
    assert "hq_conventional_low" in rules
    ardern = next(f for f in c.flags if f.rule == "ardern_imbalance")
    assert ardern.subject == "right knee" and set(ardern.values) == {"bilateral_hamstring_ratio", "hcon_qcon"}


def test_quality_warnings_few_repetitions_and_short_range(synth):
    s = synth(repetitions=2, rom_deg=(0.0, 15.0))
    a = analyze_recording(s.time_s, s.torque_nm, s.position_deg, s.velocity_dps, joint="knee")
    rules = _rules(compare([a]))
    assert {"too_few_repetitions", "range_too_short"} <= rules
    assert "too_few_repetitions" not in _rules(compare([a], thresholds=Thresholds(min_repetitions=2)))


def test_cv_warning_names_the_large_or_small_muscle_group_limit(synth):
    s = synth(repetitions=4)
    s.torque_nm[s.time_s > 6.0] *= 0.6  # the last movements much weaker
    a = analyze_recording(s.time_s, s.torque_nm, s.position_deg, s.velocity_dps, joint="knee")
    flags = [f for f in compare([a]).flags if f.rule == "cv_high"]
    assert flags and all(f.threshold_name == "cv_max_percent" and f.values["cv_percent"] > 15 for f in flags)
    e = analyze_recording(s.time_s, s.torque_nm, s.position_deg, s.velocity_dps, joint="elbow")
    assert all(f.threshold_name == "cv_max_small_percent" for f in compare([e]).flags if f.rule == "cv_high")


def test_report_is_json_with_the_documented_contract(synth):
    analyses = _pair(synth, 150.0, 120.0)
    c = compare(analyses)
    report = build_report(analyses, c, options=AnalysisOptions(), thresholds=Thresholds())
    doc = json.loads(json.dumps(report, allow_nan=False))
    assert doc["schema"] == "isokin-analysis/1"
    assert doc["parameters"]["analysis"]["cutoff_hz"] == 20.0 and "thresholds" in doc["parameters"]
    s = doc["recordings"][0]["sets"][0]
    for key in ("direction", "contraction", "velocity_dps", "peak_torque_nm", "mean_peak_torque_nm", "cv_percent",
                "total_work_j", "work_fatigue_percent", "reps"):
        assert key in s
    for key in ("peak_torque_nm", "angle_at_peak_deg", "time_to_peak_s", "work_j", "mean_power_w"):
        assert key in s["reps"][0]
    ratio = doc["ratios"][0]
    assert ratio["kind"] == "conventional" and 0 < ratio["value"] < 1
    assert set(ratio["numerator"]) >= {"direction", "contraction", "velocity_dps", "side"}
    assert {"direction", "contraction", "velocity_dps", "left_nm", "right_nm", "deficit_percent", "lsi_percent"} <= set(
        doc["bilateral"][0])
    assert {"rule", "severity", "values", "threshold", "source"} <= set(doc["flags"][0])
    text = render_text(report)
    for heading in ("== left.csv", "== Ratios", "== Bilateral", "== Flags"):
        assert heading in text
