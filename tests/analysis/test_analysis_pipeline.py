import numpy as np
import pytest

from analysis import AnalysisOptions, NoRepetitionsError, UnknownJointError, analyze_recording, load_range
from analysis.repetition import braking_end


def _run(s, **kw):
    return analyze_recording(s.time_s, s.torque_nm, s.position_deg, s.velocity_dps, joint="knee", **kw)


def _labels(analysis):
    return [(m.metrics.direction, m.metrics.contraction, m.metrics.repetitions) for m in analysis.sets]


@pytest.mark.parametrize(
    ("mode", "group", "expected"),
    [
        ("con/con", 1, [("flexion", "concentric", 3), ("extension", "concentric", 3)]),
        ("ecc/ecc", 1, [("extension", "eccentric", 3), ("flexion", "eccentric", 3)]),
        ("con/ecc", 1, [("flexion", "concentric", 3), ("flexion", "eccentric", 3)]),
        ("con/ecc", -1, [("extension", "concentric", 3), ("extension", "eccentric", 3)]),
        ("ecc/con", 1, [("flexion", "eccentric", 3), ("flexion", "concentric", 3)]),
    ],
)
def test_group_from_torque_sign_and_contraction_from_torque_times_velocity(synth, mode, group, expected):
    assert _labels(_run(synth(mode=mode, group=group, noise_nm=2.0))) == expected


def test_peaks_work_and_angle_match_the_analytic_truth(synth):
    s = synth(peak_plus_nm=120.0, peak_minus_nm=200.0, repetitions=4, noise_nm=1.0)
    flex, ext = (m.metrics for m in _run(s).sets)
    assert flex.peak_torque_nm == pytest.approx(120.0, rel=0.01)
    assert ext.mean_peak_torque_nm == pytest.approx(200.0, rel=0.01)
    assert [r.angle_at_peak_deg for r in ext.reps] == pytest.approx([45.0] * 4, abs=3.0)
    assert ext.reps[0].work_j == pytest.approx(200.0 * np.radians(90.0) * 2 / np.pi, rel=0.01)
    assert ext.total_work_j == pytest.approx(4 * ext.reps[0].work_j, rel=0.01)
    assert flex.velocity_dps == pytest.approx(60.0, rel=0.01)


def test_gravity_correction_restores_both_groups(synth):
    s = synth(gravity_torque_nm=40.0, noise_nm=1.0)
    raw = {m.metrics.direction: m.metrics.peak_torque_nm for m in _run(s).sets}
    fixed = {m.metrics.direction: m.metrics.peak_torque_nm for m in _run(s, gravity_torque_nm=40.0).sets}
    assert fixed["flexion"] == pytest.approx(150.0, rel=0.01)
    assert fixed["extension"] == pytest.approx(250.0, rel=0.01)
    assert raw["flexion"] > fixed["flexion"] and raw["extension"] < fixed["extension"]  # H:Q inflated uncorrected


def test_load_range_leaves_out_the_overshoot_and_its_impact_artifact(synth):
    s = synth(velocity_dps=300.0, overshoot=0.2, impact_nm=120.0, peak_plus_nm=100.0, peak_minus_nm=100.0)
    for m in _run(s).sets:
        for rep in m.metrics.reps:
            assert rep.peak_torque_unwindowed_nm > 130.0  # the artifact is in the movement...
            assert rep.peak_torque_nm == pytest.approx(100.0, rel=0.02)  # ...not in the load range
            assert rep.acceleration_time_s > 0.1 and rep.deceleration_time_s > 0.09


def test_torque_at_a_given_angle_and_time(synth):
    s = synth(peak_plus_nm=100.0, peak_minus_nm=100.0)
    rep = _run(s, options=AnalysisOptions(torque_angle_deg=30.0, torque_time_s=0.5)).sets[0].metrics.reps[0]
    assert rep.torque_at_angle_nm == pytest.approx(100.0 * np.sin(np.pi * 30.0 / 90.0), rel=0.01)
    expected_angle = 60.0 * 0.5 - 0.5 * 60.0 * 60.0 / 3000.0  # 0.5 s of movement after a 20 ms ramp
    assert rep.torque_at_time_nm == pytest.approx(100.0 * np.sin(np.pi * expected_angle / 90.0), rel=0.02)


def test_load_range_is_none_when_the_velocity_never_comes_within_tolerance():
    triangle = np.concatenate([np.linspace(0, 50, 100), np.linspace(50, 0, 100)])
    assert load_range(triangle, 60.0, tolerance=0.1) is None
    assert load_range(triangle, 52.0, tolerance=0.1) is not None


def test_two_velocities_in_one_recording_make_separate_sets(synth):
    a, b = synth(velocity_dps=60.0), synth(velocity_dps=180.0)
    joined = [np.concatenate([x, y + (x[-1] + 0.001 if k == 0 else 0.0)])
              for k, (x, y) in enumerate(zip((a.time_s, a.torque_nm, a.position_deg, a.velocity_dps),
                                              (b.time_s, b.torque_nm, b.position_deg, b.velocity_dps)))]
    result = analyze_recording(*joined, joint="knee")
    assert sorted(round(m.metrics.velocity_dps) for m in result.sets) == [60, 60, 180, 180]


def test_passive_movements_are_not_repetitions(synth):
    s = synth(mode="con/ecc", group=1)
    s.torque_nm[s.velocity_dps < 0] = 0.5  # a passive return instead of the eccentric half
    assert _labels(_run(s)) == [("flexion", "concentric", 3)]


def test_errors_unknown_joint_no_repetitions_and_bad_arrays(synth):
    s = synth()
    with pytest.raises(UnknownJointError, match="elbw"):
        analyze_recording(s.time_s, s.torque_nm, s.position_deg, s.velocity_dps, joint="elbw")
    with pytest.raises(UnknownJointError, match="pattern"):
        analyze_recording(s.time_s, s.torque_nm, s.position_deg, s.velocity_dps, joint="knee", pattern="inversion/eversion")
    still = np.zeros_like(s.time_s)
    with pytest.raises(NoRepetitionsError, match="no repetitions found: the lever did not move"):
        analyze_recording(s.time_s, 5.0 + still, still, still, joint="knee")
    with pytest.raises(ValueError, match="same length"):
        analyze_recording(s.time_s[:-1], s.torque_nm, s.position_deg, s.velocity_dps, joint="knee")
    with pytest.raises(ValueError, match="finite"):
        analyze_recording(s.time_s, s.torque_nm * np.nan, s.position_deg, s.velocity_dps, joint="knee")


def _braked_speed(fs: float, *, nominal: float, over: float, brake_s: float = 0.03, noise: float = 0.3, seed: int = 0):
    """A servo's speed: ramp at 20000 deg/s^2 to nominal x (1 + over), a symmetric (smoothstep)
    braking back over ``brake_s``, then the plateau; noise added. Returns speed and the braking's end (s)."""
    t = np.arange(int(0.4 * fs)) / fs
    peak = nominal * (1.0 + over)
    ramp_end = peak / 20000.0
    s = np.clip((t - ramp_end) / brake_s, 0.0, 1.0)
    speed = np.where(t < ramp_end, 20000.0 * t, nominal + (peak - nominal) * (1 - 3 * s**2 + 2 * s**3))
    return speed + np.random.default_rng(seed).normal(0.0, noise, len(t)), ramp_end + brake_s


@pytest.mark.parametrize(("nominal", "fs"), [(180.0, 1000.0), (300.0, 2000.0), (500.0, 1000.0), (500.0, 200.0)])
def test_load_range_starts_once_the_overshoot_is_braked_not_when_speed_first_looks_settled(nominal, fs):
    for seed in range(5):
        speed, end_s = _braked_speed(fs, nominal=nominal, over=0.03 * nominal / 100, seed=seed)
        start, _ = load_range(speed, nominal)
        calm = int(np.flatnonzero(speed[int(0.01 * fs):] <= 1.002 * nominal)[0]) + int(0.01 * fs)
        assert calm / fs < end_s  # a 0.2 % speed threshold is crossed while still braking...
        assert end_s <= start / fs <= end_s + 0.006 + 2 / fs  # ...the load range waits for braking to end


def test_braking_end_waits_longer_for_a_noisier_speed():
    speed, _ = _braked_speed(1000.0, nominal=120.0, over=0.036, noise=0.0)
    peak = int(np.argmax(speed))
    quiet = braking_end(speed, 120.0, peak=peak, noise_dps=0.0)
    noisy = braking_end(speed, 120.0, peak=peak, noise_dps=0.3)
    assert quiet is not None and noisy is not None and noisy > quiet


def test_each_set_reports_the_cutoff_its_torque_was_filtered_at(synth):
    strong = _run(synth(peak_plus_nm=150.0, peak_minus_nm=250.0, noise_nm=0.4))
    weak = _run(synth(peak_plus_nm=6.0, peak_minus_nm=8.0, noise_nm=0.4))
    assert [s.metrics.cutoff_hz for s in strong.sets] == [20.0, 20.0]
    assert all(6.0 <= s.metrics.cutoff_hz < 10.0 for s in weak.sets)
    assert strong.to_dict()["sets"][0]["cutoff_hz"] == 20.0
    fixed = _run(synth(peak_plus_nm=6.0, peak_minus_nm=8.0, noise_nm=0.4), options=AnalysisOptions(noise_limit_percent=None))
    assert [s.metrics.cutoff_hz for s in fixed.sets] == [20.0, 20.0]
