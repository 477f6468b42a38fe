"""Direction from the motion: a velocity whose sign contradicts the position is a warning, never believed (issue 10)."""

import numpy as np
import pytest

from analysis import analyze_recording, compare, velocity_agreement

model = pytest.importorskip("simulators.model")


def _sim(mode="con/con", group=None):
    proto = model.SetProtocol(joint="knee", side="left", mode=mode, velocity_dps=60.0, repetitions=3, group=group)
    return model.simulate_set(model.default_profile(), proto, sample_rate_hz=500.0, seed=4)


def _groups(result):
    return sorted((s.metrics.direction, s.metrics.contraction, s.metrics.repetitions) for s in result.sets)


@pytest.mark.parametrize(("mode", "group"), [("con/con", None), ("ecc/ecc", None), ("con/ecc", "flexion")])
def test_a_reversed_velocity_is_turned_by_the_position_and_warned_about(mode, group):
    sim = _sim(mode, group)
    tr = sim.truth
    kwargs = dict(joint="knee", side="left", gravity_torque_nm=tr.gravity_torque_nm, horizontal_angle_deg=0.0, source="s.csv")
    right = analyze_recording(sim.time_s, sim.torque_nm, sim.position_deg, sim.velocity_dps, **kwargs)
    reversed_ = analyze_recording(sim.time_s, sim.torque_nm, sim.position_deg, -sim.velocity_dps, **kwargs)
    assert _groups(reversed_) == _groups(right)
    assert {(r.group, r.contraction) for r in tr.reps} == {(d, c) for d, c, _ in _groups(right)}
    assert right.warnings == ()
    (warning,) = reversed_.warnings
    assert warning.rule == "velocity_sign_contradicts_position" and "correlation -1.00" in warning.message
    (flag,) = [f for f in compare([reversed_]).flags if f.rule == "velocity_sign_contradicts_position"]
    assert flag.severity == "warning" and flag.subject == "s.csv: left knee"
    assert reversed_.to_dict()["warnings"] == [warning.to_dict()]


def test_velocity_agreement_is_one_for_the_derivative_minus_one_reversed_and_none_when_still():
    sim = _sim()
    assert velocity_agreement(sim.time_s, sim.position_deg, sim.velocity_dps) == pytest.approx(1.0, abs=0.01)
    assert velocity_agreement(sim.time_s, sim.position_deg, -sim.velocity_dps) == pytest.approx(-1.0, abs=0.01)
    still = np.full(len(sim.time_s), 60.0)
    assert velocity_agreement(sim.time_s, still, sim.velocity_dps) is None


def test_an_importers_warning_is_reported_with_the_analysis():
    sim = _sim()
    result = analyze_recording(sim.time_s, sim.torque_nm, sim.position_deg, sim.velocity_dps, joint="knee",
                               warnings={"velocity_sign_contradicts_position": "the exported Speed column's sign ..."})
    assert [w.rule for w in result.warnings] == ["velocity_sign_contradicts_position"]
