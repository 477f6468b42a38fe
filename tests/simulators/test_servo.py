"""Realistic servos (simulators.servo): an overshoot that rings, an impact that rings, slow ramps, speed ripple."""

import math
from dataclasses import replace

import numpy as np
import pytest

from simulators import SetProtocol, default_profile, simulate_set
from simulators.machine import SERVO_MODELS, MachineSettings
from simulators.servo import TRANSIENT_DECAYED, oscillation_of, ringing_settle_s


def _knee(servo, velocity_dps=300.0, *, ripple=True, **kw):
    machine = SERVO_MODELS[servo] if ripple else replace(SERVO_MODELS[servo], velocity_ripple_percent=0.0)
    return simulate_set(default_profile(), SetProtocol(joint="knee", side="left", velocity_dps=velocity_dps, repetitions=2),
                        sample_rate_hz=2000.0, seed=1, machine=machine, **kw)


def test_the_overshoot_rings_at_its_frequency_and_first_peaks_at_the_set_overshoot():
    sim = _knee("humac", noise=False, ripple=False)
    settings = SERVO_MODELS["humac"]
    rep = sim.truth.reps[0]
    speed = np.abs(sim.servo_velocity_dps)
    t = sim.time_s
    ramp_end = rep.start_s + 300.0 / settings.acceleration_dps2
    after = (t >= ramp_end) & (t <= rep.load_range_end_s)
    deviation = speed[after] - 300.0
    assert deviation.max() == pytest.approx(settings.overshoot_per_100dps * 3.0 * 300.0, rel=0.05)  # 9 % at 300 deg/s
    crossings = np.flatnonzero(np.diff(np.signbit(deviation[: int(0.2 * 2000)])))
    assert 2000.0 / np.mean(np.diff(crossings[:3])) / 2 == pytest.approx(settings.overshoot_frequency_hz, rel=0.1)
    assert abs(deviation[-1]) < 0.01 * 300.0  # settled by the end of the load range


def test_the_load_range_starts_when_both_transients_have_decayed_to_5_percent():
    settings = SERVO_MODELS["soft"]
    sim = _knee("soft", velocity_dps=180.0)
    rep = sim.truth.reps[0]
    osc = oscillation_of(settings.overshoot_per_100dps * 1.8 * 180.0, settings.overshoot_frequency_hz, settings.overshoot_damping)
    ramp_s = 180.0 / settings.acceleration_dps2
    expected = max(osc.settle_s, osc.peak_s + ringing_settle_s(settings.ringing_frequency_hz, settings.ringing_damping))
    assert rep.load_range_start_s - rep.start_s == pytest.approx(ramp_s + expected, abs=1e-9)
    assert osc.settle_s == pytest.approx(math.log(1 / TRANSIENT_DECAYED) / osc.sigma)


def test_the_impact_artifact_rings_and_the_ripple_moves_the_lever():
    sim = _knee("stiff", noise=False)
    rep = sim.truth.reps[0]
    window = (sim.time_s > rep.start_s) & (sim.time_s < rep.load_range_start_s)
    assert np.ptp(sim.artifact_torque_nm[window]) > 20.0  # tens of N.m of inertial artifact at 300 deg/s
    plateau = (sim.time_s > rep.load_range_start_s) & (sim.time_s < rep.load_range_end_s)
    ripple = np.abs(sim.servo_velocity_dps[plateau]) - 300.0
    assert 0.1 < np.std(ripple) / 300.0 * 100 < 0.6  # 0.3 % SD of ripple


def test_a_velocity_the_range_cannot_hold_is_refused_and_the_default_servo_is_unchanged():
    with pytest.raises(ValueError, match="cannot be held"):
        _knee("humac", velocity_dps=500.0)
    assert SERVO_MODELS["ideal"] == MachineSettings()
    with pytest.raises(ValueError, match="overshoot_damping"):
        MachineSettings(overshoot_damping=1.0)
