"""The lever's inertial torque inside a load range (analysis.inertia): the default bound and the peaks it leaves null."""

import math

import numpy as np
import pytest

from analysis import AnalysisOptions, Thresholds, analyze_recording, build_report, compare
from analysis.errors import UnknownJointError
from analysis.inertia import BOUND_HEIGHT_M, LEVER_INERTIA_KGM2, _ringing_envelope_rad_s2, default_inertia_kgm2
from analysis.joints import JOINT_PATTERNS
from analysis.report import render_text
from analysis.settling import servo_settling


def test_the_default_bound_is_winters_limb_for_the_body_mass_plus_a_lever():
    # Winter 2009 Table 4.1, foot and leg about the knee: 6.1 % of body mass, radius of gyration 0.735 of 0.246 H
    shank = 0.061 * 75.0 * (0.735 * 0.246 * BOUND_HEIGHT_M) ** 2
    assert default_inertia_kgm2("knee", "flexion/extension", 75.0) == pytest.approx(shank + 0.17)
    assert default_inertia_kgm2("knee", "flexion/extension", 75.0) == pytest.approx(0.71, abs=0.005)
    assert default_inertia_kgm2("knee", "flexion/extension") == pytest.approx(0.89, abs=0.005)  # 100 kg when unknown
    with pytest.raises(UnknownJointError):
        default_inertia_kgm2("knee", "abduction/adduction")


def test_every_pattern_has_a_bound_above_the_simulated_subjects_limb():
    profile = pytest.importorskip("simulators.model").default_profile()
    for joint, patterns in JOINT_PATTERNS.items():
        for pattern in patterns:
            assert (joint, pattern) in LEVER_INERTIA_KGM2
            bound = default_inertia_kgm2(joint, pattern, profile.body_mass_kg)
            assert bound >= profile.pattern(joint, pattern).limb_inertia_kgm2, (joint, pattern)


def test_the_ringing_envelope_bounds_the_servo_oscillations_acceleration():
    fs, velocity, frequency, damping, overshoot = 1000.0, 300.0, 12.0, 0.5, 0.09
    omega = 2 * math.pi * frequency
    sigma = damping * omega / math.sqrt(1 - damping**2)
    peak_s = math.atan2(omega, sigma) / omega
    amplitude = overshoot * velocity / (math.exp(-sigma * peak_s) * math.sin(omega * peak_s))
    t = np.arange(int(0.4 * fs)) / fs
    ramp = np.arange(0.0, velocity, 1200.0 / fs)
    rng = np.random.default_rng(2)
    speeds = [np.concatenate([ramp, velocity + amplitude * np.exp(-sigma * t) * np.sin(omega * t)]) + rng.normal(0, 0.3, len(ramp) + len(t))
              for _ in range(6)]  # fmt: skip
    settling = servo_settling(speeds, [velocity] * 6, fs)
    assert settling is not None and settling.overshoot == pytest.approx(overshoot, rel=0.05)
    assert settling.sigma == pytest.approx(sigma, rel=0.1)
    alpha = np.abs(np.radians(amplitude * np.exp(-sigma * t) * (omega * np.cos(omega * t) - sigma * np.sin(omega * t))))
    envelope = _ringing_envelope_rad_s2(settling, velocity, t)
    settled = t >= settling.settle_s
    assert np.all(envelope[settled] >= 0.85 * alpha[settled])  # the fit's few % on sigma and the overshoot
    assert float(np.max(alpha[settled] / envelope[settled])) > 0.8  # and not much more


def _stiff_set(velocity_dps, fs):
    model = pytest.importorskip("simulators.model")
    from simulators.machine import SERVO_MODELS

    proto = model.SetProtocol(joint="knee", pattern="flexion/extension", side="left", mode="con/con",
                              velocity_dps=velocity_dps, repetitions=3)  # fmt: skip
    return model.simulate_set(model.default_profile(), proto, sample_rate_hz=fs, seed=1, machine=SERVO_MODELS["stiff"])


def _analyse(sim, **options):
    tr = sim.truth
    return analyze_recording(sim.time_s, sim.torque_nm, sim.position_deg, sim.velocity_dps, joint="knee", side="left",
                             gravity_torque_nm=tr.gravity_torque_nm, horizontal_angle_deg=tr.horizontal_angle_deg,
                             body_mass_kg=tr.body_mass_kg, source="stiff400.csv", options=AnalysisOptions(**options))


def _reps(analysis):
    return sorted((r for s in analysis.sets for r in s.metrics.reps), key=lambda r: r.start_s)


def test_peaks_the_inertial_torque_could_move_are_null_with_the_reason_not_silently_wrong():
    sim = _stiff_set(400.0, 2000.0)
    truth = [t.peak_torque_nm for t in sim.truth.reps]
    # without the check (inertia 0), the first extension's windowed peak reads 11 % low: 9 N.m of the servo's
    # oscillation and the impact's ringing are left where the load range starts, with the muscle's torque falling
    unchecked = _reps(_analyse(sim, inertia_kgm2=0.0))
    errors = [100 * (r.peak_torque_nm / t - 1) for r, t in zip(unchecked, truth) if r.peak_torque_nm is not None]
    assert min(errors) < -10.0
    analysis = _analyse(sim)
    reps = _reps(analysis)
    inertial = [r for r in reps if r.no_load_range_reason and "inertial torque" in r.no_load_range_reason]
    assert inertial and reps[0] in inertial
    for r in inertial:
        assert r.peak_torque_nm is None and r.angle_at_peak_deg is None and r.load_range_start_s is None
        assert r.peak_torque_unwindowed_nm > 0 and r.work_j > 0  # the vendor-comparable figures stay
        assert "0.71 kg.m^2" in (r.no_load_range_reason or "")  # the 75 kg subject's knee bound
    for r, t in zip(reps, truth):  # what is left is within the criterion
        if r.peak_torque_nm is not None:
            assert abs(100 * (r.peak_torque_nm / t - 1)) <= 2.0
    report = build_report([analysis], compare([analysis]), options=AnalysisOptions(), thresholds=Thresholds(), involved_side=None)
    flags = [f for f in report["flags"] if f["rule"] == "load_range_not_measurable"]
    assert flags and any("inertial torque" in f["message"] for f in flags)
    assert report["parameters"]["analysis"]["inertial_torque_percent"] == 1.0
    assert "inertial torque" in render_text(report)


def test_a_lab_can_give_its_own_inertia_and_threshold():
    sim = _stiff_set(180.0, 1000.0)
    default = sum(r.peak_torque_nm is None for r in _reps(_analyse(sim)))
    assert sum(r.peak_torque_nm is None for r in _reps(_analyse(sim, inertia_kgm2=2.0))) > default
    assert sum(r.peak_torque_nm is None for r in _reps(_analyse(sim, inertial_torque_percent=50.0))) < default
    assert sum(r.peak_torque_nm is None for r in _reps(_analyse(sim, inertia_kgm2=0.0))) == 0  # 0 turns the check off


def test_a_servo_that_does_not_ring_is_not_judged():
    model = pytest.importorskip("simulators.model")
    proto = model.SetProtocol(joint="knee", pattern="flexion/extension", side="left", mode="con/con", velocity_dps=500.0,
                              repetitions=3)  # fmt: skip
    sim = model.simulate_set(model.default_profile(), proto, sample_rate_hz=1000.0, seed=1)  # the bundled servo
    assert all(r.peak_torque_nm is not None for r in _reps(_analyse(sim, inertia_kgm2=20.0)))


def test_options_are_checked():
    with pytest.raises(ValueError, match="inertia_kgm2"):
        AnalysisOptions(inertia_kgm2=-0.1)
    with pytest.raises(ValueError, match="inertial_torque_percent"):
        AnalysisOptions(inertial_torque_percent=0.0)
