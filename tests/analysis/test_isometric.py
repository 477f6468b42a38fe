"""Isometric tests: recognised, and each contraction measured against the simulator's truth (issue 10)."""

import numpy as np
import pytest

from analysis import analyze_recording, compare
from analysis.sets import fatigue_figures

model = pytest.importorskip("simulators.model")
PROFILE = model.default_profile()


def _sim(joint="knee", *, group=None, reps=3, fs=1000.0, seed=1, side="left", **kw):
    proto = model.SetProtocol(joint=joint, side=side, mode="isometric", group=group, repetitions=reps, **kw)
    return model.simulate_set(PROFILE, proto, sample_rate_hz=fs, seed=seed)


def _analyse(sim, **kw):
    tr = sim.truth
    return analyze_recording(sim.time_s, sim.torque_nm, sim.position_deg, sim.velocity_dps, joint=tr.joint,
                             pattern=tr.pattern, side=tr.side, gravity_torque_nm=tr.gravity_torque_nm,
                             horizontal_angle_deg=tr.horizontal_angle_deg, body_mass_kg=75.0, **kw)


def _contractions(result):
    return sorted(((c, s.metrics) for s in result.sets for c in s.metrics.contractions), key=lambda x: x[0].onset_s)


@pytest.mark.parametrize("fs", [500.0, 1000.0, 2000.0])
@pytest.mark.parametrize("mode", [None, "isometric"])
def test_a_knee_isometric_test_at_60_deg_is_recognised_and_measured_against_the_truth(fs, mode):
    sim = _sim(fs=fs)
    result = _analyse(sim, mode=mode)
    assert result.segmentation == "isometric"
    assert [(s.metrics.direction, s.metrics.contraction, s.metrics.repetitions) for s in result.sets] == [
        ("extension", "isometric", 3), ("flexion", "isometric", 3)]
    found = _contractions(result)
    assert len(found) == len(sim.truth.reps)
    for (c, metrics), t in zip(found, sim.truth.reps):
        assert metrics.direction == t.group
        assert c.onset_s == pytest.approx(t.start_s, abs=0.003)
        assert c.peak_torque_nm == pytest.approx(t.peak_torque_nm, rel=0.02)
        assert c.angle_deg == pytest.approx(60.0, abs=0.1) == metrics.angle_deg
        for measured, true in zip((c.rtd_0_50_nm_per_s, c.rtd_0_100_nm_per_s, c.rtd_0_200_nm_per_s), t.rtd_nm_per_s):
            assert measured == pytest.approx(true, rel=0.03)
        assert c.mean_torque_best_1s_nm == pytest.approx(t.best_1s_mean_torque_nm, rel=0.01)
        assert c.impulse_nm_s == pytest.approx(t.impulse_nm_s, rel=0.01)
        # the peak sits on a plateau sagging 3 %/s: its time is where the true torque is within 0.5 % of the peak
        k = np.searchsorted(sim.time_s, c.onset_s + c.time_to_peak_s)
        sign = 1 if t.group == "flexion" else -1
        assert sign * sim.muscle_torque_nm[k] >= 0.995 * t.peak_torque_nm
    ext = result.sets[0].metrics
    assert ext.peak_torque_per_kg == pytest.approx(ext.peak_torque_nm / 75.0)
    assert ext.impulse_fatigue_percent is None  # 3 maximal contractions are not an endurance set
    document = result.to_dict()["sets"][0]
    assert document["contraction"] == "isometric" and document["reps"] == [] and len(document["contractions"]) == 3
    assert document["angle_deg"] == pytest.approx(60.0, abs=0.1) and document["total_work_j"] is None


def test_an_isometric_endurance_set_of_24_contractions_gets_the_fatigue_indexes():
    sim = _sim(group="extension", reps=24, contraction_s=3.0, pause_s=2.0, seed=4)
    result = _analyse(sim)
    (only,) = result.sets
    metrics = only.metrics
    assert (metrics.direction, metrics.repetitions) == ("extension", 24)
    truth = sim.truth.reps
    impulse, endurance, slope = fatigue_figures([t.peak_torque_nm for t in truth], [t.impulse_nm_s for t in truth])
    assert metrics.impulse_fatigue_percent == pytest.approx(impulse, abs=1.0) and impulse > 20.0
    assert metrics.endurance_ratio == pytest.approx(endurance, abs=0.02)
    assert metrics.fatigue_slope_nm_per_rep == pytest.approx(slope, rel=0.05)
    assert metrics.cv_percent is not None


def test_isometric_ratio_and_bilateral_deficit_pair_at_the_same_angle():
    sims = {side: _sim(side=side, seed=6) for side in ("left", "right")}
    analyses = [_analyse(sims[side]) for side in ("left", "right")]
    comparison = compare(analyses, same_session=True)
    best = {side: {g: max(t.peak_torque_nm for t in sims[side].truth.reps if t.group == g) for g in ("flexion", "extension")}
            for side in sims}
    ratios = [r for r in comparison.ratios if r.kind == "isometric"]
    assert sorted(r.numerator.side for r in ratios) == ["left", "right"]
    for r in ratios:
        assert r.label == "Hiso/Qiso" and r.numerator.angle_deg == pytest.approx(60.0, abs=0.1)
        truth = best[r.numerator.side]["flexion"] / best[r.numerator.side]["extension"]
        assert r.value == pytest.approx(truth, abs=0.02)
    flexion = next(b for b in comparison.bilateral if b.direction == "flexion")
    assert flexion.contraction == "isometric" and flexion.angle_deg == pytest.approx(60.0, abs=0.1)
    left, right = best["left"]["flexion"], best["right"]["flexion"]
    assert flexion.deficit_percent == pytest.approx(100 * (max(left, right) - min(left, right)) / max(left, right), abs=2.0)
    # an isometric set never pairs with an isokinetic one, nor two angles apart
    isokinetic = model.simulate_set(PROFILE, model.SetProtocol(joint="knee", side="left"), sample_rate_hz=1000.0, seed=2)
    other_angle = _sim(seed=7, angle_deg=30.0)
    mixed = compare([analyses[0], _analyse(isokinetic), _analyse(other_angle)], same_session=True)
    for r in mixed.ratios:
        assert (r.numerator.contraction == "isometric") == (r.denominator.contraction == "isometric")
        assert r.kind != "isometric" or r.numerator.angle_deg == pytest.approx(r.denominator.angle_deg, abs=5.0)
