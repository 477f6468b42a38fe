"""The servo's settling (analysis.settling) and the repetitions left without a trustworthy load range (analysis.measurability)."""

import math

import numpy as np
import pytest

from analysis import AnalysisOptions, Thresholds, analyze_recording, build_report, compare
from analysis.report import render_text
from analysis.settling import SETTLED_FRACTION, servo_settling

FS = 1000.0


def _ringing_speeds(velocity_dps, *, frequency_hz=12.0, damping=0.5, overshoot=0.09, ripple=0.005, n=6, seed=0):
    """Movements' speeds: a 1200 deg/s^2 ramp, then a damped oscillation of the given first overshoot, with ripple and noise."""
    rng = np.random.default_rng(seed)
    omega = 2 * math.pi * frequency_hz
    sigma = damping * omega / math.sqrt(1 - damping**2)
    peak_s = math.atan2(omega, sigma) / omega
    amplitude = overshoot * velocity_dps / (math.exp(-sigma * peak_s) * math.sin(omega * peak_s))
    ramp = np.arange(0.0, velocity_dps, 1200.0 / FS)
    t = np.arange(int(0.4 * FS)) / FS
    held = velocity_dps + amplitude * np.exp(-sigma * t) * np.sin(omega * t)
    speeds = []
    for _ in range(n):
        wobble = np.convolve(rng.normal(0, 1, len(ramp) + len(t) + 40), np.ones(40) / 40, mode="same")[: len(ramp) + len(t)]
        wobble *= ripple * velocity_dps / np.std(wobble)
        speeds.append(np.concatenate([ramp, held]) + wobble + rng.normal(0, 1.0, len(wobble)))
    return speeds, math.log(1 / SETTLED_FRACTION) / sigma


@pytest.mark.parametrize(("frequency_hz", "damping"), [(10.0, 0.45), (12.0, 0.5), (15.0, 0.45)])
def test_pooled_fit_finds_the_settling_time_under_ripple(frequency_hz, damping):
    speeds, truth_s = _ringing_speeds(300.0, frequency_hz=frequency_hz, damping=damping)
    settling = servo_settling(speeds, [300.0] * len(speeds), FS)
    assert settling is not None and settling.movements == 6
    assert settling.settle_s == pytest.approx(truth_s, rel=0.1)
    assert settling.frequency_hz == pytest.approx(frequency_hz, rel=0.1)
    assert 0 < settling.uncertainty_s < 0.2 * truth_s


def test_a_servo_that_does_not_ring_has_no_settling_to_fit():
    # one smooth braking bump (the bundled servo), and a speed approaching the set velocity from below (HUMAC, Con-Trex)
    t = np.arange(int(0.4 * FS)) / FS
    bump = 300.0 + 27.0 * np.where(t < 0.03, np.sin(np.pi * t / 0.03) ** 2, 0.0)
    approach = 300.0 * (1 - np.exp(-t / 0.03))
    rng = np.random.default_rng(1)
    for shape in (bump, approach):
        speeds = [shape + rng.normal(0, 0.3, len(t)) for _ in range(6)]
        assert servo_settling(speeds, [300.0] * 6, FS) is None


def test_fast_sets_on_a_ringing_servo_report_null_windowed_figures_with_the_reason():
    model = pytest.importorskip("simulators.model")
    from simulators.machine import SERVO_MODELS

    proto = model.SetProtocol(joint="knee", pattern="flexion/extension", side="left", mode="con/con", velocity_dps=500.0,
                              repetitions=3)  # fmt: skip
    sim = model.simulate_set(model.default_profile(), proto, sample_rate_hz=1000.0, seed=1, machine=SERVO_MODELS["stiff"])
    tr = sim.truth
    analysis = analyze_recording(sim.time_s, sim.torque_nm, sim.position_deg, sim.velocity_dps, joint="knee", side="left",
                                 gravity_torque_nm=tr.gravity_torque_nm, horizontal_angle_deg=tr.horizontal_angle_deg,
                                 body_mass_kg=tr.body_mass_kg, source="stiff500.csv")  # fmt: skip
    reps = [r for s in analysis.sets for r in s.metrics.reps]
    assert len(reps) == 6
    for r in reps:  # the servo settles 63 ms after reaching 500 deg/s: about 20 ms of the range are left
        assert r.peak_torque_nm is None and r.angle_at_peak_deg is None and r.load_range_start_s is None
        assert r.no_load_range_reason and "settle" in r.no_load_range_reason
        assert r.peak_torque_unwindowed_nm > 0 and r.work_j > 0  # the vendor-comparable figures stay
    report = build_report([analysis], compare([analysis]), options=AnalysisOptions(), thresholds=Thresholds(), involved_side=None)
    flags = [f for f in report["flags"] if f["rule"] == "load_range_not_measurable"]
    assert len(flags) == 2 and all("3 of 3 repetition(s)" in f["message"] for f in flags)
    assert report["recordings"][0]["sets"][0]["reps"][0]["no_load_range_reason"] == reps[0].no_load_range_reason
    assert report["parameters"]["analysis"]["min_load_range_s"] == 0.04
    assert any("load_range_not_measurable" in v["rules"] for v in report["verdict"])
    text = render_text(report)
    assert "no isokinetic window" in text and "load_range_not_measurable" in text


def test_thresholds_are_checked():
    with pytest.raises(ValueError, match="min_load_range_s"):
        AnalysisOptions(min_load_range_s=-1.0)
    with pytest.raises(ValueError, match="start_sensitivity_percent"):
        AnalysisOptions(start_sensitivity_percent=0.0)
