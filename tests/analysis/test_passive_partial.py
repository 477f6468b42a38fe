"""Passive movements are left out and listed; partial repetitions are marked and kept out of fatigue and CV (issue 10)."""

import json

import numpy as np
import pytest

from analysis import NoRepetitionsError, analyze_recording, compare
from analysis.sets import fatigue_figures

model = pytest.importorskip("simulators.model")
PROFILE = model.default_profile()


def _sim(mode, group=None, *, reps=3, velocity=60.0, seed=3):
    proto = model.SetProtocol(joint="knee", side="left", mode=mode, group=group, velocity_dps=velocity, repetitions=reps)
    return model.simulate_set(PROFILE, proto, sample_rate_hz=1000.0, seed=seed)


def _analyse(sim, *, gravity=True, **kw):
    tr = sim.truth
    g = dict(gravity_torque_nm=tr.gravity_torque_nm, horizontal_angle_deg=tr.horizontal_angle_deg) if gravity else {}
    return analyze_recording(sim.time_s, sim.torque_nm, sim.position_deg, sim.velocity_dps, joint="knee", side="left",
                             source="s.csv", **g, **kw)


@pytest.mark.parametrize(("mode", "group"), [("ecc/passive", "flexion"), ("con/passive", "extension")])
@pytest.mark.parametrize("gravity", [True, False])
def test_the_machines_return_in_a_one_way_program_is_passive_never_a_set(mode, group, gravity):
    sim = _sim(mode, group)
    active = [t for t in sim.truth.reps if t.contraction != "passive"]
    returns = [t for t in sim.truth.reps if t.contraction == "passive"]
    # gravity-corrected, the relaxed limb reads nothing: passive by its weakness, whatever the metadata;
    # uncorrected it weighs 24 N.m, and the test's mode says which way the machine returns it
    result = _analyse(sim, gravity=gravity, **({} if gravity else {"mode": mode, "group": group}))
    (only,) = result.sets
    assert (only.metrics.direction, only.metrics.contraction) == (active[0].group, active[0].contraction)
    assert only.metrics.repetitions == len(active)
    assert [p.movement for p in result.passive] == [t.movement for t in returns]
    for p, t in zip(result.passive, returns):
        assert p.start_s == pytest.approx(t.start_s, abs=0.05)
    assert all(p.reason for p in result.passive)
    flags = compare([result]).flags
    assert not [f for f in flags if f.rule in ("cv_high", "too_few_repetitions")]
    assert json.dumps(result.to_dict()["passive_movements"])


def test_uncorrected_and_without_the_mode_the_return_is_what_it_looked_like_before():
    """The limb's 24 N.m weight against 150 N.m of eccentric hamstrings: nothing tells them apart without
    the mode, the set velocity or a weighing; the analysis then reports it (this is why the CLI and the
    service pass the file's or the trial's mode)."""
    result = _analyse(_sim("ecc/passive", "flexion"), gravity=False)
    assert len(result.sets) == 2


def test_a_continuous_passive_motion_recording_has_no_repetition():
    sim = _sim("passive")
    with pytest.raises(NoRepetitionsError, match="only passive movements"):
        _analyse(sim)
    with pytest.raises(NoRepetitionsError, match="only passive movements"):
        _analyse(sim, gravity=False, mode="passive")


def test_a_movement_at_another_velocity_than_the_tests_is_the_machine_positioning_the_limb():
    fast = _sim("con/con", velocity=(180.0, 60.0))  # the test asked 60 deg/s both ways; flexion came back at 180
    result = _analyse(fast, set_velocity_dps=(60.0, 60.0))
    assert {s.metrics.direction for s in result.sets} == {"extension"}
    assert len(result.passive) == 3 and "not the test's 60 deg/s" in result.passive[0].reason
    both = _analyse(fast, set_velocity_dps=(180.0, 60.0))
    assert {s.metrics.direction for s in both.sets} == {"extension", "flexion"} and both.passive == ()


def _start_from_rest(sim, angle_deg):
    """The set with its first movement started from rest at ``angle_deg`` (the lever held there until it passes)."""
    first = sim.truth.reps[0]
    pos = sim.position_deg.copy()
    vel, tq = sim.velocity_dps.copy(), sim.torque_nm.copy()
    moving = (sim.time_s >= first.start_s) & (sim.time_s <= first.end_s)
    before = np.flatnonzero((sim.time_s < first.start_s) | (moving & (sim.servo_position_deg > angle_deg)))
    before = before[sim.time_s[before] <= first.end_s]
    rng = np.random.default_rng(0)
    pos[before] = angle_deg + rng.normal(0, 0.05, len(before))
    vel[before] = rng.normal(0, 0.3, len(before))
    tq[before] = sim.truth.gravity_torque_nm * np.cos(np.radians(angle_deg)) + rng.normal(0, 0.4, len(before))
    return pos, vel, tq


def test_a_first_repetition_started_from_rest_inside_the_range_is_partial_and_out_of_fatigue_and_cv():
    sim = _sim("con/con", reps=6, velocity=180.0, seed=5)
    pos, vel, tq = _start_from_rest(sim, 76.0)  # covers 76 of 90 deg
    tr = sim.truth
    result = analyze_recording(sim.time_s, tq, pos, vel, joint="knee", side="left", gravity_torque_nm=tr.gravity_torque_nm,
                               horizontal_angle_deg=0.0)
    sets = {s.metrics.direction: s.metrics for s in result.sets}
    ext = sets["extension"]
    assert ext.repetitions == 6 and ext.partial_repetitions == 1
    first = ext.reps[0]
    assert first.partial and "covers 7" in first.partial_reason and "of the set's usual 9" in first.partial_reason
    assert not any(r.partial for r in ext.reps[1:]) and sets["flexion"].partial_repetitions == 0
    full = [t for t in tr.reps if t.group == "extension"][1:]
    truth_fatigue, truth_endurance, _ = fatigue_figures([t.peak_torque_nm for t in full], [t.work_j for t in full])
    assert ext.work_fatigue_percent == pytest.approx(truth_fatigue, abs=2.0)
    assert ext.endurance_ratio == pytest.approx(truth_endurance, abs=0.02)
    with_partial, _, _ = fatigue_figures([r.peak_torque_nm for r in ext.reps], [r.work_j for r in ext.reps])
    assert abs(with_partial - truth_fatigue) > 5.0  # what the partial first repetition did to the index before
    peaks = [r.peak_torque_nm for r in ext.reps[1:]]
    assert ext.cv_percent == pytest.approx(100 * np.std(peaks, ddof=1) / np.mean(peaks))
    rep = result.to_dict()["sets"][0]["reps"][0] if result.sets[0].metrics.direction == "extension" else None
    assert rep is None or (rep["partial"] is True and rep["partial_reason"] == first.partial_reason)
